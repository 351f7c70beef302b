"""Firm signup: from the public form to a ready space. Every write is here."""

from __future__ import annotations

import logging
import re
import secrets
import time
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.models import User
from core.tokens import hash_token
from tenants import provisioning
from tenants.models import Domain, DomainRequest, Plan, Signup, Tenant, schema_name_for
from tenants.signals import firm_provisioned

logger = logging.getLogger(__name__)

VERIFICATION_VALIDITY = timedelta(hours=48)
SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
# Host names the platform keeps for itself or that would mislead a consumer.
RESERVED_SLUGS = frozenset(
    {
        "admin", "api", "app", "assets", "auth", "billing", "blog", "cdn", "console", "dashboard", "demo",
        "docs", "email", "ftp", "help", "imap", "localhost", "mail", "media", "mediateur", "mediation",
        "operateur", "platform", "plateforme", "pop", "public", "root", "smtp", "static", "status",
        "support", "system", "template", "test", "www",
    }
)  # fmt: skip
ACTIVE_SIGNUP_STATES = (Signup.Status.QUEUED, Signup.Status.PROVISIONING, Signup.Status.READY)


class SignupError(Exception):
    """A signup step that cannot go on; the message is for the visitor."""


def slug_problem(slug: str) -> str | None:
    """Why this sub-domain cannot be taken, in words for the visitor; None when it is free."""
    if not SLUG_PATTERN.match(slug) or "--" in slug:
        return _(
            "3 à 40 caractères : lettres minuscules sans accent, chiffres et tirets, "
            "commençant par une lettre et ne finissant pas par un tiret."
        )
    if slug in RESERVED_SLUGS or slug.startswith(("pool-", "pg-", "tenant-")):
        return _("Ce sous-domaine est réservé. Choisissez-en un autre.")
    schema = schema_name_for(slug)
    host = f"{slug}.{settings.PLATFORM_DOMAIN}"
    taken = (
        Tenant.objects.filter(schema_name=schema).exists()
        or Domain.objects.filter(domain=host).exists()
        or Signup.objects.filter(slug=slug, status__in=ACTIVE_SIGNUP_STATES).exists()
        or Signup.objects.filter(
            slug=slug, status=Signup.Status.PENDING, created_at__gte=timezone.now() - VERIFICATION_VALIDITY
        ).exists()
    )
    if taken:
        return _("Ce sous-domaine est déjà pris. Choisissez-en un autre.")
    return None


def firm_base_url(signup: Signup) -> str:
    """`http://localhost:8000` + `dupont` → `http://dupont.localhost:8000`."""
    parts = urlsplit(signup.base_url)
    return f"{parts.scheme}://{signup.slug}.{parts.netloc}"


@transaction.atomic
def start_signup(
    *,
    legal_name: str,
    siren: str,
    slug: str,
    admin_first_name: str,
    admin_last_name: str,
    admin_email: str,
    plan: Plan,
    language: str,
    base_url: str,
) -> Signup:
    """Record the request and e-mail a verification link; nothing is created before it is clicked."""
    problem = slug_problem(slug)
    if problem:
        raise SignupError(problem)
    token = secrets.token_urlsafe(32)
    signup = Signup.objects.create(
        legal_name=legal_name,
        siren=siren,
        slug=slug,
        admin_first_name=admin_first_name,
        admin_last_name=admin_last_name,
        admin_email=admin_email.lower(),
        plan=plan,
        language=language,
        base_url=base_url.rstrip("/"),
        token_hash=hash_token(token),
    )
    transaction.on_commit(lambda: _send_verification_email(signup, token))
    return signup


def _send(signup: Signup, template: str, context: dict[str, object]) -> None:
    with translation.override(signup.language):
        context = {"signup": signup, **context}
        subject = render_to_string(f"tenants/email/{template}_subject.txt", context).strip()
        body = render_to_string(f"tenants/email/{template}_body.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [signup.admin_email])


def _send_verification_email(signup: Signup, token: str) -> None:
    link = signup.base_url + reverse("signup-verify", kwargs={"token": token}, urlconf=settings.PUBLIC_SCHEMA_URLCONF)
    _send(signup, "verify", {"link": link, "valid_hours": int(VERIFICATION_VALIDITY.total_seconds() // 3600)})


@transaction.atomic
def verify_signup(*, token: str) -> Signup:
    """The visitor clicked the e-mail link: queue the provisioning (a second click changes nothing)."""
    signup = Signup.objects.select_for_update().filter(token_hash=hash_token(token)).first()
    if signup is None:
        raise SignupError(_("Ce lien de confirmation n'est pas valide."))
    if signup.status != Signup.Status.PENDING:
        return signup
    if signup.created_at < timezone.now() - VERIFICATION_VALIDITY:
        raise SignupError(_("Ce lien de confirmation a expiré. Recommencez l'inscription."))
    signup.status = Signup.Status.QUEUED
    signup.verified_at = timezone.now()
    signup.save(update_fields=["status", "verified_at"])
    _enqueue_provisioning(signup)
    return signup


def _enqueue_provisioning(signup: Signup) -> None:
    from tenants.tasks import provision_signup

    signup_id = signup.pk
    transaction.on_commit(lambda: provision_signup.delay(signup_id))


@transaction.atomic
def retry_signup(*, signup: Signup) -> Signup:
    signup = Signup.objects.select_for_update().get(pk=signup.pk)
    if signup.status != Signup.Status.FAILED:
        return signup
    signup.status = Signup.Status.QUEUED
    signup.error = ""
    signup.save(update_fields=["status", "error"])
    _enqueue_provisioning(signup)
    return signup


def _mark(signup_id: int, **fields: object) -> None:
    Signup.objects.filter(pk=signup_id).update(**fields)


def provision(*, signup_id: int) -> Signup:
    """Create the firm's schema, host and first admin in one transaction; mark the signup ready or failed."""
    with transaction.atomic():
        signup = Signup.objects.select_for_update().get(pk=signup_id)
        if signup.status not in (Signup.Status.QUEUED, Signup.Status.PROVISIONING):
            return signup
        signup.status = Signup.Status.PROVISIONING
        signup.attempts += 1
        signup.save(update_fields=["status", "attempts"])
    started = time.perf_counter()
    try:
        with transaction.atomic():
            tenant, method = provisioning.create_firm_schema(schema_name=signup.schema_name, name=signup.legal_name)
            tenant.siren = signup.siren
            tenant.plan = signup.plan
            tenant.save(update_fields=["siren", "plan"])
            Domain.objects.create(domain=f"{signup.slug}.{settings.PLATFORM_DOMAIN}", tenant=tenant, is_primary=True)
            with schema_context(tenant.schema_name):
                admin = User(
                    email=signup.admin_email,
                    first_name=signup.admin_first_name,
                    last_name=signup.admin_last_name,
                    role=User.Role.ADMIN,
                    is_staff=True,
                    is_superuser=True,
                )
                admin.set_unusable_password()  # the admin chooses it from the "space ready" link
                admin.save()
                firm_provisioned.send(sender=Tenant, tenant=tenant, admin=admin, signup=signup)
            elapsed = time.perf_counter() - started
            _mark(
                signup.pk,
                status=Signup.Status.READY,
                tenant=tenant,
                ready_at=timezone.now(),
                provisioning_seconds=elapsed,
                error="",
            )
            transaction.on_commit(_after_provisioning)
        logger.info("firm %s provisioned by %s in %.2f s", signup.slug, method, elapsed)
    except IntegrityError:
        logger.warning("sub-domain %s was taken during provisioning", signup.slug, exc_info=True)
        _mark(
            signup.pk, status=Signup.Status.FAILED, error=_("Ce sous-domaine vient d'être pris par un autre cabinet.")
        )
    except Exception:
        logger.exception("provisioning of %s failed", signup.slug)
        _mark(
            signup.pk,
            status=Signup.Status.FAILED,
            error=_("La création de l'espace a échoué pour une raison technique. Vous pouvez réessayer."),
        )
    signup.refresh_from_db()
    if signup.status == Signup.Status.READY:
        _send(signup, "ready", {"firm_url": firm_base_url(signup), "first_login_url": first_login_url(signup)})
    return signup


def _after_provisioning() -> None:
    from tenants.tasks import refill_tenant_pool

    refill_tenant_pool.delay()


def first_login_url(signup: Signup) -> str:
    """Where the firm's first admin chooses a password (a single-use allauth reset key)."""
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str

    if signup.tenant is None:
        raise SignupError(_("L'espace n'est pas encore prêt."))
    with schema_context(signup.tenant.schema_name):
        admin = User.objects.get(email=signup.admin_email)
        if admin.has_usable_password():
            path = reverse("account_login", urlconf=settings.ROOT_URLCONF)
        else:
            key = default_token_generator.make_token(admin)
            path = reverse(
                "account_reset_password_from_key",
                kwargs={"uidb36": user_pk_to_url_str(admin), "key": key},
                urlconf=settings.ROOT_URLCONF,
            )
    return firm_base_url(signup) + path


def audit_in_both_schemas(*, actor: object, action: str, tenant: Tenant, changes: dict[str, list[object]]) -> None:
    """The platform's log and the firm's own log both keep what the operator did to the firm."""
    from core.audit import record

    record(actor=actor, action=action, obj=tenant, changes=changes)  # type: ignore[arg-type]
    with schema_context(tenant.schema_name):
        record(actor=None, action=action, obj=tenant, changes={**changes, "by": [None, getattr(actor, "email", "")]})


@transaction.atomic
def suspend_firm(*, tenant: Tenant, by: object, reason: str) -> Tenant:
    """Its hosts show a "suspended" page; no data is touched."""
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if tenant.kind != Tenant.Kind.FIRM:
        raise SignupError(_("Seul un cabinet peut être suspendu."))
    if not tenant.is_active:
        return tenant
    tenant.is_active = False
    tenant.suspended_at = timezone.now()
    tenant.suspension_reason = reason
    tenant.save(update_fields=["is_active", "suspended_at", "suspension_reason"])
    audit_in_both_schemas(
        actor=by, action="firm.suspended", tenant=tenant, changes={"is_active": [True, False], "reason": [None, reason]}
    )
    return tenant


@transaction.atomic
def reactivate_firm(*, tenant: Tenant, by: object) -> Tenant:
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if tenant.is_active or tenant.kind != Tenant.Kind.FIRM:
        return tenant
    tenant.is_active = True
    tenant.suspended_at = None
    tenant.suspension_reason = ""
    tenant.save(update_fields=["is_active", "suspended_at", "suspension_reason"])
    audit_in_both_schemas(actor=by, action="firm.reactivated", tenant=tenant, changes={"is_active": [False, True]})
    return tenant


HOSTNAME_PATTERN = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def custom_domain_problem(domain: str) -> str | None:
    """Why this host name cannot be requested, in words for the firm; None when it can."""
    if not HOSTNAME_PATTERN.match(domain):
        return _("Saisissez un nom de domaine complet, par exemple mediation.exemple.fr.")
    platform = settings.PLATFORM_DOMAIN
    if domain == platform or domain.endswith("." + platform):
        return _("Les adresses en .%(domain)s sont attribuées par la plateforme.") % {"domain": platform}
    if (
        Domain.objects.filter(domain=domain).exists()
        or DomainRequest.objects.filter(domain=domain, status=DomainRequest.Status.REQUESTED).exists()
    ):
        return _("Ce nom de domaine est déjà utilisé ou demandé.")
    return None


@transaction.atomic
def request_custom_domain(*, tenant: Tenant, domain: str, by_email: str) -> DomainRequest:
    domain = domain.strip().lower().rstrip(".")
    problem = custom_domain_problem(domain)
    if problem:
        raise SignupError(problem)
    with schema_context(get_public_schema_name()):
        created = DomainRequest.objects.create(tenant=tenant, domain=domain, requested_by=by_email)
        audit_in_both_schemas(
            actor=None,
            action="domain.requested",
            tenant=tenant,
            changes={"domain": [None, domain], "by": [None, by_email]},
        )
    return created


@transaction.atomic
def decide_custom_domain(*, request: DomainRequest, by: object, approve: bool, reason: str = "") -> DomainRequest:
    """Approving adds the host to the firm; its sub-domain keeps working (it stays primary)."""
    request = DomainRequest.objects.select_for_update().select_related("tenant").get(pk=request.pk)
    if request.status != DomainRequest.Status.REQUESTED:
        return request
    if approve:
        if Domain.objects.filter(domain=request.domain).exists():
            raise SignupError(_("Ce nom de domaine est déjà utilisé ou demandé."))
        Domain.objects.create(domain=request.domain, tenant=request.tenant, is_primary=False)
    request.status = DomainRequest.Status.APPROVED if approve else DomainRequest.Status.REJECTED
    request.decided_by = getattr(by, "email", "")
    request.decided_at = timezone.now()
    request.rejection_reason = "" if approve else reason
    request.save(update_fields=["status", "decided_by", "decided_at", "rejection_reason"])
    audit_in_both_schemas(
        actor=by,
        action="domain.approved" if approve else "domain.rejected",
        tenant=request.tenant,
        changes={"domain": [None, request.domain], "reason": [None, reason or None]},
    )
    return request
