"""The yearly renewal run with BENCH_RENEWALS (default 10,000) members due, through real Celery workers.

In the firm `bench_renewals` of the bench database, every member has a paid
one-year term ending within the renewal window; earlier runs' terms, invoices
and counters are deleted first. One `celery worker` process with
BENCH_RENEWAL_CONCURRENCY (default: the machine's cores) prefork children runs
the run's planning task and its chunks; each member is renewed and its invoice
issued with its PDF + Factur-X, and the invoice e-mail task runs too (dummy
e-mail backend). Measured: from the click (`start_run`) to the run's status
"done"; target under 10 minutes for 10,000 members on 2 cores. Files go to a
temporary MEDIA_ROOT, removed afterwards.
"""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
import tempfile
import time

from benchmarks.bench_member_import import _siren
from benchmarks.harness import ROOT, Record, bench_database

SCHEMA = "bench_renewals"
HOST = "bench-renewals.localhost"
OFFSET = 500_000  # SIRENs apart from the other benches' firms (each firm has its own schema anyway)


def _ensure_firm() -> None:
    from django.db import connection, transaction

    from tenants import provisioning
    from tenants.models import Domain, Tenant

    connection.set_schema_to_public()
    if not Tenant.objects.filter(schema_name=SCHEMA).exists():
        provisioning.ensure_template()
        with transaction.atomic():
            tenant, _ = provisioning.create_firm_schema(schema_name=SCHEMA, name="Bench renouvellements")
            Domain.objects.create(domain=HOST, tenant=tenant, is_primary=True)


def _prepare(count: int) -> None:
    """Members with an address and a billing contact, each with a paid term ending in 20 days; nothing billed."""
    from django.utils import timezone

    from billing.models import Invoice, InvoiceCounter, RenewalRun
    from firm.models import FirmProfile
    from mediation.members.membership import term_end
    from mediation.members.models import Contact, Member, Membership, Tariff

    Invoice.objects.all().delete()
    InvoiceCounter.objects.all().delete()
    RenewalRun.objects.all().delete()
    Membership.objects.all().delete()
    FirmProfile.objects.update_or_create(
        pk=FirmProfile.SINGLETON_PK,
        defaults={
            "legal_name": "Bench Médiation SAS",
            "siren": "732829320",
            "vat_number": "FR44732829320",
            "address_line1": "10 rue de la République",
            "postcode": "69002",
            "city": "Lyon",
            "iban": "FR7630006000011234567890189",
            "bic": "AGRIFRPP",
            "invoice_prefix": "FA",
        },
    )
    if not Tariff.objects.exists():
        Tariff.objects.create(
            headcount_band="1_9", term_years=1, yearly_price_cents=30_000, valid_from=datetime.date(2020, 1, 1)
        )
    present = Member.objects.count()
    for start in range(present, count, 2000):
        batch = Member.objects.bulk_create(
            Member(
                legal_name=f"Entreprise renouvelée {n:06d} SARL",
                siren=_siren(OFFSET + n),
                address_line1=f"{n % 200 + 1} rue de la République",
                postcode="69003",
                city="Lyon",
                headcount_band="1_9",
                status=Member.Status.ACTIVE,
            )
            for n in range(start, min(start + 2000, count))
        )
        Contact.objects.bulk_create(
            Contact(member=m, last_name="Comptable", email=f"compta{m.pk}@entreprise.fr", roles=["billing"])
            for m in batch
        )
    Member.objects.update(status=Member.Status.ACTIVE)
    today = timezone.localdate()
    starts_on = today - datetime.timedelta(days=345)
    now = timezone.now()
    ids = list(Member.objects.order_by("pk").values_list("pk", flat=True)[:count])
    Membership.objects.bulk_create(
        Membership(member_id=pk, term_years=1, starts_on=starts_on, ends_on=term_end(starts_on, 1), paid_at=now)
        for pk in ids
    )


def _worker(env: dict[str, str], concurrency: int) -> subprocess.Popen[bytes]:
    from config.celery import app

    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork",
         f"--concurrency={concurrency}", "-l", "warning", "-n", "bench-renewals@%h"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.terminate()
            raise RuntimeError(f"the Celery worker did not start (exit code {proc.poll()})")
    return proc


def run() -> list[Record]:
    count = int(os.environ.get("BENCH_RENEWALS", "10000"))
    concurrency = int(os.environ.get("BENCH_RENEWAL_CONCURRENCY", str(os.cpu_count() or 2)))
    media = tempfile.mkdtemp(prefix="bench-renewals-")
    saved = {name: os.environ.get(name) for name in ("MEDIA_ROOT", "EMAIL_BACKEND")}
    os.environ["MEDIA_ROOT"] = media  # for the workers, started below
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
    try:
        with bench_database():
            from django_tenants.utils import schema_context

            from accounts.models import User
            from billing import renewals
            from billing.models import Invoice, RenewalRun

            _ensure_firm()
            with schema_context(SCHEMA):
                started = time.monotonic()
                _prepare(count)
                print(f"   {count} members due, prepared in {time.monotonic() - started:.1f} s", flush=True)
                user = User.objects.filter(email="bench@renewals.fr").first() or User.objects.create_user(
                    "bench@renewals.fr", "bench-renewals-password", role=User.Role.FINANCE
                )
            worker = _worker(dict(os.environ), concurrency)
            try:
                with schema_context(SCHEMA):
                    started = time.monotonic()
                    run_row = renewals.start_run(by=user)  # queues the planning task after commit
                    last = -1
                    while True:
                        run_row.refresh_from_db()
                        if run_row.status in (RenewalRun.Status.DONE, RenewalRun.Status.FAILED):
                            break
                        if run_row.done // 1000 != last // 1000:
                            last = run_row.done
                            seconds = time.monotonic() - started
                            print(f"   {run_row.done}/{run_row.total} after {seconds:.0f} s", flush=True)
                        if worker.poll() is not None:
                            raise RuntimeError("the Celery worker stopped")
                        time.sleep(1)
                    elapsed = time.monotonic() - started
                    issued = Invoice.objects.filter(purpose="membership", status="issued").count()
                    with_pdf = Invoice.objects.filter(purpose="membership").exclude(pdf="").count()
            finally:
                worker.terminate()
                worker.wait(timeout=60)
    finally:
        shutil.rmtree(media, ignore_errors=True)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    print(
        f"   run {run_row.status}: {run_row.issued} issued ({issued} in the table, {with_pdf} with a PDF), "
        f"{run_row.failed} failed, {elapsed:.1f} s, {issued / elapsed:.1f} invoices/s, concurrency {concurrency}",
        flush=True,
    )
    assert run_row.status == RenewalRun.Status.DONE and run_row.failed == 0, run_row.errors[:3]
    assert issued == count == with_pdf
    return [
        Record("billing.renewals.members", count, "members"),
        Record("billing.renewals.run", elapsed, "s", baseline=600 * count / 10_000),
        Record("billing.renewals.invoices_per_second", issued / elapsed, "inv/s"),
        Record("billing.renewals.per_invoice", 1000 * elapsed / issued, "ms"),
    ]
