"""Reads of the firm's staff and invitations."""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from accounts.models import Invitation, User
from core.tokens import hash_token


def staff_members() -> QuerySet[User]:
    """Every staff account of the firm, with `has_totp` (an active TOTP authenticator)."""
    totp = Authenticator.objects.filter(user=OuterRef("pk"), type=Authenticator.Type.TOTP)
    return (
        User.objects.exclude(role=User.Role.MEMBER)
        .annotate(has_totp=Exists(totp))
        .order_by("-is_active", "last_name", "first_name", "email")
    )


def staff_member(*, pk: int) -> User | None:
    return User.objects.exclude(role=User.Role.MEMBER).filter(pk=pk).first()


def pending_invitations() -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("invited_by")


def invitation_for_token(token: str, *, for_update: bool = False) -> Invitation | None:
    invitations = Invitation.objects.select_for_update() if for_update else Invitation.objects.all()
    return invitations.filter(token_hash=hash_token(token)).first()


def has_active_totp(user: Any) -> bool:
    return Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).exists()
