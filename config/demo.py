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
    DemoLogin("charge@cabinet-demo.fr", User.Role.CASE_OFFICER, "Inès", "Garcia"),
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
            "siret": "73282932000074",
            "vat_number": "FR44732829320",
            "rcs": "RCS Paris",
            "iban": "FR7630006000011234567890189",
            "bic": "AGRIFRPP",
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


DEMO_SITE_TEXTS = {
    "presentation": (
        "Le Cabinet Démo Médiation est le médiateur de la consommation des commerces de proximité et des "
        "services à la personne adhérents. Il aide gratuitement les consommateurs et les professionnels à "
        "trouver une solution amiable à leur litige, en toute indépendance et en toute confidentialité."
    ),
    "presentation_en": (
        "Cabinet Démo Médiation is the consumer mediator of the local shops and personal services that are "
        "its members. It helps consumers and businesses find an amicable solution to their dispute, free of "
        "charge for the consumer, independently and confidentially."
    ),
    "disputes_handled": (
        "Les litiges de consommation avec un professionnel adhérent, notamment :\n\n"
        "- la livraison (retard, produit non conforme, colis perdu) ;\n"
        "- la garantie légale de conformité et les services après-vente ;\n"
        "- la facturation et les remboursements ;\n"
        "- l'exécution des prestations de services à la personne."
    ),
    "disputes_handled_en": (
        "Consumer disputes with a member business, in particular:\n\n"
        "- delivery (delay, non-conforming product, lost parcel);\n"
        "- the legal guarantee of conformity and after-sales service;\n"
        "- invoicing and refunds;\n"
        "- the performance of personal services."
    ),
    "disputes_excluded": "Les litiges entre professionnels, qui relèvent de la médiation conventionnelle.",
    "no_network": True,
}
DEMO_PAGES = {
    "legal_notice": (
        "Mentions légales",
        "**Éditeur du site** : Cabinet Démo Médiation, SAS, 12 rue de la Paix, 75002 Paris. "
        "SIREN 732 829 320, RCS Paris. Contact : contact@cabinet-demo.fr, 01 23 45 67 89.\n\n"
        "**Directeur de la publication** : le président du Cabinet Démo Médiation.\n\n"
        "**Hébergement** : la plateforme de médiation qui héberge ce site (voir le contrat de service).",
    ),
    "privacy": (
        "Données personnelles",
        "Le Cabinet Démo Médiation traite les données que vous lui confiez pour examiner votre demande de "
        "médiation (article L612-1 du Code de la consommation), sur le fondement de son obligation légale.\n\n"
        "- **Destinataires** : le médiateur, son équipe et le professionnel concerné, pour ce qui le regarde.\n"
        "- **Durée** : le dossier est conservé cinq ans après sa clôture, puis supprimé.\n"
        "- **Vos droits** : accès, rectification, effacement, limitation et opposition, en écrivant à "
        "contact@cabinet-demo.fr ; réclamation possible auprès de la CNIL.",
    ),
    "accessibility": (
        "Déclaration d'accessibilité",
        "Le Cabinet Démo Médiation s'engage à rendre son site accessible (RGAA 4.1, WCAG 2.1 niveau AA).\n\n"
        "Les pages publiques et le formulaire de demande sont vérifiés automatiquement à chaque version. "
        "Si vous ne pouvez pas accéder à un contenu, écrivez à contact@cabinet-demo.fr : nous vous répondrons "
        "par un autre moyen. Vous pouvez aussi saisir le Défenseur des droits.",
    ),
    "faq": (
        "Questions fréquentes",
        "## La médiation est-elle payante ?\n\nNon : elle est gratuite pour le consommateur (article L612-1).\n\n"
        "## Dois-je d'abord écrire au professionnel ?\n\nOui. Le médiateur ne peut être saisi qu'après une "
        "réclamation écrite au professionnel, datant de moins d'un an.\n\n"
        "## Puis-je encore aller en justice ?\n\nOui, à tout moment : la médiation suspend les délais de "
        "prescription pendant sa durée (article 2238 du Code civil).",
    ),
}


def ensure_demo_site(*, admin: User) -> None:
    """The demo firm's public site texts, its sector and its legal pages, published; created once."""
    from firm import site_services
    from firm.models import Coverage, NewsPost, SitePage, SiteSettings

    if not SiteSettings.objects.exists():
        site_services.save_site_settings(by=admin, **DEMO_SITE_TEXTS)
    if not Coverage.objects.exists():
        site_services.save_coverage(by=admin, kind=Coverage.Kind.SECTOR, name="Commerce de détail de proximité")
        site_services.save_coverage(by=admin, kind=Coverage.Kind.SECTOR, name="Services à la personne")
        site_services.save_coverage(
            by=admin,
            kind=Coverage.Kind.CONVENTION,
            name="Convention de médiation des commerçants de proximité",
            partner=str(DEMO_GROUP["name"]),
            signed_on=date(2025, 2, 1),
        )
    for kind, (title, body) in DEMO_PAGES.items():
        if not SitePage.objects.filter(kind=kind, language="fr").exists():
            page = site_services.save_page_draft(by=admin, kind=kind, language="fr", title=title, body=body)
            site_services.publish(by=admin, item=page)
    if not NewsPost.objects.exists():
        post = site_services.save_news_draft(
            by=admin,
            title="Le médiateur répond désormais en ligne",
            body="Déposez votre demande et suivez votre dossier en ligne, pièces jointes comprises, "
            "depuis un téléphone ou un ordinateur.",
        )
        site_services.publish(by=admin, item=post)


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
            # Becomes active through the membership services (ensure_demo_membership).
            "status": Member.Status.PROSPECT,
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


DEMO_CONVENTION = """Article 1 — Objet
Le professionnel adhère au dispositif de médiation de la consommation du cabinet, qui met à la disposition \
de ses clients consommateurs un médiateur inscrit sur la liste de la CECMC (articles L612-1 et suivants du \
code de la consommation).

Article 2 — Information des consommateurs
Le professionnel communique les coordonnées du médiateur (nom et adresse du site internet) de manière \
visible et lisible sur son site internet, dans ses conditions générales de vente et par tout autre moyen \
adapté (article R616-1).

Article 3 — Coopération
Le professionnel désigne un correspondant médiation, répond aux demandes du médiateur dans les délais \
indiqués et transmet les pièces utiles au traitement des dossiers.

Article 4 — Durée et prix
L'adhésion court pour la durée choisie à compter de son acceptation ; elle est facturée selon le tarif \
en vigueur pour la tranche d'effectif du professionnel, auquel s'ajoutent, le cas échéant, des frais \
par dossier.
"""
# Yearly price before VAT (cents) per headcount band; a 3-year commitment costs 10 % less a year.
DEMO_TARIFFS = {"0": 15_000, "1_9": 25_000, "10_49": 45_000, "50_249": 90_000, "250_plus": 180_000}


def ensure_demo_catalogue() -> None:
    """The firm's billing catalogue: the membership product (VAT, account), the per-case fee and an option."""
    from django.utils import timezone

    from billing.models import Price, Product

    if Product.objects.exists():
        return
    start = timezone.localdate().replace(month=1, day=1)
    Product.objects.create(
        code="adhesion", name="Adhésion au service de médiation", kind=Product.Kind.MEMBERSHIP, account="706100"
    )
    for code, name, kind, account, cents in (
        ("frais-dossier", "Frais de dossier de médiation", Product.Kind.CASE_FEE, "706200", 5_000),
        ("formation", "Formation du correspondant médiation (demi-journée)", Product.Kind.OPTION, "706300", 35_000),
    ):
        product = Product.objects.create(code=code, name=name, kind=kind, account=account)
        Price.objects.create(product=product, unit_price_cents=cents, valid_from=start)


def ensure_demo_invoices(*, finance: User) -> None:
    """An option invoiced to the fabric shop and left to pay (its payment link works with Stripe configured)."""
    from billing import services
    from billing.models import Invoice, Product

    shop = Member.objects.get(siren="523456788")
    if Invoice.objects.filter(member=shop).exists():
        return
    option = Product.objects.get(code="formation")
    draft = services.create_draft(by=finance, member=shop, lines=[{"product": option, "unit_price_cents": 35_000}])
    services.issue_invoice(by=finance, invoice=draft, send=False)


def ensure_demo_membership(*, admin: User, finance: User) -> None:
    """The firm's convention and tariffs, and the bakery's membership invoiced and paid by transfer."""
    from django.utils import timezone

    from billing import automatic, services
    from mediation.members import membership
    from mediation.members.models import Convention, Tariff

    if not Convention.objects.exists():
        membership.publish_convention(by=admin, title="Convention d'adhésion", text=DEMO_CONVENTION)
    if not Tariff.objects.exists():
        start = timezone.localdate().replace(month=1, day=1)
        for band, price in DEMO_TARIFFS.items():
            membership.create_tariff(
                by=admin, headcount_band=band, term_years=1, yearly_price_cents=price, valid_from=start
            )
            membership.create_tariff(
                by=admin, headcount_band=band, term_years=3, yearly_price_cents=price * 9 // 10, valid_from=start
            )
    bakery = Member.objects.get(siren="412345670")
    if bakery.status == Member.Status.PROSPECT and not bakery.memberships.exists():
        convention = membership.current_convention()
        assert convention is not None
        with automatic.billing_here():  # billed here rather than by a queued task
            term = membership.accept_convention(
                member=bakery,
                convention=convention,
                signer_name="Lucie Moreau",
                signer_role="Gérante",
                ip_address="127.0.0.1",
                term_years=3,
            )
        for invoice in automatic.bill_membership(membership_id=term.pk, send=False):
            services.record_payment(
                by=finance,
                invoice=invoice,
                amount_cents=invoice.balance_cents,
                method="transfer",
                reference=f"VIR BOULANGERIE DU MARCHE {invoice.number}",
            )


# (consumer, business SIREN, subject, description, amount in cents, days since receipt, steps to take)
DEMO_CASES: tuple[tuple[tuple[str, str, str], str, str, str, int, int, tuple[str, ...]], ...] = (
    (
        ("Jeanne", "Roux", "jeanne.roux@example.org"),
        "412345670",
        "defect",
        "La pièce montée commandée pour le mariage est arrivée effondrée ; la boulangerie refuse de rembourser.",
        18_000,
        2,
        (),
    ),
    (
        ("Karim", "Benali", "karim.benali@example.org"),
        "412345670",
        "billing",
        "Deux prélèvements pour la même commande de viennoiseries en ligne.",
        4_250,
        12,
        ("request_documents",),
    ),
    (
        ("Élodie", "Faure", "elodie.faure@example.org"),
        "523456788",
        "delivery",
        "Canapé livré avec six semaines de retard et un pied cassé.",
        89_900,
        19,
        ("open",),
    ),
    (
        ("Thomas", "Girard", "thomas.girard@example.org"),
        "523456788",
        "refund",
        "Rétractation dans les 14 jours non remboursée.",
        15_990,
        40,
        ("open", "accept"),
    ),
    (
        ("Nathalie", "Blanc", "nathalie.blanc@example.org"),
        "412345670",
        "service",
        "Gâteau d'anniversaire non conforme à la commande (allergènes).",
        6_500,
        70,
        ("open", "accept", "proposal"),
    ),
    (
        ("Louis", "Mercier", "louis.mercier@example.org"),
        "523456788",
        "contract",
        "Garantie commerciale refusée sans explication.",
        32_000,
        25,
        ("inadmissible",),
    ),
)


def _demo_complaint_pdf(name: str, description: str) -> bytes:
    import weasyprint

    html = f"<h1>Réclamation</h1><p>{name}</p><p>{description}</p>"
    return weasyprint.HTML(string=html).write_pdf()


def ensure_demo_cases(*, mediator: User, officer: User) -> None:
    """A few cases at different steps, filed and handled through the services, dated back as if real."""
    import datetime

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from mediation.cases import services
    from mediation.cases.models import Case, InadmissibilityReason, Party

    if Case.objects.exists():
        return
    for (first, last, email), siren, subject, description, amount, days_ago, steps in DEMO_CASES:
        member = Member.objects.get(siren=siren)
        received = timezone.now() - datetime.timedelta(days=days_ago)
        case, _token = services.create_draft(
            member=member,
            consumer_first_name=first,
            consumer_last_name=last,
            consumer_email=email,
            is_consumer=True,
            complained_on=timezone.localdate(received) - datetime.timedelta(days=20),
            other_proceedings=False,
            subject=subject,
            description=description,
            amount_cents=amount,
            desired_outcome="Un remboursement ou un geste commercial.",
        )
        pdf = _demo_complaint_pdf(f"{first} {last}", description)
        upload = SimpleUploadedFile("reclamation.pdf", pdf, content_type="application/pdf")
        services.add_document(case=case, file=upload, party=Party.CONSUMER, kind="complaint")
        case = services.submit(case=case, consent=True)
        services.assign(case=case, by=officer, assignee=officer if days_ago < 15 else mediator)
        # The demo backdates the steps so that its inbox shows real deadlines (a few soon due or overdue).
        Case.objects.filter(pk=case.pk).update(received_at=received)
        case.refresh_from_db()
        for step in steps:
            if step == "request_documents":
                case = services.request_documents(case=case, by=officer, what="La copie du relevé bancaire.")
            elif step == "open":
                case = services.open_case(case=case, by=mediator)
                Case.objects.filter(pk=case.pk).update(opened_at=received + datetime.timedelta(days=5))
                case.refresh_from_db()
            elif step == "accept":
                case = services.record_business_answer(case=case, accepts=True, by=officer)
                services.post_message(
                    case=case, party=Party.CONSUMER, body="Bonjour, avez-vous des nouvelles du professionnel ?"
                )
                services.post_message(
                    case=case,
                    party=Party.STAFF,
                    by=mediator,
                    channel="internal",
                    body="Le professionnel semble prêt à proposer un avoir.",
                )
            elif step == "proposal":
                case = services.send_proposal(
                    case=case, by=mediator, text="Remboursement de 65 € par le professionnel sous 15 jours."
                )
            elif step == "inadmissible":
                case = services.declare_inadmissible(
                    case=case, by=mediator, reason=InadmissibilityReason.ALREADY_EXAMINED, note="Procès en cours."
                )
        fields = services.refresh_deadlines(case)
        case.save(update_fields=fields)


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
        ensure_demo_site(admin=users[User.Role.ADMIN])
    with schema_context(demo.schema_name):
        ensure_demo_catalogue()
        ensure_demo_membership(admin=users[User.Role.ADMIN], finance=users[User.Role.FINANCE])
        ensure_demo_invoices(finance=users[User.Role.FINANCE])
        ensure_demo_cases(mediator=users[User.Role.MEDIATOR], officer=users[User.Role.CASE_OFFICER])
        # The CECMC tracker as the morning pass leaves it (idempotent: each obligation once).
        from mediation.compliance import tracker

        tracker.sync()
    return [(platform_host, OPERATOR)] + [(demo_host, login) for login in DEMO_STAFF]
