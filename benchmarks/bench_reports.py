"""The annual activity report of a busy year: its figures in SQL, its PDF and its XLSX.

Uses the firm `bench_cases` of `bench_cases.py` (BENCH_CASES cases, default
100,000, seeded once by `manage.py seed_volume`); the year measured is the one
with the most cases received, then a period spanning every seeded case (the
years hold fewer than 100,000 each). Targets (issue 8): the figures of a year
with 100,000 cases in under 1 s, the PDF in under 10 s.
"""

from __future__ import annotations

import os
import statistics
import time

from benchmarks.bench_cases import SCHEMA, _ensure_firm_with_cases
from benchmarks.harness import Record, bench_database


def _timed(function, rounds: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def run() -> list[Record]:
    count = int(os.environ.get("BENCH_CASES", "100000"))
    with bench_database():
        from django.db.models import Count, Max, Min
        from django.db.models.functions import ExtractYear
        from django_tenants.utils import schema_context

        from mediation.cases.models import Case
        from mediation.reports import documents, figures
        from mediation.reports.models import AnnualReport

        _ensure_firm_with_cases(count)
        with schema_context(SCHEMA):
            busiest = (
                Case.objects.exclude(received_at=None)
                .annotate(year=ExtractYear("received_at"))
                .values("year")
                .annotate(n=Count("pk"))
                .order_by("-n")
                .first()
            )
            assert busiest is not None
            year = int(busiest["year"])
            period = figures.Period.year(year)
            figures.compute(period)  # warm-up
            compute_s, current = _timed(lambda: figures.compute(period), 5)
            previous = figures.compute(period.previous())
            start, end = AnnualReport.default_period(year)
            report = AnnualReport(year=year, period_start=start, period_end=end, recurring_problems="Retards.")
            # The seeded years hold fewer than 100,000 cases each: a period spanning them all measures
            # the aggregation at that volume (its cost follows the cases in the cohorts, not the calendar).
            span = Case.objects.exclude(received_at=None).aggregate(first=Min("received_at"), last=Max("received_at"))
            everything = figures.Period(span["first"].date(), span["last"].date())
            all_s, all_figures = _timed(lambda: figures.compute(everything), 3)
            pdf_s, pdf = _timed(lambda: documents.report_pdf(report, current, previous), 3)
            xlsx_s, _xlsx = _timed(lambda: documents.report_xlsx(report, current, previous), 3)
    assert isinstance(current, figures.Figures) and isinstance(all_figures, figures.Figures)
    assert isinstance(pdf, bytes)
    return [
        Record("reports.year_cases_received", current.received, "cases"),
        Record("reports.figures_s", compute_s, "s", baseline=1.0),
        Record("reports.all_cases_received", all_figures.received, "cases"),
        Record("reports.all_cases_figures_s", all_s, "s", baseline=1.0),
        Record("reports.pdf_s", pdf_s, "s", baseline=10.0),
        Record("reports.xlsx_s", xlsx_s, "s"),
        Record("reports.pdf_kib", len(pdf) / 1024, "KiB"),
    ]
