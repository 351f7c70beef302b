"""The demo firm that `make run` seeds. Idempotent: running it twice changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import transaction
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.models import User
from firm.models import FirmProfile, Mediator
from mediation.members.models import Contact, Group, Member
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


DEMO_GROUP = {"name": "Fédération des commerçants de proximité", "kind": Group.Kind.FEDERATION}
# (member fields, contacts): three member businesses of the demo firm, keyed by SIREN.
DEMO_MEMBERS: tuple[tuple[dict[str, object], tuple[dict[str, object], ...]], ...] = (
    (
        {
            "siren": "412345670",
            "legal_name": "Boulangerie du Marché SARL",
            "trade_name": "Boulangerie du Marché",
            "siret": "41234567000019",
            "vat_number": "FR96412345670",
            "naf_code": "10.71C",
            "legal_form": "SARL",
            "address_line1": "3 place du Marché",
            "postcode": "69002",
            "city": "Lyon",
            "websites": ["https://boulangerie-du-marche.fr"],
            "sector": Member.Sector.RETAIL,
            "headcount_band": Member.HeadcountBand.MICRO,
            "turnover_band": Member.TurnoverBand.UNDER_500K,
            "status": Member.Status.ACTIVE,
            "in_group": True,
        },
        (
            {
                "email": "lucie.moreau@boulangerie-du-marche.fr",
                "first_name": "Lucie",
                "last_name": "Moreau",
                "roles": [Contact.Role.LEGAL_REPRESENTATIVE, Contact.Role.MEDIATION_CORRESPONDENT],
                "phone": "04 78 00 00 01",
            },
            {
                "email": "compta@boulangerie-du-marche.fr",
                "first_name": "Marc",
                "last_name": "Leroy",
                "roles": [Contact.Role.BILLING],
            },
        ),
    ),
    (
        {
            "siren": "523456788",
            "legal_name": "Tissus & Co SAS",
            "trade_name": "tissus-et-co.fr",
            "naf_code": "47.91B",
            "legal_form": "SAS",
            "address_line1": "18 rue de la République",
            "postcode": "13001",
            "city": "Marseille",
            "websites": ["https://tissus-et-co.fr"],
            "sector": Member.Sector.ECOMMERCE,
            "headcount_band": Member.HeadcountBand.SMALL,
            "turnover_band": Member.TurnoverBand.UNDER_2M,
            "status": Member.Status.PROPOSAL_SENT,
            "in_group": False,
        },
        (
            {
                "email": "service-client@tissus-et-co.fr",
                "first_name": "Inès",
                "last_name": "Garnier",
                "roles": [Contact.Role.MEDIATION_CORRESPONDENT, Contact.Role.BILLING],
            },
        ),
    ),
    (
        {
            "siren": "812345676",
            "legal_name": "Garage Central SAS",
            "trade_name": "Garage Central",
            "naf_code": "45.20A",
            "legal_form": "SAS",
            "address_line1": "42 avenue Jean Jaurès",
            "postcode": "38000",
            "city": "Grenoble",
            "sector": Member.Sector.AUTOMOTIVE,
            "headcount_band": Member.HeadcountBand.MICRO,
            "status": Member.Status.PROSPECT,
            "in_group": True,
        },
        (
            {
                "email": "direction@garage-central.fr",
                "first_name": "Karim",
                "last_name": "Benali",
                "roles": [Contact.Role.LEGAL_REPRESENTATIVE],
            },
        ),
    ),
)


def ensure_demo_members() -> None:
    """A federation and three member businesses with their contacts, created once (later edits are kept)."""
    group, _created = Group.objects.get_or_create(name=DEMO_GROUP["name"], defaults={"kind": DEMO_GROUP["kind"]})
    for fields, contacts in DEMO_MEMBERS:
        defaults = {key: value for key, value in fields.items() if key not in {"siren", "in_group"}}
        defaults["group"] = group if fields["in_group"] else None
        member, _created = Member.objects.get_or_create(siren=fields["siren"], defaults=defaults)
        for contact in contacts:
            Contact.objects.get_or_create(
                member=member,
                email=contact["email"],
                defaults={key: value for key, value in contact.items() if key != "email"},
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
        ensure_demo_members()
    return [(platform_host, OPERATOR)] + [(demo_host, login) for login in DEMO_STAFF]
