"""The platform-wide "which firm covers this business" index (public schema).

Each firm writes its own rows (`upsert`, `remove`, `replace_for_tenant`) from
its memberships (`mediation.members.coverage_sync`); the platform host reads
them (`search`). Only what a member business must show anyway (R616-1) is
kept: its name, SIREN, the firm and until when.

Every function here works on the public schema explicitly, whatever schema the
connection is on when it is called (a firm's request, its Celery task).
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from core import links
from tenants.models import CoveredBusiness, Domain, Tenant

# A page of results; a business name shared by more is refined by the searcher (or searched by SIREN).
MAX_RESULTS = 50
MIN_NAME_LENGTH = 2
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_SIREN_SEPARATORS = re.compile(r"[\s.\-]+")
UPDATED_FIELDS = ("name", "trade_name", "search_text", "covered_until", "updated_at")


@dataclass(frozen=True)
class IndexRow:
    """What a firm publishes about one covered member."""

    siren: str
    name: str
    trade_name: str
    covered_until: datetime.date


@dataclass(frozen=True)
class Found:
    """One search result: a business, the firm that covers it, and until when."""

    siren: str
    name: str
    trade_name: str
    covered_until: datetime.date
    firm_name: str
    firm_url: str | None

    @property
    def siren_display(self) -> str:
        """`123456789` → `123 456 789`, as it is printed on invoices."""
        return f"{self.siren[:3]} {self.siren[3:6]} {self.siren[6:]}"


# --- Text -----------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Lower case, accents and punctuation removed, single spaces: `L'Été Café` → `l ete cafe`."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(char for char in decomposed if not unicodedata.combining(char)).lower()
    return _NOT_WORD.sub(" ", bare.replace("œ", "oe").replace("æ", "ae")).strip()


def search_text(*, name: str, trade_name: str = "") -> str:
    text = normalise(name)
    trade = normalise(trade_name)
    if trade and trade != text:
        text = f"{text} {trade}"
    return text[: CoveredBusiness._meta.get_field("search_text").max_length]


def compact_siren(query: str) -> str:
    """`123 456 789` or `123.456.789` → `123456789`; anything else comes back without separators."""
    return _SIREN_SEPARATORS.sub("", query or "")


def is_siren_query(query: str) -> bool:
    compact = compact_siren(query)
    return len(compact) == 9 and compact.isdigit()


# --- Writes (from each firm) -------------------------------------------------------------------


@contextmanager
def _public() -> Iterator[None]:
    # Already on public (the platform host): no `SET search_path` round trip.
    if getattr(connection, "schema_name", None) == get_public_schema_name():
        yield
        return
    with schema_context(get_public_schema_name()):
        yield


def lock(*, tenant: Tenant) -> None:
    """Serialises the writers of one firm's rows until the end of the caller's transaction.

    A member's sync and the nightly rebuild of the same firm would otherwise
    race: the rebuild's snapshot, read before a member became covered, could
    delete the row that member's sync had just written. Each takes this lock
    before it reads the firm's data.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"coverage-index:{tenant.pk}"])


def _row_fields(row: IndexRow) -> dict[str, object]:
    return {
        "name": row.name[:200],
        "trade_name": row.trade_name[:200],
        "search_text": search_text(name=row.name, trade_name=row.trade_name),
        "covered_until": row.covered_until,
    }


def upsert(*, tenant: Tenant, siren: str, name: str, trade_name: str, covered_until: datetime.date) -> CoveredBusiness:
    """Records that `tenant` covers the business `siren` until `covered_until` (inclusive)."""
    fields = _row_fields(IndexRow(siren=siren, name=name, trade_name=trade_name, covered_until=covered_until))
    with _public():
        entry, _created = CoveredBusiness.objects.update_or_create(tenant=tenant, siren=siren, defaults=fields)
    return entry


def remove(*, tenant: Tenant, siren: str) -> int:
    """`tenant` no longer covers `siren`; the number of rows removed (0 or 1)."""
    with _public():
        deleted, _ = CoveredBusiness.objects.filter(tenant=tenant, siren=siren).delete()
    return deleted


@transaction.atomic
def replace_for_tenant(*, tenant: Tenant, rows: Iterable[IndexRow]) -> dict[str, int]:
    """Makes `tenant`'s rows exactly `rows`: adds the missing, updates the changed, removes the stale."""
    wanted = {row.siren: row for row in rows}
    counts = {"added": 0, "updated": 0, "removed": 0, "unchanged": 0}
    with _public():
        existing = {entry.siren: entry for entry in CoveredBusiness.objects.filter(tenant=tenant).order_by()}
        stale = [entry.pk for siren, entry in existing.items() if siren not in wanted]
        if stale:
            counts["removed"], _ = CoveredBusiness.objects.filter(pk__in=stale).delete()
        new, changed = [], []
        for siren, row in wanted.items():
            fields = _row_fields(row)
            entry = existing.get(siren)
            if entry is None:
                new.append(CoveredBusiness(tenant=tenant, siren=siren, **fields))
            elif any(getattr(entry, name) != value for name, value in fields.items()):
                for name, value in fields.items():
                    setattr(entry, name, value)
                entry.updated_at = timezone.now()
                changed.append(entry)
            else:
                counts["unchanged"] += 1
        CoveredBusiness.objects.bulk_create(new, batch_size=1000)
        CoveredBusiness.objects.bulk_update(changed, list(UPDATED_FIELDS), batch_size=1000)
    counts["added"], counts["updated"] = len(new), len(changed)
    return counts


# --- Platform-side cleanup ------------------------------------------------------------------------


def visible_firms() -> Q:
    """On CoveredBusiness: rows of firms open to the public (not suspended, not closed, real firms)."""
    return Q(tenant__kind=Tenant.Kind.FIRM, tenant__is_active=True, tenant__closed_at__isnull=True)


@transaction.atomic
def drop_inactive_firms() -> int:
    """Removes the rows of firms that are suspended, closed or not firms at all; how many went.

    A reactivated firm's rows come back with its next rebuild (nightly, or on demand).
    """
    with _public():
        deleted, _ = CoveredBusiness.objects.exclude(visible_firms()).delete()
    return deleted


@transaction.atomic
def drop_expired(*, today: datetime.date | None = None) -> int:
    """Removes rows whose validity ended before `today` (they are never shown anyway)."""
    today = today or timezone.localdate()
    with _public():
        deleted, _ = CoveredBusiness.objects.filter(covered_until__lt=today).delete()
    return deleted


# --- Reads (platform host) ---------------------------------------------------------------------------


def firm_url(host: str | None) -> str | None:
    """`https://<host>` with the deployment's scheme and port."""
    return links.base_url(host) if host else None


def search(query: str, *, today: datetime.date | None = None, limit: int = MAX_RESULTS) -> list[Found]:
    """The firms covering the business named or numbered `query` today, in ONE query.

    Nine digits (spaces and dots allowed) search the SIREN exactly; anything
    else searches the names, every word of the query appearing in the name or
    trade name, without regard to case or accents. Rows past their date and
    rows of suspended or closed firms are never returned.
    """
    today = today or timezone.localdate()
    query = (query or "").strip()
    if is_siren_query(query):
        match = Q(siren=compact_siren(query))
    else:
        words = normalise(query).split()
        if len("".join(words)) < MIN_NAME_LENGTH:
            return []
        match = Q()
        for word in words:
            match &= Q(search_text__contains=word)
    primary_domain = Domain.objects.filter(tenant_id=OuterRef("tenant_id"), is_primary=True).values("domain")[:1]
    with _public():
        rows = (
            CoveredBusiness.objects.filter(match, visible_firms(), covered_until__gte=today)
            .annotate(firm_host=Subquery(primary_domain))
            .order_by("name", "tenant__name", "pk")
            .values_list("siren", "name", "trade_name", "covered_until", "tenant__name", "firm_host")[:limit]
        )
        return [
            Found(
                siren=siren,
                name=name,
                trade_name=trade_name,
                covered_until=until,
                firm_name=firm_name,
                firm_url=firm_url(host),
            )
            for siren, name, trade_name, until, firm_name, host in rows
        ]
