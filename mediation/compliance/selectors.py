"""Reads shared by the tracker and the dysfunctions."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User

# Who answers for the firm's compliance: reminders of CECMC obligations and dysfunction alerts go to them.
COMPLIANCE_ROLES = (User.Role.ADMIN, User.Role.MEDIATOR)


def compliance_staff() -> QuerySet[User]:
    """The firm's active admins and mediators with an e-mail address (never the platform's support accounts)."""
    return (
        User.objects.filter(is_active=True, is_platform_support=False, role__in=COMPLIANCE_ROLES)
        .exclude(email="")
        .order_by("pk")
    )
