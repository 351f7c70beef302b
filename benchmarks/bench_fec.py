"""The FEC of a year with BENCH_FEC_LINES (default 100,000) lines, and the invoices CSV at 100,000 rows.

In the firm `bench_fec` of the bench database (kept between runs), built with
bulk_create: 2,000 members; in 2025, LINES / 5 invoices of one line at 20 %,
each paid by one transfer (3 sales lines + 2 bank lines = 5 FEC lines per
invoice); in 2024, enough more invoices (with their lines) for the invoices
export to reach 100,000 rows.

Measured through the real views (Django's test client, in-process), the
response consumed chunk by chunk as a browser would: the time to stream the
whole file (target: under 5 s for 100,000 lines), and the peak growth of the
process's resident memory while streaming, sampled at every chunk (flat: it
must not grow with the file). tracemalloc's peak of Python allocations is
reported for the year against one month (ratio ≈ 1 when memory is flat).
Figures are medians of 3 runs.
"""

from __future__ import annotations

import datetime
import os
import statistics
import time
import tracemalloc
from decimal import Decimal

from benchmarks.harness import Record, bench_database

SCHEMA = "bench_fec"
HOST = "bench-fec.localhost"
MEMBERS = 2_000
CSV_ROWS = 100_000
BATCH = 5_000
YEAR = 2025
PAGE = os.sysconf("SC_PAGE_SIZE")


def _siren(n: int) -> str:
    from stdnum import luhn

    base = f"{40_000_000 + n:08d}"
    return base + luhn.calc_check_digit(base)


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 2**20


def _invoices(year: int, count: int, first_member: int, members: int, *, paid: bool) -> None:
    """`count` issued invoices of `year` (one line of 300 € + 20 % VAT each), paid by transfer when `paid`."""
    from django.utils import timezone

    from billing.models import Invoice, InvoiceLine, Payment

    start = datetime.date(year, 1, 1)
    status = Invoice.Status.PAID if paid else Invoice.Status.ISSUED
    for offset in range(0, count, BATCH):
        numbers = range(offset + 1, min(offset + BATCH, count) + 1)
        invoices = Invoice.objects.bulk_create(
            Invoice(
                kind=Invoice.Kind.INVOICE,
                status=status,
                purpose=Invoice.Purpose.MEMBERSHIP,
                number=f"FA-{year}-{n:06d}",
                series="F",
                sequence=n,
                member_id=first_member + n % members,
                issue_date=start + datetime.timedelta(days=n * 365 // (count + 1)),
                due_date=start + datetime.timedelta(days=n * 365 // (count + 1) + 30),
                issued_at=timezone.now(),
                net_cents=30_000,
                vat_cents=6_000,
                gross_cents=36_000,
                paid_cents=36_000 if paid else 0,
                buyer={"name": f"Entreprise {n % members:05d}"},
            )
            for n in numbers
        )
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice,
                position=1,
                label="Adhésion annuelle",
                quantity=Decimal(1),
                unit_price_cents=30_000,
                vat_rate=Decimal("20.00"),
                net_cents=30_000,
            )
            for invoice in invoices
        )
        if paid:
            Payment.objects.bulk_create(
                Payment(
                    invoice=invoice,
                    amount_cents=36_000,
                    method=Payment.Method.TRANSFER,
                    received_on=min(invoice.issue_date + datetime.timedelta(days=12), datetime.date(year, 12, 31)),  # type: ignore[operator]
                    reference=f"VIR {invoice.number}",
                )
                for invoice in invoices
            )
        print(f"   {year}: {numbers[-1]}/{count} invoices", flush=True)


def _ensure_data(lines: int) -> None:
    from django.db import connection, transaction
    from django_tenants.utils import schema_context

    from billing.models import Invoice, Payment
    from firm.models import FirmProfile
    from mediation.members.models import Member
    from tenants import provisioning
    from tenants.models import Domain, Tenant

    connection.set_schema_to_public()
    if not Tenant.objects.filter(schema_name=SCHEMA).exists():
        provisioning.ensure_template()
        with transaction.atomic():
            tenant, _ = provisioning.create_firm_schema(schema_name=SCHEMA, name="Bench FEC")
            Domain.objects.create(domain=HOST, tenant=tenant, is_primary=True)
    with schema_context(SCHEMA):
        FirmProfile.objects.update_or_create(
            pk=FirmProfile.SINGLETON_PK, defaults={"legal_name": "Bench FEC SAS", "siren": "732829320"}
        )
        if Member.objects.count() < MEMBERS:
            Member.objects.bulk_create(
                Member(legal_name=f"Entreprise {n:05d} SARL", siren=_siren(n), city="Lyon") for n in range(MEMBERS)
            )
        first_member = Member.objects.order_by("pk").values_list("pk", flat=True).first() or 0
        per_year = lines // 5
        if Invoice.objects.filter(issue_date__year=YEAR).count() != per_year:  # another size asked: rebuild
            Payment.objects.all().delete()
            Invoice.objects.all().delete()
        if not Invoice.objects.exists():
            _invoices(YEAR, per_year, first_member, MEMBERS, paid=True)
            _invoices(YEAR - 1, max(CSV_ROWS - per_year, 0), first_member, MEMBERS, paid=False)
            with connection.cursor() as cursor:  # fresh rows: give the planner their statistics
                for table in ("billing_invoice", "billing_invoiceline", "billing_payment", "members_member"):
                    cursor.execute(f"ANALYZE {table}")


def _stream(client: object, url: str, params: dict[str, str]) -> tuple[float, float, int, int]:
    """(seconds, peak RSS growth in MB, bytes, lines) of one download consumed chunk by chunk."""
    before = _rss_mb()
    peak = before
    started = time.perf_counter()
    response = client.get(url, params)  # type: ignore[attr-defined]
    assert response.status_code == 200, (url, response.status_code)
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
        peak = max(peak, _rss_mb())
    response.close()
    return time.perf_counter() - started, peak - before, size, lines


def _python_peak(client: object, url: str, params: dict[str, str]) -> float:
    tracemalloc.start()
    try:
        response = client.get(url, params)  # type: ignore[attr-defined]
        for _chunk in response.streaming_content:
            pass
        response.close()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def run() -> list[Record]:
    lines = int(os.environ.get("BENCH_FEC_LINES", "100000"))
    with bench_database():
        from django.test import Client
        from django_tenants.utils import schema_context

        from accounts.models import User

        _ensure_data(lines)
        with schema_context(SCHEMA):
            user = User.objects.filter(email="bench@fec.fr").first() or User.objects.create_user(
                "bench@fec.fr", "bench-fec-password", role=User.Role.FINANCE
            )
        client = Client(HTTP_HOST=HOST)
        with schema_context(SCHEMA):
            client.force_login(user)
        fec_url = "/staff/facturation/exports/fec/"
        year = {"start": f"{YEAR}-01-01", "end": f"{YEAR}-12-31"}
        month = {"start": f"{YEAR}-03-01", "end": f"{YEAR}-03-31"}
        _stream(client, fec_url, month)  # warm-up
        runs = [_stream(client, fec_url, year) for _ in range(3)]
        fec_lines = runs[0][3] - 1  # the header
        seconds = statistics.median(r[0] for r in runs)
        rss = statistics.median(r[1] for r in runs)
        peak_year = _python_peak(client, fec_url, year)
        peak_month = _python_peak(client, fec_url, month)
        csv_runs = [_stream(client, "/staff/facturation/exports/factures.csv", {}) for _ in range(3)]
        csv_rows = csv_runs[0][3] - 1
        csv_seconds = statistics.median(r[0] for r in csv_runs)
    return [
        Record("billing.fec.lines", fec_lines, "lines"),
        Record("billing.fec.stream_s", seconds, "s"),
        Record("billing.fec.lines_per_s", fec_lines / seconds, "lines/s"),
        Record("billing.fec.mb", runs[0][2] / 2**20, "MB"),
        Record("billing.fec.rss_growth_mb", rss, "MB"),
        Record("billing.fec.python_peak_mb", peak_year, "MB", baseline=peak_month),
        Record("billing.export.invoices_csv_rows", csv_rows, "rows"),
        Record("billing.export.invoices_csv_s", csv_seconds, "s"),
    ]
