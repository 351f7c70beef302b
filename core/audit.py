"""The audit log: one append-only row per write, with what changed.

Services call `record()` inside their transaction, so the row exists exactly
when the change does. `changes` maps each changed field to `[before, after]`
in JSON (dates as ISO strings, files as their stored names, objects as their
primary keys).
"""

from __future__ import annotations

import datetime
import decimal
import enum
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from django.db import models
from django.db.models.fields.files import FieldFile
from django.utils.functional import Promise

from core.models import AuditEntry

JSON = None | bool | int | float | str | list["JSON"] | dict[str, "JSON"]


class Actor(Protocol):
    @property
    def pk(self) -> Any: ...
    @property
    def email(self) -> str: ...
    @property
    def is_authenticated(self) -> bool: ...


def to_json(value: Any) -> JSON:
    """A JSON-serialisable form of a field value, for the audit log."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, enum.Enum):
        return to_json(value.value)
    if isinstance(value, str | Promise):
        return str(value)
    if isinstance(value, datetime.date | datetime.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, FieldFile):
        return value.name or None
    if isinstance(value, models.Model):
        return to_json(value.pk)
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, Iterable):
        return [to_json(v) for v in value]
    return str(value)


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, JSON]:
    """The JSON form of `fields` of `obj` (a foreign key gives its id)."""
    values: dict[str, JSON] = {}
    for name in fields:
        field = obj._meta.get_field(name)
        attname = getattr(field, "attname", name)
        values[name] = to_json(getattr(obj, attname))
    return values


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[JSON]]:
    """`{field: [before, after]}` for every field whose JSON value differs; a missing side is None."""
    changes: dict[str, list[JSON]] = {}
    for name in sorted(set(before) | set(after)):
        old, new = to_json(before.get(name)), to_json(after.get(name))
        if old != new:
            changes[name] = [old, new]
    return changes


def record(*, actor: Actor | None, action: str, obj: models.Model, changes: Mapping[str, Any]) -> AuditEntry:
    """Writes one audit row. `actor` None (or anonymous) means the system did it."""
    known = actor is not None and actor.is_authenticated
    return AuditEntry.objects.create(
        actor_id=actor.pk if known and actor is not None else None,
        actor_email=actor.email if known and actor is not None else "",
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        changes=to_json(changes),
    )
