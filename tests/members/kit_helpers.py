"""Builders shared by the kit, coverage and badge tests: a firm profile, a mediator, a member with a term."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from firm.models import FirmProfile
from tests.factories import MediatorFactory, MemberFactory

FIRM = {
    "legal_name": "Alpha Médiation SAS",
    "website": "https://www.alpha-mediation.fr",
    "address_line1": "12 rue de la Paix",
    "postcode": "75002",
    "city": "Paris",
}


def firm_profile(**fields: Any) -> FirmProfile:
    profile, _ = FirmProfile.objects.update_or_create(pk=FirmProfile.SINGLETON_PK, defaults={**FIRM, **fields})
    return profile


def firm_with_mediator(**fields: Any) -> FirmProfile:
    MediatorFactory(first_name="Hélène", last_name="Rousseau")
    return firm_profile(**fields)


def membership(
    member: Any, *, starts_on: datetime.date, ends_on: datetime.date, paid: bool = True, **fields: Any
) -> Any:
    from mediation.members.models import Membership

    return Membership.objects.create(
        member=member,
        starts_on=starts_on,
        ends_on=ends_on,
        paid_at=timezone.now() if paid else None,
        **fields,
    )


def covered_member(*, starts_on: datetime.date, ends_on: datetime.date, **fields: Any) -> Any:
    """An active member with a paid term from `starts_on` to `ends_on`."""
    member = MemberFactory(status="active", **fields)
    membership(member, starts_on=starts_on, ends_on=ends_on)
    return member
