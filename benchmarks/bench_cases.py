"""The cases at volume: the staff inbox and case page with BENCH_CASES (default 100,000) cases in one firm,
and a filing submitted by BENCH_FILERS (default 50) consumers at once.

The firm `bench_cases` is filled once by `manage.py seed_volume` and kept in the
bench database between runs. Pages are timed in-process with Django's test
client; the query count must not depend on the page. The filing is timed over
HTTP against gunicorn: each consumer resumes a complete draft from its e-mail
link, then all of them post the last step (consent, submit) at the same moment.
"""

from __future__ import annotations

import http.client
import os
import random
import re
import statistics
import threading
import time
from http.cookies import SimpleCookie

from benchmarks.harness import Record, bench_database, gunicorn

SCHEMA = "bench_cases"
HOST = "bench-cases.localhost"


def _ensure_firm_with_cases(count: int) -> None:
    from django.core.management import call_command
    from django.db import connection, transaction

    from tenants import provisioning
    from tenants.models import Domain, Tenant

    connection.set_schema_to_public()
    if not Tenant.objects.filter(schema_name=SCHEMA).exists():
        provisioning.ensure_template()
        with transaction.atomic():
            tenant, _ = provisioning.create_firm_schema(schema_name=SCHEMA, name="Bench cases")
            Domain.objects.create(domain=HOST, tenant=tenant, is_primary=True)
    call_command("seed_volume", cases=count, schema=SCHEMA)  # tops up to `count`; nothing when already there


def _percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _time_pages(client, urls: list[str]) -> list[float]:
    timings = []
    for url in urls:
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return timings


def _drafts(count: int) -> list[str]:
    """Complete drafts ready for the last step; returns their resume tokens."""
    import datetime

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from mediation.cases import services
    from mediation.cases.models import Party
    from mediation.members.models import Member

    tokens = []
    with schema_context(SCHEMA):
        member = Member.objects.filter(status="active").first() or Member.objects.first()
        for n in range(count):
            case, token = services.create_draft(
                member=member,
                consumer_first_name="Bench",
                consumer_last_name=f"Consommateur {n}",
                consumer_email=f"bench{n}@example.org",
                is_consumer=True,
                complained_on=timezone.localdate() - datetime.timedelta(days=10),
                other_proceedings=False,
                subject="delivery",
                description="Colis jamais livré.",
                amount_cents=4990,
                desired_outcome="Remboursement.",
            )
            pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
            upload = SimpleUploadedFile("reclamation.pdf", pdf, content_type="application/pdf")
            services.add_document(case=case, file=upload, party=Party.CONSUMER, kind="complaint")
            tokens.append(token)
    return tokens


class _Browser:
    """A consumer's browser: one keep-alive connection and its cookies."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str = "") -> tuple[int, str, str]:
        headers = {"Host": HOST, "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body or None, headers=headers)
        response = self.conn.getresponse()
        content = response.read().decode("utf-8", errors="replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, response.getheader("Location", ""), content


def _file_at_once(port: int, tokens: list[str]) -> tuple[list[float], int]:
    """Every consumer resumes its draft, then all post the consent at the same moment."""
    barrier = threading.Barrier(len(tokens))
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def consumer(token: str) -> None:
        nonlocal errors
        browser = _Browser(port)
        try:
            status, location, _ = browser.request("GET", f"/deposer/reprendre/{token}/")
            assert status == 302 and location.endswith("/deposer/verification/"), (status, location)
            status, _, page = browser.request("GET", "/deposer/verification/")
            assert status == 200, status
            csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
            assert csrf
            barrier.wait()
            started = time.perf_counter()
            status, location, _ = browser.request(
                "POST", "/deposer/verification/", f"csrfmiddlewaretoken={csrf.group(1)}&consent=on"
            )
            elapsed = (time.perf_counter() - started) * 1000
            ok = status == 302 and location.endswith("/deposer/envoyee/")
        except (AssertionError, OSError, http.client.HTTPException, threading.BrokenBarrierError):
            barrier.abort()
            ok, elapsed = False, 0.0
        with lock:
            if ok:
                latencies.append(elapsed)
            else:
                errors += 1

    threads = [threading.Thread(target=consumer, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


def run() -> list[Record]:
    count = int(os.environ.get("BENCH_CASES", "100000"))
    filers = int(os.environ.get("BENCH_FILERS", "50"))
    rounds = int(os.environ.get("BENCH_FILING_ROUNDS", "3"))
    with bench_database():
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext
        from django_tenants.utils import schema_context

        from accounts.models import User
        from mediation.cases.models import Case

        _ensure_firm_with_cases(count)
        with schema_context(SCHEMA):
            user = User.objects.filter(email="bench@cases.fr").first() or User.objects.create_user(
                "bench@cases.fr", "bench-cases-password", role=User.Role.MEDIATOR
            )
            references = list(
                Case.objects.exclude(reference=None).order_by("?").values_list("reference", flat=True)[:30]
            )
            total = Case.objects.exclude(status="draft").count()
        client = Client(HTTP_HOST=HOST)
        with schema_context(SCHEMA):
            client.force_login(user)
        assert client.get("/staff/dossiers/").status_code == 200  # warm-up
        # Pages start after a cursor (keyset): take cursors at random depths of the default sort.
        with schema_context(SCHEMA):
            from mediation.cases import selectors

            ordered = selectors.inbox_queryset(selectors.InboxFilters(), user)
            depths = sorted(random.sample(range(1, max(2, total - 50)), 30))
            cursors = [selectors._encode_cursor(selectors.DEFAULT_SORT, ordered[d]) for d in depths]
        inbox = _time_pages(client, [f"/staff/dossiers/?after={cursor}" for cursor in cursors])
        filtered = _time_pages(
            client,
            [f"/staff/dossiers/?{query}" for query in ("overdue=on", "due_this_week=on", "status=in_mediation")] * 5
            + [f"/staff/dossiers/?q={ref}" for ref in references[:10]],
        )
        detail = _time_pages(client, [f"/staff/dossiers/{ref}/" for ref in references])
        queries = {}
        for label, url in (("first", "/staff/dossiers/"), ("far", f"/staff/dossiers/?after={cursors[-1]}")):
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url).status_code == 200
            queries[label] = len(captured)

        filing: list[float] = []
        filing_errors = 0
        # Production settings for the server: persistent connections, DEBUG off. Three workers of two
        # threads: on 2 cores this burst's p95 was 391 ms against 398 (4×2), 432 (4×1) and 583 (2×8).
        with gunicorn(workers=3, threads=2, env={"CONN_MAX_AGE": "60", "DEBUG": "false"}) as port:
            _file_at_once(port, _drafts(filers))  # warm-up, not counted: connections and lazy imports
            alone: list[float] = []  # one consumer at a time: the cost of one filing, for scale
            for token in _drafts(15):
                alone += _file_at_once(port, [token])[0]
            for _round in range(rounds):
                latencies, errors = _file_at_once(port, _drafts(filers))
                filing.extend(latencies)
                filing_errors += errors
    return [
        Record("cases.volume", total, "cases"),
        Record("cases.inbox.page_p50", statistics.median(inbox), "ms"),
        Record("cases.inbox.page_p95", _percentile(inbox, 95), "ms"),
        Record("cases.inbox.filtered_p95", _percentile(filtered, 95), "ms"),
        Record("cases.inbox.queries_first_page", queries["first"], "queries"),
        Record("cases.inbox.queries_far_page", queries["far"], "queries", baseline=queries["first"]),
        Record("cases.detail.p50", statistics.median(detail), "ms"),
        Record("cases.detail.p95", _percentile(detail, 95), "ms"),
        Record("cases.filing.submit_alone_p50", statistics.median(alone), "ms"),
        Record("cases.filing.concurrent_users", filers, "users"),
        Record("cases.filing.submit_p50", statistics.median(filing) if filing else float("nan"), "ms"),
        Record("cases.filing.submit_p95", _percentile(filing, 95) if len(filing) > 1 else float("nan"), "ms"),
        Record("cases.filing.errors", filing_errors, "errors"),
    ]
