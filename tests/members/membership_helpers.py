"""Shared set-up for the membership tests: tariffs, a published convention, a member taken to any status."""

from __future__ import annotations

import datetime
import io
import re
from typing import Any

from mediation.members import membership as ms
from mediation.members.models import Convention, Member, Membership, Tariff
from tests.factories import AdminFactory, ContactFactory, MemberFactory

CONVENTION_TEXT = (
    "Article 1 - Objet. Le professionnel adhere au service de mediation du cabinet.\n\n"
    "Article 2 - Duree. L'adhesion court pour la duree choisie et se renouvelle sur demande."
)


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(content))
    return normalise(" ".join(page.extract_text() or "" for page in reader.pages))


def tariffs(on: datetime.date | None = None) -> dict[tuple[str, int], Tariff]:
    """A tariff for every band: 1 year at 300 €, 3 years at 250 € a year."""
    on = on or datetime.date(2020, 1, 1)
    made = {}
    for band in Member.HeadcountBand.values:
        for term, price in ((1, 30_000), (3, 25_000)):
            made[band, term] = Tariff.objects.create(
                headcount_band=band, term_years=term, yearly_price_cents=price, valid_from=on
            )
    return made


def publish(by: Any = None, text: str = CONVENTION_TEXT, title: str = "Convention d'adhésion") -> Convention:
    return ms.publish_convention(by=by or AdminFactory(), title=title, text=text)


def member_with_contacts(**fields: Any) -> Member:
    member = MemberFactory(**fields)
    ContactFactory(member=member, roles=["legal_representative"], email="dirigeant@entreprise.fr")
    ContactFactory(member=member, roles=["billing"], email="compta@entreprise.fr")
    ContactFactory(member=member, roles=["mediation_correspondent"], email="sav@entreprise.fr")
    return member


def accepted(member: Member, *, term_years: int = 1) -> Membership:
    convention = ms.current_convention() or publish()
    return ms.accept_convention(
        member=member,
        convention=convention,
        signer_name="Marie Curie",
        signer_role="Gérante",
        ip_address="203.0.113.7",
        term_years=term_years,
    )


def active_member(by: Any, *, term_years: int = 1, **fields: Any) -> tuple[Member, Membership]:
    """A member whose convention is accepted today and whose term is paid."""
    member = member_with_contacts(**fields)
    term = accepted(member, term_years=term_years)
    ms.mark_paid(by=by, membership=term)
    member.refresh_from_db()
    term.refresh_from_db()
    return member, term
