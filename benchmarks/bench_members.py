"""The staff member list with BENCH_MEMBERS (default 50,000) members in one firm.

Pages of the HTML list (50 a page) and of the API (page_size 10 vs 200) are
timed in-process with Django's test client; the query count must not depend
on the page or the page size. The list pages by keyset: a page at depth N is
what its "next" link opens (a cursor on the row before it), so random pages
are timed through cursors made for random rows; old `?page=N` links (OFFSET)
are timed apart. A third of the members have a membership term, for the
renewal-date filter. The firm `bench_members` is kept in the bench database
between runs.
"""

from __future__ import annotations

import datetime
import os
import random
import statistics
import time
from urllib.parse import quote

from benchmarks.harness import Record, bench_database

SCHEMA = "bench_members"
HOST = "bench-members.localhost"


def _siren(n: int) -> str:
    from stdnum import luhn

    base = f"{20_000_000 + n:08d}"
    return base + luhn.calc_check_digit(base)


def _ensure_firm_with_members(count: int) -> None:
    from django.db import connection, transaction
    from django_tenants.utils import schema_context

    from mediation.members.models import Member
    from tenants import provisioning
    from tenants.models import Domain, Tenant

    connection.set_schema_to_public()
    if not Tenant.objects.filter(schema_name=SCHEMA).exists():
        provisioning.ensure_template()
        with transaction.atomic():
            tenant, _ = provisioning.create_firm_schema(schema_name=SCHEMA, name="Bench members")
            Domain.objects.create(domain=HOST, tenant=tenant, is_primary=True)
    with schema_context(SCHEMA):
        present = Member.objects.count()
        sectors = [choice for choice, _ in Member._meta.get_field("sector").choices]
        statuses = [choice for choice, _ in Member.Status.choices]
        started = time.monotonic()
        for start in range(present, count, 5000):
            Member.objects.bulk_create(
                Member(
                    legal_name=f"Entreprise {n:06d} SARL",
                    trade_name=f"Enseigne {n:06d}",
                    siren=_siren(n),
                    postcode=f"{75000 + n % 20:05d}",
                    city=random.choice(["Paris", "Lyon", "Lille", "Nantes", "Toulouse"]),
                    sector=sectors[n % len(sectors)],
                    status=statuses[n % len(statuses)],
                )
                for n in range(start, min(start + 5000, count))
            )
            print(f"   {min(start + 5000, count)}/{count} members ({time.monotonic() - started:.0f} s)", flush=True)
        _ensure_memberships()


def _ensure_memberships() -> None:
    """One term for every third member, ending on a day spread over the coming year."""
    from django.db import connection

    from mediation.members.models import Member, Membership

    if Membership.objects.exists():
        return
    today = datetime.date.today()
    ids = list(Member.objects.order_by("pk").values_list("pk", flat=True)[::3])
    for start in range(0, len(ids), 5000):
        Membership.objects.bulk_create(
            Membership(
                member_id=pk,
                starts_on=today - datetime.timedelta(days=365 - (pk % 365)),
                ends_on=today + datetime.timedelta(days=pk % 365),
            )
            for pk in ids[start : start + 5000]
        )
    print(f"   {len(ids)} membership terms", flush=True)
    with connection.cursor() as cursor:  # fresh rows: give the planner their statistics, as autovacuum would
        cursor.execute("ANALYZE members_member")
        cursor.execute("ANALYZE members_membership")


def _timed(client: object, url: str, params: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    response = client.get(url, params or {})  # type: ignore[attr-defined]
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def run() -> list[Record]:
    count = int(os.environ.get("BENCH_MEMBERS", "50000"))
    with bench_database():
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext
        from django_tenants.utils import schema_context

        from accounts.models import User
        from mediation.members import selectors
        from mediation.members.models import Member

        _ensure_firm_with_members(count)
        with schema_context(SCHEMA):
            user = User.objects.filter(email="bench@members.fr").first() or User.objects.create_user(
                "bench@members.fr", "bench-members-password", role=User.Role.CASE_OFFICER
            )
        client = Client(HTTP_HOST=HOST)
        with schema_context(SCHEMA):  # the session and last_login live in the firm's schema
            client.force_login(user)
        pages = count // 50
        assert client.get("/staff/adherents/").status_code == 200  # warm-up
        with schema_context(SCHEMA):
            # The row before each sampled page, read once (untimed): its cursor is that page's "next" link.
            sampled = random.sample(range(1, pages), 30)
            deep = random.sample(range(pages * 9 // 10, pages), 10)
            ordered = Member.objects.order_by("legal_name", "pk")
            cursors = {n: selectors.page_cursor(member=ordered[n * 50 - 1]) for n in {*sampled, *deep}}
            last_cursor = selectors.member_page(selectors.MemberFilters()).last_cursor
        timings = [_timed(client, "/staff/adherents/", {"cursor": cursors[n]}) for n in sampled]
        deep_timings = [_timed(client, "/staff/adherents/", {"cursor": cursors[n]}) for n in deep]
        legacy = [_timed(client, f"/staff/adherents/?page={n}") for n in random.sample(range(1, pages + 1), 10)]
        terms = {"name": "Enseigne 0123", "city": "Lyon", "siren": "2000012"}
        by_term = {
            label: [_timed(client, "/staff/adherents/", {"q": term}) for _ in range(5)] for label, term in terms.items()
        }
        searched = [statistics.median(values) for values in by_term.values()]
        today = datetime.date.today()
        renewal = [
            _timed(
                client,
                "/staff/adherents/",
                {
                    "renewal_from": str(today + datetime.timedelta(days=30)),
                    "renewal_to": str(today + datetime.timedelta(days=90)),
                },
            )
            for _ in range(5)
        ]
        queries = {}
        for label, url in (
            ("html_first", "/staff/adherents/"),
            ("html_deep", f"/staff/adherents/?cursor={quote(cursors[deep[0]])}"),
            ("html_last", f"/staff/adherents/?cursor={quote(last_cursor)}"),
            ("api_10", "/api/v1/members/?page_size=10"),
            ("api_200", "/api/v1/members/?page_size=200"),
        ):
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url).status_code == 200
            queries[label] = len(captured)
    p95 = statistics.quantiles(timings, n=20)[18]
    return [
        Record("members.list.members", count, "members"),
        Record("members.list.page_p50", statistics.median(timings), "ms"),
        Record("members.list.page_p95", p95, "ms"),
        Record(
            "members.list.deep_page_p50", statistics.median(deep_timings), "ms", baseline=statistics.median(timings)
        ),
        Record("members.list.legacy_offset_page_p50", statistics.median(legacy), "ms"),
        Record("members.list.search_median", statistics.median(searched), "ms"),
        Record("members.list.search_name_fragment_ms", statistics.median(by_term["name"]), "ms"),
        Record("members.list.search_city_ms", statistics.median(by_term["city"]), "ms"),
        Record("members.list.search_siren_prefix_ms", statistics.median(by_term["siren"]), "ms"),
        Record("members.list.renewal_filter_ms", statistics.median(renewal), "ms"),
        Record("members.list.queries_first_page", queries["html_first"], "queries"),
        Record("members.list.queries_last_page", queries["html_last"], "queries", baseline=queries["html_first"]),
        Record("members.list.queries_deep_page", queries["html_deep"], "queries", baseline=queries["html_first"]),
        Record("members.api.queries_page_size_200", queries["api_200"], "queries", baseline=queries["api_10"]),
    ]
