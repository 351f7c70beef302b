from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from core import audit
from firm.models import FirmProfile
from tenants.signals import firm_provisioned


@receiver(firm_provisioned, dispatch_uid="firm.profile_from_signup")
def create_profile_from_signup(*, signup: Any, admin: Any, **_: Any) -> None:
    """What the firm typed at signup starts its profile, so it is never typed twice."""
    profile, created = FirmProfile.objects.get_or_create(
        pk=FirmProfile.SINGLETON_PK,
        defaults={"legal_name": signup.legal_name, "siren": signup.siren, "contact_email": signup.admin_email},
    )
    if created:
        audit.record(
            actor=admin,
            action="firm.profile_created",
            obj=profile,
            changes=audit.diff({}, audit.snapshot(profile, ["legal_name", "siren", "contact_email"])),
        )
