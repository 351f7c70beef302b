"""Keeps the platform-wide coverage index (`tenants.coverage_index`, public schema) in step with this firm.

- After a transaction that changed a member's status (`StatusChange`), a term
  (`Membership`: paid, terminated, dates) or a covered member's name, that
  member's row is written again or removed (`sync_member`), once per member
  per transaction, after commit: the index never shows what was rolled back,
  and a failure there is logged, never the user's error.
- Every night each firm's rows are rebuilt from its data
  (`rebuild_for_current_tenant`), which repairs anything a missed signal left
  (bulk updates, a changed SIREN, a crash between commit and sync).

Coverage is the rule of `mediation.members.coverage`, nothing else.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from typing import Any

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from mediation.members.coverage import RECENT_TERMS, Term, coverage_of, covered_members, decide
from mediation.members.models import Member, Membership, StatusChange
from tenants import coverage_index
from tenants.models import Tenant

logger = logging.getLogger(__name__)

# A term's fields that coverage depends on; a save touching none of them changes nothing.
TERM_FIELDS = frozenset({"paid_at", "terminated_at", "suspended_at", "starts_on", "ends_on", "member"})
# A member's fields the index shows (the status goes through StatusChange).
PUBLIC_FIELDS = frozenset({"legal_name", "trade_name", "siren"})


def current_firm() -> Tenant | None:
    """The firm whose schema the connection is on; None on public, the template or a spare schema."""
    schema = getattr(connection, "schema_name", get_public_schema_name())
    if schema == get_public_schema_name():
        return None
    tenant = getattr(connection, "tenant", None)
    if not (isinstance(tenant, Tenant) and tenant.pk and tenant.schema_name == schema):
        with schema_context(get_public_schema_name()):
            tenant = Tenant.objects.filter(schema_name=schema).first()
    if tenant is None or tenant.kind != Tenant.Kind.FIRM:
        return None
    return tenant


# --- Services ---------------------------------------------------------------------------------


@transaction.atomic
def sync_member(member: Member, *, tenant: Tenant | None = None, today: datetime.date | None = None) -> bool:
    """Writes `member`'s row in the index when it is covered today, removes it otherwise; True when covered.

    `tenant` is the firm whose schema the connection is on (found from the connection when not given).
    """
    tenant = tenant or current_firm()
    if tenant is None:
        return False
    coverage_index.lock(tenant=tenant)
    fresh = Member.objects.filter(pk=member.pk).first()
    if fresh is None:
        coverage_index.remove(tenant=tenant, siren=member.siren)
        return False
    coverage = coverage_of(member=fresh, today=today or timezone.localdate())
    if coverage.covered and coverage.until is not None and tenant.is_active and tenant.closed_at is None:
        coverage_index.upsert(
            tenant=tenant,
            siren=fresh.siren,
            name=fresh.legal_name,
            trade_name=fresh.trade_name,
            covered_until=coverage.until,
        )
        return True
    coverage_index.remove(tenant=tenant, siren=fresh.siren)
    return False


def covered_rows(*, today: datetime.date) -> list[coverage_index.IndexRow]:
    """The index rows of every member covered on `today`, in two queries whatever their number.

    `covered_members()` picks the members; their newest terms (as `coverage_of`
    reads them) give each one's validity through `decide`, the same rule.
    """
    members = covered_members(today=today)
    terms: dict[int, list[Term]] = defaultdict(list)
    memberships = (
        Membership.objects.filter(member__in=members.values("pk"))
        .order_by("member_id", "-ends_on", "-pk")
        .values_list("member_id", "starts_on", "ends_on", "paid_at", "terminated_at", "suspended_at")
    )
    for member_id, starts_on, ends_on, paid_at, terminated_at, suspended_at in memberships.iterator(chunk_size=5000):
        if len(terms[member_id]) < RECENT_TERMS:
            terms[member_id].append(
                Term(
                    starts_on=starts_on,
                    ends_on=ends_on,
                    paid=paid_at is not None,
                    terminated=terminated_at is not None,
                    suspended=suspended_at is not None,
                )
            )
    rows = []
    listed = members.order_by().values_list("pk", "siren", "legal_name", "trade_name", "status")
    for pk, siren, name, trade_name, status in listed.iterator(chunk_size=5000):
        coverage = decide(status=status, terms=terms.get(pk, []), today=today)
        if coverage.covered and coverage.until is not None:
            rows.append(
                coverage_index.IndexRow(siren=siren, name=name, trade_name=trade_name, covered_until=coverage.until)
            )
    return rows


@transaction.atomic
def rebuild_for_current_tenant(*, today: datetime.date | None = None) -> dict[str, int]:
    """Makes this firm's index rows exactly its covered members today (adds, updates, removes)."""
    tenant = current_firm()
    if tenant is None:
        return {}
    coverage_index.lock(tenant=tenant)
    if not tenant.is_active or tenant.closed_at is not None:
        return coverage_index.replace_for_tenant(tenant=tenant, rows=[])
    rows = covered_rows(today=today or timezone.localdate())
    return coverage_index.replace_for_tenant(tenant=tenant, rows=rows)


# --- After commit ------------------------------------------------------------------------------


def _already_scheduled(key: tuple[str, int]) -> bool:
    # Django keeps the pending callbacks of the transaction as (savepoint ids, func, robust);
    # one sync per member per transaction is enough (a status change also saves the member).
    # A callback that ran already (tests run them without ending the transaction) does not count.
    pending = getattr(connection, "run_on_commit", None) or []
    return any(
        getattr(entry[1], "coverage_key", None) == key and not getattr(entry[1], "ran", False) for entry in pending
    )


def schedule_sync(member_id: int) -> None:
    """Syncs the member's index row once the current transaction commits (at once outside one)."""
    tenant = current_firm()
    if tenant is None:
        return
    key = (tenant.schema_name, member_id)
    if _already_scheduled(key):
        return

    def sync_after_commit() -> None:
        sync_after_commit.ran = True  # type: ignore[attr-defined]
        with tenant_context(tenant):
            member = Member.objects.filter(pk=member_id).first()
            if member is not None:
                sync_member(member, tenant=tenant)

    sync_after_commit.coverage_key = key  # type: ignore[attr-defined]
    transaction.on_commit(sync_after_commit, robust=True)


def schedule_removal(siren: str) -> None:
    tenant = current_firm()
    if tenant is None or not siren:
        return
    transaction.on_commit(lambda: coverage_index.remove(tenant=tenant, siren=siren), robust=True)


# --- Receivers ---------------------------------------------------------------------------------


def on_status_change(sender: Any, instance: StatusChange, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if created and not raw:
        schedule_sync(instance.member_id)


def on_membership_saved(
    sender: Any, instance: Membership, created: bool, raw: bool = False, update_fields: Any = None, **kwargs: Any
) -> None:
    if raw:
        return
    if created or update_fields is None or TERM_FIELDS & set(update_fields):
        schedule_sync(instance.member_id)


def on_member_saved(
    sender: Any, instance: Member, created: bool, raw: bool = False, update_fields: Any = None, **kwargs: Any
) -> None:
    # A new member has no paid term yet; a status change comes with its StatusChange.
    if raw or created or instance.status not in (Member.Status.ACTIVE, Member.Status.RENEWAL_DUE):
        return
    if update_fields is None or PUBLIC_FIELDS & set(update_fields):
        schedule_sync(instance.pk)


def on_member_deleted(sender: Any, instance: Member, **kwargs: Any) -> None:
    schedule_removal(instance.siren)


_RECEIVERS: tuple[tuple[Any, Any, type, str], ...] = (
    (post_save, on_status_change, StatusChange, "coverage_index.status_change"),
    (post_save, on_membership_saved, Membership, "coverage_index.membership"),
    (post_save, on_member_saved, Member, "coverage_index.member"),
    (post_delete, on_member_deleted, Member, "coverage_index.member_deleted"),
)
_connected = False


def connect_receivers() -> bool:
    """Connects the receivers (from `MembersConfig.ready`); False when they were connected already."""
    global _connected
    if _connected:
        return False
    for signal, receiver, sender, uid in _RECEIVERS:
        signal.connect(receiver, sender=sender, dispatch_uid=uid, weak=False)
    _connected = True
    return True


def disconnect_receivers() -> None:
    global _connected
    for signal, _receiver, sender, uid in _RECEIVERS:
        signal.disconnect(sender=sender, dispatch_uid=uid)
    _connected = False
