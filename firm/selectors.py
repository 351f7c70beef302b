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


def email_identity() -> tuple[str, list[str]]:
    """(From header, Reply-To list) for the firm's outgoing e-mails.

    The address stays the platform's (DEFAULT_FROM_EMAIL, so that SPF/DKIM
    hold); the display name and the reply address are the firm's.
    """
    from email.utils import formataddr, parseaddr

    from django.conf import settings

    profile = FirmProfile.objects.filter(pk=FirmProfile.SINGLETON_PK).first()
    tenant = getattr(connection, "tenant", None)
    name = (profile.email_sender_name if profile else "") or getattr(tenant, "name", "")
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or settings.DEFAULT_FROM_EMAIL
    reply_to = [profile.reply_to_email] if profile and profile.reply_to_email else []
    return formataddr((name, address)) if name else settings.DEFAULT_FROM_EMAIL, reply_to
