"""Reads of the firm's settings and mediators."""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet

from firm.models import FirmProfile, Mediator


def firm_profile() -> FirmProfile:
    """The firm's profile; before the first save, an unsaved one with the defaults and the firm's name."""
    profile = FirmProfile.objects.filter(pk=FirmProfile.SINGLETON_PK).first()
    if profile is None:
        tenant = getattr(connection, "tenant", None)
        profile = FirmProfile(pk=FirmProfile.SINGLETON_PK, legal_name=getattr(tenant, "name", ""))
    return profile


def mfa_required() -> bool:
    return FirmProfile.objects.filter(pk=FirmProfile.SINGLETON_PK, require_mfa=True).exists()


def mediators() -> QuerySet[Mediator]:
    return Mediator.objects.select_related("user").order_by("-is_active", "last_name", "first_name")


def mediator(*, pk: int) -> Mediator | None:
    return Mediator.objects.filter(pk=pk).first()
