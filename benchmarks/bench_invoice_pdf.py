"""The invoice PDF with Factur-X: rendering, embedding, and the whole `issue_automatically` per invoice.

Target (issue 7): the yearly renewal run issues 10,000 invoices, each with its
PDF and Factur-X, in under 10 minutes on 2 cores, i.e. about 0.1 s per invoice
all-in; the PDF render alone should stay under 0.05 s. Measured here, in one
process, on a one-line membership invoice:

- `render`: template + WeasyPrint with the pre-cut invoice font (median);
  baseline: the same HTML through `core.pdf.html_to_pdf`, which falls back to
  the system's DejaVu Sans (what the first version did);
- `xml` and `embed`: the CII XML, then `facturx.generate_from_binary` (XSD check
  included);
- `issue`: `billing.services.issue_automatically` (number, snapshots, PDF with
  Factur-X, storage, audit) per invoice, over BENCH_INVOICES drafts (default
  60), inside a transaction rolled back at the end so the bench database does
  not grow; invoices per second and the 10,000-invoice estimate on 2 cores.

The firm `bench_invoices` is kept in the bench database between runs; PDFs go
to a temporary MEDIA_ROOT.
"""

from __future__ import annotations

import datetime
import os
import resource
import statistics
import tempfile
import time
from decimal import Decimal

from benchmarks.harness import Record, bench_database

SCHEMA = "bench_invoices"
HOST = "bench-invoices.localhost"
REPEAT = 25


class _Rollback(Exception):
    pass


def _siren(n: int) -> str:
    from stdnum import luhn

    base = f"{30_000_000 + n:08d}"
    return base + luhn.calc_check_digit(base)


def _ensure_firm(members: int) -> None:
    from django.db import connection, transaction
    from django_tenants.utils import schema_context

    from firm.models import FirmProfile
    from mediation.members.models import Member
    from tenants import provisioning
    from tenants.models import Domain, Tenant

    connection.set_schema_to_public()
    if not Tenant.objects.filter(schema_name=SCHEMA).exists():
        provisioning.ensure_template()
        with transaction.atomic():
            tenant, _ = provisioning.create_firm_schema(schema_name=SCHEMA, name="Bench invoices")
            Domain.objects.create(domain=HOST, tenant=tenant, is_primary=True)
    with schema_context(SCHEMA):
        FirmProfile.objects.update_or_create(
            pk=FirmProfile.SINGLETON_PK,
            defaults={
                "legal_name": "Bench Médiation SAS",
                "legal_form": "SAS",
                "siren": "732829320",
                "siret": "73282932000074",
                "vat_number": "FR44732829320",
                "rcs": "RCS Lyon",
                "address_line1": "10 rue de la République",
                "postcode": "69002",
                "city": "Lyon",
                "contact_email": "facturation@bench-mediation.example.fr",
                "iban": "FR7630006000011234567890189",
                "bic": "AGRIFRPP",
            },
        )
        present = Member.objects.count()
        Member.objects.bulk_create(
            Member(
                legal_name=f"Entreprise {n:06d} SARL",
                siren=_siren(n),
                address_line1=f"{n % 90 + 1} avenue Jean Jaurès",
                postcode="69007",
                city="Lyon",
            )
            for n in range(present, members)
        )


def _draft(member: object) -> object:
    from billing.models import Invoice, InvoiceLine
    from billing.services import compute_totals, line_net

    start = datetime.date.today()
    invoice = Invoice.objects.create(
        member=member,
        purpose=Invoice.Purpose.OTHER,
        period_start=start,
        period_end=start.replace(year=start.year + 1) - datetime.timedelta(days=1),
    )
    line = InvoiceLine.objects.create(
        invoice=invoice,
        position=1,
        label="Adhésion annuelle — 10 à 49 salariés",
        quantity=Decimal(1),
        unit_price_cents=48_000,
        vat_rate=Decimal("20.00"),
        net_cents=line_net(Decimal(1), 48_000),
    )
    totals = compute_totals([line])
    invoice.net_cents, invoice.vat_cents, invoice.gross_cents = totals.net_cents, totals.vat_cents, totals.gross_cents
    invoice.save(update_fields=["net_cents", "vat_cents", "gross_cents"])
    return invoice


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def run() -> list[Record]:
    count = int(os.environ.get("BENCH_INVOICES", "60"))
    with bench_database():
        import facturx
        from django.conf import settings
        from django.db import transaction
        from django.template.loader import render_to_string
        from django.utils import translation
        from django_tenants.utils import schema_context

        from billing import documents, services
        from core import pdf as core_pdf
        from mediation.members.models import Member

        _ensure_firm(count)
        render: list[float] = []
        render_cpu: list[float] = []
        baseline: list[float] = []
        baseline_cpu: list[float] = []
        xml_times: list[float] = []
        embed: list[float] = []
        issue: list[float] = []
        sizes: list[int] = []
        with tempfile.TemporaryDirectory() as media, schema_context(SCHEMA):
            settings.MEDIA_ROOT = media
            from django.core.files.storage import storages

            # The storage caches its root on first use (see tests/conftest.py): forget it.
            for name in ("relative_media_root", "relative_media_url", "base_url", "base_location", "location"):
                storages["default"].__dict__.pop(name, None)
            members = list(Member.objects.order_by("pk")[:count])
            started = time.monotonic()
            try:
                with transaction.atomic():
                    for member in members:
                        draft = _draft(member)
                        t0 = time.perf_counter()
                        invoice = services.issue_automatically(invoice=draft, send=False)
                        # Inside this transaction the PDF would wait for its commit: made here, and timed.
                        invoice = services.ensure_pdf(invoice)
                        issue.append(time.perf_counter() - t0)
                        sizes.append(invoice.pdf.size)
                    elapsed = time.monotonic() - started
                    # Parts of one issued invoice, each repeated.
                    lines = list(invoice.lines.all())
                    for _ in range(REPEAT + 1):
                        t0, c0 = time.perf_counter(), time.process_time()
                        with translation.override(documents.firm_language()):
                            html = render_to_string(documents.TEMPLATE, documents.document_context(invoice, lines))
                        pdf = documents.html_to_pdf(html)
                        render.append(time.perf_counter() - t0)
                        render_cpu.append(time.process_time() - c0)
                        t0 = time.perf_counter()
                        xml = documents.invoice_xml(invoice)
                        xml_times.append(time.perf_counter() - t0)
                        t0 = time.perf_counter()
                        facturx.generate_from_binary(pdf, xml, flavor="factur-x", level="en16931", check_xsd=True)
                        embed.append(time.perf_counter() - t0)
                    # Baseline: the same page and stylesheet through core.pdf, i.e. on the system's DejaVu Sans.
                    inlined = html.replace("<style>", "<style>" + render_to_string(documents.STYLESHEET), 1)
                    for _ in range(6):
                        t0, c0 = time.perf_counter(), time.process_time()
                        core_pdf.html_to_pdf(inlined)
                        baseline.append(time.perf_counter() - t0)
                        baseline_cpu.append(time.process_time() - c0)
                    raise _Rollback
            except _Rollback:
                pass
    # The first of each is a warm-up (font and stylesheet parsing, imports).
    render, render_cpu, xml_times, embed = render[1:], render_cpu[1:], xml_times[1:], embed[1:]
    baseline, baseline_cpu = baseline[1:], baseline_cpu[1:]
    per_invoice = statistics.median(issue[1:])
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [
        Record("invoice_pdf.render_median", _median_ms(render), "ms", baseline=_median_ms(baseline)),
        Record("invoice_pdf.render_cpu_median", _median_ms(render_cpu), "ms", baseline=_median_ms(baseline_cpu)),
        Record("invoice_pdf.render_system_dejavu_median", _median_ms(baseline), "ms"),
        Record("invoice_pdf.xml_median", _median_ms(xml_times), "ms"),
        Record("invoice_pdf.facturx_embed_median", _median_ms(embed), "ms"),
        Record("invoice_pdf.issue_median", per_invoice * 1000, "ms"),
        Record("invoice_pdf.issue_throughput", len(issue) / elapsed, "inv/s"),
        Record("invoice_pdf.renewal_10k_on_2_cores_estimate", 10_000 * per_invoice / 2 / 60, "min"),
        Record("invoice_pdf.pdf_size_median", statistics.median(sizes) / 1024, "KiB"),
        Record("invoice_pdf.peak_rss", peak_rss_mib, "MiB"),
    ]
