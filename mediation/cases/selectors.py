"""Reads of cases for the staff pages: the inbox, its counts, and one case with everything on it."""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db.models import BooleanField, Count, F, Prefetch, Q, QuerySet
from django.db.models.expressions import Combinable, RawSQL
from django.utils import timezone

from accounts.models import User
from accounts.permissions import ROLE_PERMISSIONS, Perm
from mediation.cases import clock
from mediation.cases.models import Case, CaseDocument, CaseEvent, CaseMessage, Status
from mediation.members.models import Member

# The inbox's sorts: each matches an index of `Case.Meta.indexes` (pk last, so that pages never overlap).
SORTS: dict[str, tuple[str | Combinable, ...]] = {
    "deadline": (F("next_due_on").asc(nulls_last=True), "id"),
    "-received": ("-received_at", "-id"),
}
DEFAULT_SORT = "deadline"
# Special values of the assignee filter (otherwise a user's pk).
ASSIGNEE_ME = "me"
ASSIGNEE_NONE = "none"


@dataclass(frozen=True)
class InboxFilters:
    statuses: tuple[str, ...] = ()
    assignee: str = ""
    member: str = ""  # a SIREN, or words of the member's name
    subject: str = ""
    overdue: bool = False
    due_this_week: bool = False
    search: str = ""
    sort: str = DEFAULT_SORT
    today: datetime.date | None = field(default=None, compare=False)


def week_end(today: datetime.date) -> datetime.date:
    """The last day counted as "due this week": the same window as the `soon` urgency marker."""
    return today + datetime.timedelta(days=clock.SOON_DAYS)


REFERENCE = re.compile(r"\d{4}-\d{5,}")


def _search_filter(search: str) -> Q:
    if REFERENCE.fullmatch(search):
        # A whole reference: the unique index answers at once (a name search reads every case).
        return Q(reference=search)
    query = Q()
    for word in search.split():
        word_query = (
            Q(consumer_first_name__icontains=word)
            | Q(consumer_last_name__icontains=word)
            | Q(consumer_email__icontains=word)
            | Q(business_name__icontains=word)
            | Q(member__legal_name__icontains=word)
            | Q(member__trade_name__icontains=word)
        )
        if re.fullmatch(r"[\d-]+", word):
            # A reference typed whole or its beginning (2025-000 finds 2025-00012).
            word_query |= Q(reference__startswith=word)
        query &= word_query
    return query


def inbox_queryset(filters: InboxFilters | None, user: User) -> QuerySet[Case]:
    """Received cases (never drafts) matching `filters`, sorted; member and assignee in the same query."""
    filters = filters or InboxFilters()
    today = filters.today or timezone.localdate()
    queryset = Case.objects.exclude(status=Status.DRAFT).select_related("member", "assignee")
    if filters.statuses:
        queryset = queryset.filter(status__in=filters.statuses)
    if filters.assignee == ASSIGNEE_ME:
        queryset = queryset.filter(assignee=user)
    elif filters.assignee == ASSIGNEE_NONE:
        queryset = queryset.filter(assignee__isnull=True)
    elif filters.assignee.isdigit():
        queryset = queryset.filter(assignee_id=int(filters.assignee))
    member = filters.member.strip()
    if member:
        compact = member.replace(" ", "")
        if compact.isdigit() and len(compact) == 9:
            queryset = queryset.filter(member__siren=compact)
        else:
            for word in member.split():
                queryset = queryset.filter(
                    Q(member__legal_name__icontains=word) | Q(member__trade_name__icontains=word)
                )
    if filters.subject:
        queryset = queryset.filter(subject=filters.subject)
    if filters.overdue and filters.due_this_week:
        queryset = queryset.filter(next_due_on__lte=week_end(today))
    elif filters.overdue:
        queryset = queryset.filter(next_due_on__lt=today)
    elif filters.due_this_week:
        queryset = queryset.filter(next_due_on__gte=today, next_due_on__lte=week_end(today))
    if filters.search.strip():
        queryset = queryset.filter(_search_filter(filters.search.strip()))
    return queryset.order_by(*SORTS.get(filters.sort, SORTS[DEFAULT_SORT]))


STATE_COUNTS_KEY = "cases:state-counts"  # the cache's key function adds the firm's schema
STATE_COUNTS_SECONDS = 60


def state_counts() -> dict[str, int]:
    """How many cases are in each status (drafts left out); every status is present.

    One grouped query over every case (about 15 ms at 100,000), so kept for a
    minute and forgotten as soon as a case changes status in this firm
    (`forget_state_counts`, on `signals.case_status_changed`).
    """
    cached = cache.get(STATE_COUNTS_KEY)
    if cached is not None:
        return dict(cached)
    rows = Case.objects.exclude(status=Status.DRAFT).values("status").annotate(count=Count("id")).order_by()
    counts = {status: 0 for status in Status.values if status != Status.DRAFT}
    counts.update({row["status"]: row["count"] for row in rows})
    cache.set(STATE_COUNTS_KEY, counts, STATE_COUNTS_SECONDS)
    return counts


def forget_state_counts(**_kwargs: Any) -> None:
    """Signal receiver: a case of this firm changed status."""
    cache.delete(STATE_COUNTS_KEY)


def deadline_counts(today: datetime.date | None = None) -> dict[str, int]:
    """Cases overdue and cases due within the week (next deadline), in one query."""
    today = today or timezone.localdate()
    return Case.objects.exclude(status=Status.DRAFT).aggregate(
        overdue=Count("id", filter=Q(next_due_on__lt=today)),
        due_this_week=Count("id", filter=Q(next_due_on__gte=today, next_due_on__lte=week_end(today))),
    )


def case_for_staff(reference: str) -> Case | None:
    """One received case by its reference, with its timeline, documents and messages (staff see every channel)."""
    return (
        Case.objects.exclude(status=Status.DRAFT)
        .select_related("member", "assignee")
        .prefetch_related(
            Prefetch("events", queryset=CaseEvent.objects.select_related("by").order_by("at", "pk")),
            Prefetch("documents", queryset=CaseDocument.objects.select_related("uploaded_by").order_by("created_at")),
            Prefetch("messages", queryset=CaseMessage.objects.order_by("created_at", "pk")),
        )
        .filter(reference=reference)
        .first()
    )


def case_document(*, case: Case, pk: int) -> CaseDocument | None:
    return CaseDocument.objects.filter(case=case, pk=pk).first()


def case_handlers() -> QuerySet[User]:
    """Active staff whose role holds cases.handle: who may be assigned a case."""
    roles = [role for role, perms in ROLE_PERMISSIONS.items() if Perm.CASES_HANDLE in perms]
    return User.objects.filter(is_active=True, role__in=roles).order_by("last_name", "first_name", "email")


def postal_draft(*, pk: int) -> Case | None:
    """A postal filing kept as a draft after a refused submission (the form resumes it)."""
    return Case.objects.filter(pk=pk, status=Status.DRAFT, source=Case.Source.POSTAL).first()


def members_for_choice() -> QuerySet[Member]:
    return Member.objects.only("pk", "legal_name", "trade_name", "siren").order_by("legal_name", "pk")


# --- Keyset pages of the inbox ------------------------------------------------------------------
#
# A page starts after the last row of the previous one (its sort key and id, in an opaque cursor), so
# the 2,000th page costs what the first does: PostgreSQL walks the sort's index from that key instead
# of counting OFFSET rows. Only "next" and "back to the first page" are offered.


def _encode_cursor(sort: str, case: Case) -> str:
    if sort == "-received":
        key = case.received_at.isoformat() if case.received_at else None
    else:
        key = case.next_due_on.isoformat() if case.next_due_on else None
    raw = json.dumps([sort, key, case.pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[Any, int] | None:
    """(sort key, id) of a cursor made for `sort`; None when it is not one (then the first page is shown)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        made_for, key, pk = json.loads(raw)
        if made_for != sort or not isinstance(pk, int):
            return None
        if key is None:
            return None, pk
        if sort == "-received":
            return datetime.datetime.fromisoformat(key), pk
        return datetime.date.fromisoformat(key), pk
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        return None


def _row_after(columns: str, operator: str, key: Any, pk: int) -> RawSQL:
    # A row comparison that PostgreSQL answers from the (key, id) index; the ORM has no lookup for it.
    return RawSQL(f"({columns}, cases_case.id) {operator} (%s, %s)", (key, pk), output_field=BooleanField())  # noqa: S611


def inbox_page(queryset: QuerySet[Case], *, sort: str, cursor: str | None, size: int) -> tuple[list[Case], str | None]:
    """One page of the (ordered) inbox queryset after `cursor`, and the cursor of the next page (or None)."""
    sort = sort if sort in SORTS else DEFAULT_SORT
    position = _decode_cursor(cursor, sort) if cursor else None
    if position is None:
        rows = list(queryset[: size + 1])
    elif sort == "-received":
        key, pk = position
        rows = list(queryset.filter(_row_after("cases_case.received_at", "<", key, pk))[: size + 1])
    else:
        key, pk = position
        if key is None:  # already among the cases without a deadline, last in this sort
            rows = list(queryset.filter(next_due_on__isnull=True, id__gt=pk)[: size + 1])
        else:
            rows = list(queryset.filter(_row_after("cases_case.next_due_on", ">", key, pk))[: size + 1])
            if len(rows) <= size:  # then the cases without a deadline, which come last
                rows += list(queryset.filter(next_due_on__isnull=True)[: size + 1 - len(rows)])
    has_next = len(rows) > size
    rows = rows[:size]
    return rows, (_encode_cursor(sort, rows[-1]) if has_next and rows else None)
