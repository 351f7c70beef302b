"""Reads of members, contacts and groups: the querysets every page, export and endpoint use."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, Exists, F, Func, OuterRef, Prefetch, Q, QuerySet, Value
from django.db.models.lookups import GreaterThan, LessThan

from core.models import AuditEntry
from mediation.members.models import Contact, Group, Member, Membership

# What the list may be sorted by: the query parameter → the ordering (pk last, so pages never overlap).
# Each ordering runs one way only and has a btree index in that order (members 0001 and 0004), so a
# keyset page is one index range scan whatever its depth.
SORTS: dict[str, tuple[str, ...]] = {
    "name": ("legal_name", "pk"),
    "-name": ("-legal_name", "-pk"),
    "siren": ("siren",),
    "city": ("city", "legal_name", "pk"),
    "status": ("status", "legal_name", "pk"),
    "-created": ("-created_at", "-pk"),
}
DEFAULT_SORT = "name"

# The list's count is exact up to this many matches; beyond, it says "more than" (a capped count).
COUNT_CAP = 10_000
CURSOR_SALT = "members.list.cursor"


@dataclass(frozen=True)
class MemberFilters:
    search: str = ""
    status: str = ""
    sector: str = ""
    group: Group | None = None
    headcount_band: str = ""
    # The end of the member's renewal term (see `_renewal_between`), both bounds included.
    renewal_from: datetime.date | None = None
    renewal_to: datetime.date | None = None
    sort: str = DEFAULT_SORT


def _search_filter(search: str) -> Q:
    # `icontains` is UPPER(col::text) LIKE UPPER('%…%'): the GIN trigram indexes of members 0004 are
    # built on that expression (3 characters or more).
    query = Q(legal_name__icontains=search) | Q(trade_name__icontains=search) | Q(city__icontains=search)
    digits = re.sub(r"[\s.]", "", search)
    if digits.isdigit():
        # A SIREN (or a SIRET) typed with or without spaces: its first digits are enough (btree prefix scans).
        query |= Q(siren__startswith=digits[:9]) | Q(siret__startswith=digits)
    return query


def _renewal_between(start: datetime.date | None, end: datetime.date | None) -> Exists:
    """Members whose renewal date falls in [start, end].

    The renewal date is the end of the member's last term still running its course: a membership
    not terminated, not already followed by another (a term renewed in advance is not due).
    """
    terms = Membership.objects.filter(member=OuterRef("pk"), terminated_at__isnull=True)
    if start is not None:
        terms = terms.filter(ends_on__gte=start)
    if end is not None:
        terms = terms.filter(ends_on__lte=end)
    followed = Membership.objects.filter(
        member=OuterRef("member"), terminated_at__isnull=True, starts_on__gt=OuterRef("ends_on")
    )
    return Exists(terms.filter(~Exists(followed)))


def members(filters: MemberFilters | None = None) -> QuerySet[Member]:
    """Members matching `filters`, sorted; the group comes in the same query."""
    filters = filters or MemberFilters()
    queryset = Member.objects.select_related("group")
    if filters.search.strip():
        queryset = queryset.filter(_search_filter(filters.search.strip()))
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.sector:
        queryset = queryset.filter(sector=filters.sector)
    if filters.group is not None:
        queryset = queryset.filter(group=filters.group)
    if filters.headcount_band:
        queryset = queryset.filter(headcount_band=filters.headcount_band)
    if filters.renewal_from is not None or filters.renewal_to is not None:
        queryset = queryset.filter(_renewal_between(filters.renewal_from, filters.renewal_to))
    return queryset.order_by(*SORTS.get(filters.sort, SORTS[DEFAULT_SORT]))


# --- Keyset pages of the staff list --------------------------------------------------------------------


class _Row(Func):
    """A row value `(a, b, c)`: PostgreSQL compares row values column by column, as an index is ordered."""

    function = ""
    template = "(%(expressions)s)"
    output_field = models.Field()


@dataclass(frozen=True)
class MemberPage:
    """One page of the list: its rows and the opaque cursors of the neighbouring pages."""

    object_list: list[Member]
    next_cursor: str = ""
    previous_cursor: str = ""
    # The last page, read backwards from the end (the first page is the list without a cursor).
    last_cursor: str = ""

    @property
    def has_next(self) -> bool:
        return bool(self.next_cursor)

    @property
    def has_previous(self) -> bool:
        return bool(self.previous_cursor)

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous


def _field(name: str) -> models.Field:
    field = Member._meta.get_field(name)
    assert isinstance(field, models.Field)  # sort keys are concrete columns
    return field


def _sort_of(filters: MemberFilters) -> str:
    return filters.sort if filters.sort in SORTS else DEFAULT_SORT


def _key_fields(sort: str) -> tuple[list[str], bool]:
    """The model fields of a sort's key and whether it runs descending."""
    ordering = SORTS[sort]
    names = [name.lstrip("-") for name in ordering]
    return [Member._meta.pk.name if name == "pk" else name for name in names], ordering[0].startswith("-")


def _key_of(member: Member, names: list[str]) -> list[Any]:
    values = [getattr(member, name) for name in names]
    return [value.isoformat() if isinstance(value, datetime.datetime | datetime.date) else value for value in values]


def _cursor(sort: str, direction: str, key: list[Any] | None) -> str:
    return signing.dumps({"s": sort, "d": direction, "k": key}, salt=CURSOR_SALT)


def _decode(cursor: str, sort: str) -> tuple[str, list[Any] | None] | None:
    """(direction, key) of a cursor made for `sort`; None for anything else (tampered, stale, other sort)."""
    if not cursor:
        return None
    try:
        data = signing.loads(cursor, salt=CURSOR_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(data, dict) or data.get("s") != sort or data.get("d") not in ("next", "prev"):
        return None
    names, _descending = _key_fields(sort)
    raw = data.get("k")
    if raw is None:
        return data["d"], None
    if not isinstance(raw, list) or len(raw) != len(names):
        return None
    try:
        key = [_field(name).to_python(value) for name, value in zip(names, raw, strict=True)]
    except ValidationError:  # signed by an older version of this code: start over
        return None
    return data["d"], key


def _after(names: list[str], key: list[Any], *, descending: bool) -> Any:
    """Rows strictly after `key` in the sort's order (before it when `descending`)."""
    lhs = _Row(*[F(name) for name in names])
    rhs = _Row(*[Value(value, output_field=_field(name)) for name, value in zip(names, key, strict=True)])
    return LessThan(lhs, rhs) if descending else GreaterThan(lhs, rhs)


def member_page(
    filters: MemberFilters | None = None,
    *,
    cursor: str = "",
    page: str | int | None = None,
    size: int = 50,
    fall_back: bool = True,
) -> MemberPage:
    """A page of `members(filters)` by keyset: deep pages cost what the first one costs.

    `cursor` comes from a previous page's next/previous link (opaque, signed, bound to the sort);
    without one, `page` (old `?page=N` links) is served by OFFSET once, the links it gives are cursors.
    One query for the rows, a second only when a stale cursor lands past either end (the staff page
    then shows the last or first page; `fall_back=False`, for the API, answers the empty page instead:
    a client walking the list must not see rows twice).
    """
    filters = filters or MemberFilters()
    sort = _sort_of(filters)
    names, descending = _key_fields(sort)
    queryset = members(filters)
    decoded = _decode(cursor, sort)
    if decoded is None:
        offset = max(_page_number(page) - 1, 0) * size
        rows = list(queryset[offset : offset + size + 1])
        if not rows and offset:
            return _page(queryset, sort, names, descending, "prev", None, size)  # past the end: the last page
        return _assemble(sort, names, rows, size, forward=True, more_before=offset > 0)
    direction, key = decoded
    result = _page(queryset, sort, names, descending, direction, key, size)
    if not result.object_list and key is not None and fall_back:
        # The rows around a stale cursor were deleted: show the last (or the first) page instead.
        fallback = "prev" if direction == "next" else "next"
        return _page(queryset, sort, names, descending, fallback, None, size)
    return result


def _page_number(page: str | int | None) -> int:
    """An old link's page number, 1 when unreadable; bounded so that the OFFSET fits a bigint."""
    try:
        return min(max(int(page or 1), 1), 10_000_000)
    except (TypeError, ValueError):
        return 1


def _page(
    queryset: QuerySet[Member],
    sort: str,
    names: list[str],
    descending: bool,
    direction: str,
    key: list[Any] | None,
    size: int,
) -> MemberPage:
    forward = direction == "next"
    if key is not None:
        queryset = queryset.filter(_after(names, key, descending=descending if forward else not descending))
    if not forward:
        queryset = queryset.reverse()
    rows = list(queryset[: size + 1])
    return _assemble(sort, names, rows, size, forward=forward, more_before=key is not None)


def _assemble(
    sort: str, names: list[str], rows: list[Member], size: int, *, forward: bool, more_before: bool
) -> MemberPage:
    """`rows` holds up to size + 1 rows read in the walking direction; `more_before` says rows lie behind."""
    more_ahead = len(rows) > size
    rows = rows[:size]
    if not forward:
        rows.reverse()
    has_next, has_previous = (more_ahead, more_before) if forward else (more_before, more_ahead)
    return MemberPage(
        object_list=rows,
        next_cursor=_cursor(sort, "next", _key_of(rows[-1], names)) if has_next and rows else "",
        previous_cursor=_cursor(sort, "prev", _key_of(rows[0], names)) if has_previous and rows else "",
        last_cursor=_cursor(sort, "prev", None) if has_next else "",
    )


def cursor_is_valid(cursor: str, *, sort: str = DEFAULT_SORT) -> bool:
    """Whether `cursor` is a next/previous link of this list for `sort` (the API refuses any other one,
    where `member_page` would quietly start over at the first page)."""
    return _decode(cursor, sort if sort in SORTS else DEFAULT_SORT) is not None


def page_cursor(*, member: Member, sort: str = DEFAULT_SORT) -> str:
    """The cursor of the page that starts right after `member` in `sort`'s order (a "next" link)."""
    sort = sort if sort in SORTS else DEFAULT_SORT
    names, _descending = _key_fields(sort)
    return _cursor(sort, "next", _key_of(member, names))


def member_count(filters: MemberFilters | None = None, *, cap: int | None = None) -> tuple[int, bool]:
    """How many members match, counted up to `cap` (COUNT_CAP): (count, True) when there are more than `cap`."""
    cap = COUNT_CAP if cap is None else cap
    found = members(filters).order_by().values("pk")[: cap + 1].count()
    return min(found, cap), found > cap


def member(*, pk: int) -> Member | None:
    return (
        Member.objects.select_related("group")
        .prefetch_related(
            Prefetch("contacts", queryset=Contact.objects.order_by("-is_active", "last_name", "first_name", "pk"))
        )
        .filter(pk=pk)
        .first()
    )


def contact(*, member: Member, pk: int) -> Contact | None:
    return Contact.objects.filter(member=member, pk=pk).first()


def member_history(*, member: Member, limit: int = 100) -> QuerySet[AuditEntry]:
    """The member's audit rows, newest first (contact events are recorded on the member)."""
    return AuditEntry.objects.filter(object_type=Member._meta.label_lower, object_id=str(member.pk))[:limit]


def groups() -> QuerySet[Group]:
    return Group.objects.annotate(member_count=Count("members")).order_by("name")


def group(*, pk: int) -> Group | None:
    return Group.objects.filter(pk=pk).first()


def member_cases(*, member: Member, limit: int) -> list[Any]:
    """The member's latest cases (drafts left out), newest first, for its page."""
    return list(member.cases.exclude(status="draft").select_related("assignee").order_by("-received_at", "-pk")[:limit])
