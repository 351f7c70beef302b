"""The staff member list with BENCH_MEMBERS (default 50,000) members in one firm.

Pages of the HTML list (50 a page) and of the API (page_size 10 vs 200) are
timed in-process with Django's test client; the query count must not depend
on the page or the page size. The firm `bench_members` is kept in the bench
database between runs.
"""

from __future__ import annotations

import os
import random
import statistics
import time

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


def run() -> list[Record]:
    count = int(os.environ.get("BENCH_MEMBERS", "50000"))
    with bench_database():
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext
        from django_tenants.utils import schema_context

        from accounts.models import User

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
        timings = []
        for page in random.sample(range(1, pages + 1), 30):
            started = time.perf_counter()
            response = client.get(f"/staff/adherents/?page={page}")
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        searched = []
        for term in ("Enseigne 0123", "Lyon", "2000012"):
            started = time.perf_counter()
            assert client.get("/staff/adherents/", {"q": term}).status_code == 200
            searched.append((time.perf_counter() - started) * 1000)
        queries = {}
        for label, url in (
            ("html_first", "/staff/adherents/?page=1"),
            ("html_last", f"/staff/adherents/?page={pages}"),
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
        Record("members.list.search_median", statistics.median(searched), "ms"),
        Record("members.list.queries_first_page", queries["html_first"], "queries"),
        Record("members.list.queries_last_page", queries["html_last"], "queries", baseline=queries["html_first"]),
        Record("members.api.queries_page_size_200", queries["api_200"], "queries", baseline=queries["api_10"]),
    ]
