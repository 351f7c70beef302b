"""Reads of members, contacts and groups: the querysets every page, export and endpoint use."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from core.models import AuditEntry
from mediation.members.models import Contact, Group, Member

# What the list may be sorted by: the query parameter → the ordering (pk last, so pages never overlap).
SORTS: dict[str, tuple[str, ...]] = {
    "name": ("legal_name", "pk"),
    "-name": ("-legal_name", "-pk"),
    "siren": ("siren",),
    "city": ("city", "legal_name", "pk"),
    "status": ("status", "legal_name", "pk"),
    "-created": ("-created_at", "-pk"),
}
DEFAULT_SORT = "name"


@dataclass(frozen=True)
class MemberFilters:
    search: str = ""
    status: str = ""
    sector: str = ""
    group: Group | None = None
    headcount_band: str = ""
    sort: str = DEFAULT_SORT


def _search_filter(search: str) -> Q:
    query = Q(legal_name__icontains=search) | Q(trade_name__icontains=search) | Q(city__icontains=search)
    digits = re.sub(r"[\s.]", "", search)
    if digits.isdigit():
        # A SIREN (or a SIRET) typed with or without spaces: its first digits are enough.
        query |= Q(siren__startswith=digits[:9]) | Q(siret__startswith=digits)
    return query


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
    return queryset.order_by(*SORTS.get(filters.sort, SORTS[DEFAULT_SORT]))


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
