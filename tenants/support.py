"""Support access: an operator's explicit, time-limited entry into one firm's space.

The console grants it (with a reason, a level and a duration) and shows a
single-use link once; only the token's SHA-256 is stored. The link is opened
on the firm's own host (`accounts.views.support_session`). Granting and
revoking are written to both the platform's and the firm's audit logs.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.tenancy import on_public_schema
from tenants.models import SupportGrant, Tenant
from tenants.services import audit_in_both_schemas, hash_token

MIN_MINUTES = 15
MAX_MINUTES = 480

REFUSALS: dict[str, str | Promise] = {
    "unknown": _("Ce lien d'accès support n'est pas valable pour ce cabinet."),
    "used": _("Ce lien d'accès support a déjà été utilisé. Ouvrez un nouvel accès depuis la console."),
    "expired": _("Ce lien d'accès support a expiré. Ouvrez un nouvel accès depuis la console."),
    "revoked": _("Cet accès support a été révoqué."),
    "not_firm": _("Seul un cabinet peut recevoir un accès support."),
    "suspended": _("Ce cabinet est suspendu ou fermé : aucun accès support ne peut y être ouvert."),
    "no_domain": _("Ce cabinet n'a pas d'adresse principale."),
    "reason": _("Indiquez le motif de l'accès support."),
    "duration": _("La durée doit être comprise entre %(min)d et %(max)d minutes."),
    "level": _("Ce niveau d'accès n'existe pas."),
    "taken": _("Un compte du cabinet utilise déjà l'adresse du compte d'assistance."),
}


class SupportAccessError(Exception):
    """A support access that cannot be granted or opened; `message` is for the person who tried."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        message = REFUSALS.get(reason, REFUSALS["unknown"])
        self.message = str(message) % {"min": MIN_MINUTES, "max": MAX_MINUTES} if reason == "duration" else message
        super().__init__(str(self.message))


def _ensure_console() -> None:
    """Grants are given and revoked from the platform host only: a firm's own admin (even a Django
    superuser of its schema) must never reach another firm through them."""
    if not on_public_schema():
        raise PermissionDenied


def ensure_firm_accepts_support(*, tenant: Tenant) -> None:
    """Only a real, active firm with a host can be entered (not the platform, the template or a spare schema)."""
    _ensure_console()
    if not Tenant.objects.firms().filter(pk=tenant.pk).exists():
        raise SupportAccessError("not_firm")
    if not tenant.is_active or tenant.closed_at is not None:
        raise SupportAccessError("suspended")
    if tenant.get_primary_domain() is None:
        raise SupportAccessError("no_domain")


@transaction.atomic
def grant_support_access(
    *, tenant: Tenant, by: User, reason: str, level: str = "read_only", minutes: int = 60
) -> tuple[SupportGrant, str]:
    """Creates a grant valid `minutes` minutes; returns it with the raw token (shown once, never stored)."""
    _ensure_console()
    reason = (reason or "").strip()
    if not reason:
        raise SupportAccessError("reason")
    if level not in SupportGrant.Level.values:
        raise SupportAccessError("level")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise SupportAccessError("duration")
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    ensure_firm_accepts_support(tenant=tenant)

    token = secrets.token_urlsafe(32)
    grant = SupportGrant.objects.create(
        tenant=tenant,
        operator_email=by.email,
        reason=reason[:300],
        level=level,
        token_hash=hash_token(token),
        expires_at=timezone.now() + timedelta(minutes=minutes),
    )
    audit_in_both_schemas(
        actor=by,
        action="support.granted",
        tenant=tenant,
        changes={
            "grant": [None, grant.pk],
            "level": [None, grant.level],
            "reason": [None, grant.reason],
            "expires_at": [None, grant.expires_at],
        },
    )
    return grant, token


@transaction.atomic
def revoke_support_access(*, grant: SupportGrant, by: User) -> SupportGrant:
    """Ends the grant now: an open support session is logged out on its next request."""
    _ensure_console()
    grant = SupportGrant.objects.select_for_update().select_related("tenant").get(pk=grant.pk)
    if grant.revoked_at is not None or grant.expires_at <= timezone.now():
        return grant
    grant.revoked_at = timezone.now()
    grant.save(update_fields=["revoked_at"])
    audit_in_both_schemas(
        actor=by,
        action="support.revoked",
        tenant=grant.tenant,
        changes={"grant": [None, grant.pk], "revoked_at": [None, grant.revoked_at]},
    )
    return grant


@transaction.atomic
def open_support_session(*, token: str) -> SupportGrant:
    """Marks the grant of `token` used; it must be live and belong to the firm of the current host.

    The row is locked, so two clicks on the same link cannot both open a
    session. Called on the firm's host: its schema's search path still reaches
    the public tables.
    """
    host_tenant = getattr(connection, "tenant", None)
    grant = (
        SupportGrant.objects.select_for_update(of=("self",))
        .select_related("tenant")
        .filter(token_hash=hash_token(token))
        .first()
    )
    # Another firm's token is "unknown" here: nothing tells that it exists elsewhere.
    if grant is None or host_tenant is None or grant.tenant_id != host_tenant.pk:
        raise SupportAccessError("unknown")
    if grant.revoked_at is not None:
        raise SupportAccessError("revoked")
    if grant.used_at is not None:
        raise SupportAccessError("used")
    if grant.expires_at <= timezone.now():
        raise SupportAccessError("expired")
    grant.used_at = timezone.now()
    grant.save(update_fields=["used_at"])
    return grant


def live_grant_ends_at(*, grant_id: int, tenant: Tenant) -> datetime | None:
    """When the grant ends, if it is still live for `tenant` (one query, run on every support request)."""
    return (
        SupportGrant.objects.filter(pk=grant_id, tenant=tenant, revoked_at__isnull=True, expires_at__gt=timezone.now())
        .values_list("expires_at", flat=True)
        .first()
    )


def support_link(*, grant: SupportGrant, token: str, scheme: str, port: str | None) -> str:
    """`http://alpha.example.fr:8000/accounts/support/<token>/`: the firm's primary host, the console's scheme/port."""
    domain = grant.tenant.get_primary_domain()
    if domain is None:
        raise SupportAccessError("no_domain")
    default_port = {"http": "80", "https": "443"}.get(scheme)
    netloc = domain.domain if not port or port == default_port else f"{domain.domain}:{port}"
    path = reverse("support_session", kwargs={"token": token}, urlconf=settings.ROOT_URLCONF)
    return f"{scheme}://{netloc}{path}"
