"""Every write on the firm's settings and mediators; each leaves an audit row with before/after."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.permissions import Perm, ensure_perm
from core import audit
from firm.models import FirmProfile, Mediator

PROFILE_FIELDS = tuple(
    f.name for f in FirmProfile._meta.concrete_fields if f.editable and f.name not in {"id", "created_at", "updated_at"}
)
MEDIATOR_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "listed_on",
    "term_ends_on",
    "sectors",
    "user",
    "is_active",
    "conflict_sirens",
)


def _apply(obj: models.Model, allowed: Iterable[str], changes: dict[str, Any]) -> list[str]:
    """Sets `changes` on `obj` the way a model form would; returns the fields whose value changed."""
    allowed = tuple(allowed)
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no editable field(s): {', '.join(unknown)}")
    before = audit.snapshot(obj, allowed)
    for name, value in changes.items():
        # save_form_data: a file field takes an upload, or False to clear it.
        obj._meta.get_field(name).save_form_data(obj, value)  # type: ignore[union-attr]
    obj.full_clean()  # may normalise fields beyond `changes` (compact identifiers)
    return list(audit.diff(before, audit.snapshot(obj, allowed)))


def _ensure_active_user(user: User | None) -> None:
    if user is not None and not user.is_active:
        raise ValidationError({"user": _("Ce compte de l'équipe est désactivé.")})


def _save_changes(*, obj: Any, fields: tuple[str, ...], changes: dict[str, Any], by: User, action: str) -> None:
    """Applies `changes` (validated), saves only what changed and audits it with before/after."""
    before = audit.snapshot(obj, fields)
    changed = _apply(obj, fields, changes)
    if not changed:
        return
    obj.save(update_fields=[*changed, "updated_at"])
    audit.record(actor=by, action=action, obj=obj, changes=audit.diff(before, audit.snapshot(obj, fields)))


@transaction.atomic
def update_firm_profile(*, by: User, **changes: Any) -> FirmProfile:
    """Changes the firm's profile (created on first use); validates everything before saving."""
    ensure_perm(by, Perm.FIRM_SETTINGS)
    tenant = getattr(connection, "tenant", None)
    profile, _created = FirmProfile.objects.select_for_update().get_or_create(
        pk=FirmProfile.SINGLETON_PK, defaults={"legal_name": getattr(tenant, "name", "")}
    )
    _save_changes(obj=profile, fields=PROFILE_FIELDS, changes=changes, by=by, action="firm.profile_updated")
    return profile


@transaction.atomic
def create_mediator(
    *,
    by: User,
    first_name: str,
    last_name: str,
    email: str,
    listed_on: datetime.date,
    term_ends_on: datetime.date,
    sectors: str = "",
    user: User | None = None,
    is_active: bool = True,
    conflict_sirens: Iterable[str] = (),
) -> Mediator:
    ensure_perm(by, Perm.FIRM_SETTINGS)
    _ensure_active_user(user)
    mediator = Mediator(
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        email=email.strip().lower(),
        listed_on=listed_on,
        term_ends_on=term_ends_on,
        sectors=sectors,
        user=user,
        is_active=is_active,
        conflict_sirens=list(conflict_sirens),
    )
    mediator.full_clean()
    mediator.save()
    audit.record(
        actor=by,
        action="firm.mediator_created",
        obj=mediator,
        changes=audit.diff({}, audit.snapshot(mediator, MEDIATOR_FIELDS)),
    )
    return mediator


@transaction.atomic
def update_mediator(*, by: User, mediator: Mediator, **changes: Any) -> Mediator:
    ensure_perm(by, Perm.FIRM_SETTINGS)
    if "user" in changes and changes["user"] != mediator.user:
        _ensure_active_user(changes["user"])
    if "email" in changes:
        changes["email"] = str(changes["email"]).strip().lower()
    mediator = Mediator.objects.select_for_update().get(pk=mediator.pk)
    _save_changes(obj=mediator, fields=MEDIATOR_FIELDS, changes=changes, by=by, action="firm.mediator_updated")
    return mediator
