"""The demo firm that `make run` seeds. Idempotent: running it twice changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import transaction
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.models import User
from firm.models import FirmProfile, Mediator
from tenants.models import Domain, Plan, Tenant

DEMO_SCHEMA = "demo"
# Public demo credentials, printed by `make run`; seed_demo refuses to run in production.
DEMO_PASSWORD = "demo-mediation-2026"  # noqa: S105


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    first_name: str
    last_name: str


DEMO_STAFF = (
    DemoLogin("admin@cabinet-demo.fr", User.Role.ADMIN, "Claire", "Martin"),
    DemoLogin("mediateur@cabinet-demo.fr", User.Role.MEDIATOR, "Julien", "Bernard"),
    DemoLogin("finance@cabinet-demo.fr", User.Role.FINANCE, "Sophie", "Petit"),
)
OPERATOR = DemoLogin("operateur@plateforme-demo.fr", User.Role.ADMIN, "Paul", "Opérateur")


def ensure_tenant(*, schema_name: str, name: str, domain: str, siren: str = "") -> Tenant:
    """Get or create a tenant and its primary domain; creates the schema if it is missing."""
    with schema_context(get_public_schema_name()):
        tenant = Tenant.objects.filter(schema_name=schema_name).first()
        if tenant is None:
            tenant = Tenant(schema_name=schema_name, name=name, siren=siren)
            tenant.save(verbosity=0)  # creates and migrates the schema
        else:
            tenant.create_schema(check_if_exists=True)
        Domain.objects.get_or_create(domain=domain, defaults={"tenant": tenant, "is_primary": True})
    return tenant


def ensure_user(login: DemoLogin, *, superuser: bool = False) -> User:
    user = User.objects.filter(email=login.email).first()
    if user is None:
        user = User(email=login.email)
        user.set_password(DEMO_PASSWORD)
    user.first_name = login.first_name
    user.last_name = login.last_name
    user.role = login.role
    user.is_staff = login.role == User.Role.ADMIN
    user.is_superuser = superuser
    user.save()
    return user


def ensure_firm_profile(*, mediator_user: User) -> None:
    """The demo firm's identity and its mediator, created once (later edits in the UI are kept)."""
    FirmProfile.objects.get_or_create(
        pk=FirmProfile.SINGLETON_PK,
        defaults={
            "legal_name": "Cabinet Démo Médiation",
            "legal_form": "SAS",
            "siren": "732829320",
            "address_line1": "12 rue de la Paix",
            "postcode": "75002",
            "city": "Paris",
            "contact_email": "contact@cabinet-demo.fr",
            "contact_phone": "01 23 45 67 89",
            "website": "https://cabinet-demo.fr",
            "invoice_prefix": "DEMO",
        },
    )
    Mediator.objects.get_or_create(
        email=mediator_user.email,
        defaults={
            "first_name": mediator_user.first_name,
            "last_name": mediator_user.last_name,
            "listed_on": date(2025, 1, 15),
            "term_ends_on": date(2028, 1, 14),
            "sectors": "Commerce de détail, services à la personne",
            "user": mediator_user,
        },
    )


def seed_demo() -> list[tuple[str, DemoLogin]]:
    """Creates the public tenant, the demo firm and its users. Returns (host, login) pairs."""
    platform_host = settings.PLATFORM_DOMAIN
    demo_host = f"demo.{settings.PLATFORM_DOMAIN}"
    ensure_tenant(schema_name=get_public_schema_name(), name="Plateforme", domain=platform_host)
    with schema_context(get_public_schema_name()), transaction.atomic():
        ensure_user(OPERATOR, superuser=True)
    demo = ensure_tenant(schema_name=DEMO_SCHEMA, name="Cabinet Démo Médiation", domain=demo_host, siren="732829320")
    if demo.plan_id is None:
        demo.plan = Plan.objects.filter(code="cabinet").first()
        demo.save(update_fields=["plan"])
    with schema_context(demo.schema_name), transaction.atomic():
        users = {login.role: ensure_user(login, superuser=login.role == User.Role.ADMIN) for login in DEMO_STAFF}
        ensure_firm_profile(mediator_user=users[User.Role.MEDIATOR])
    return [(platform_host, OPERATOR)] + [(demo_host, login) for login in DEMO_STAFF]
