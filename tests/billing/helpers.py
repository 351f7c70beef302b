"""Shared set-up for the billing tests: a firm whose identity allows invoicing, a billable member, invoices."""

from __future__ import annotations

from typing import Any

from billing import services
from billing.models import Invoice
from firm.models import FirmProfile
from mediation.members.models import Member
from tests.factories import ContactFactory, MemberFactory, UserFactory

LINE = {"label": "Adhésion annuelle — 1 à 9 salariés", "quantity": 1, "unit_price_cents": 30_000, "vat_rate": "20.00"}


def firm_identity(**fields: Any) -> FirmProfile:
    """The firm's profile with every mention an invoice needs (SIREN, VAT number, address, IBAN)."""
    profile, _ = FirmProfile.objects.get_or_create(pk=FirmProfile.SINGLETON_PK)
    values = {
        "legal_name": "Cabinet Alpha Médiation SAS",
        "legal_form": "SAS",
        "siren": "732829320",
        "siret": "73282932000074",
        "vat_number": "FR44732829320",
        "rcs": "RCS Lyon",
        "address_line1": "10 rue de la République",
        "postcode": "69002",
        "city": "Lyon",
        "country": "FR",
        "contact_email": "facturation@alpha-mediation.fr",
        "iban": "FR7630006000011234567890189",
        "bic": "AGRIFRPP",
        "invoice_prefix": "FA",
    }
    values.update(fields)
    for name, value in values.items():
        setattr(profile, name, value)
    profile.save()
    return profile


def billable_member(**fields: Any) -> Member:
    """A member with an address and a billing contact (compta@…)."""
    values = {"address_line1": "3 place du Marché", "postcode": "69003", "city": "Lyon"}
    values.update(fields)
    member = MemberFactory(**values)
    ContactFactory(member=member, roles=["billing"], email=f"compta-{member.siren}@entreprise.fr")
    return member


def finance_user(**fields: Any) -> Any:
    return UserFactory(role="finance", **fields)


def issued_invoice(
    *, by: Any = None, member: Member | None = None, lines: list[dict[str, Any]] | None = None, **fields: Any
) -> Invoice:
    """An issued invoice (the firm's identity is completed when it is not)."""
    if not FirmProfile.objects.filter(pk=FirmProfile.SINGLETON_PK, siren="732829320").exists():
        firm_identity()
    by = by or finance_user()
    draft = services.create_draft(by=by, member=member or billable_member(), lines=lines or [LINE], **fields)
    return services.issue_invoice(by=by, invoice=draft)
