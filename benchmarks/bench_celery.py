"""Celery throughput: a real worker draining BENCH_CELERY_TASKS (default 2,000) trivial tenant tasks.

Two firms of the bench database (`bench_celery_a`, `bench_celery_b`); the tasks alternate between
them, each carrying its firm's schema (tenant-schemas-celery), and each is `core.tasks.tenant_heartbeat`:
switch to the firm's schema, increment one row of `core.PeriodicRun` under a row lock. One `celery
worker` process with BENCH_CELERY_CONCURRENCY (default: the machine's cores) prefork children on the
configured broker (`make bench`: the embedded Valkey, the production Redis transport). Measured: from
the first task queued to the last one's row written, with the worker already up; the queueing alone too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from benchmarks.harness import ROOT, Record, bench_database

FIRMS = ("bench_celery_a", "bench_celery_b")
TASK = "core.tasks.tenant_heartbeat"


def _ensure_firms() -> list[object]:
    from django.db import transaction

    from core.tenancy import use_public_schema
    from tenants import provisioning
    from tenants.models import Domain, Tenant

    use_public_schema()
    firms = []
    for schema in FIRMS:
        tenant = Tenant.objects.filter(schema_name=schema).first()
        if tenant is None:
            provisioning.ensure_template()
            with transaction.atomic():
                tenant, _ = provisioning.create_firm_schema(schema_name=schema, name=f"Bench Celery {schema[-1]}")
                Domain.objects.create(domain=f"{schema.replace('_', '-')}.localhost", tenant=tenant, is_primary=True)
        firms.append(tenant)
    return firms


def _worker(concurrency: int) -> subprocess.Popen[bytes]:
    from config.celery import app

    app.control.purge()
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork",
         f"--concurrency={concurrency}", "-l", "warning", "-n", "bench-celery@%h", "--without-mingle"],
        cwd=ROOT,
        env=dict(os.environ),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.terminate()
            raise RuntimeError(f"the Celery worker did not start (exit code {proc.poll()})")
    return proc


def _done(firms: list[object]) -> int:
    from django_tenants.utils import tenant_context

    from core.models import PeriodicRun

    total = 0
    for firm in firms:
        with tenant_context(firm):
            total += sum(PeriodicRun.objects.filter(name=TASK).values_list("runs", flat=True))
    return total


def run() -> list[Record]:
    count = int(os.environ.get("BENCH_CELERY_TASKS", "2000"))
    concurrency = int(os.environ.get("BENCH_CELERY_CONCURRENCY", str(os.cpu_count() or 2)))
    with bench_database():
        from django_tenants.utils import tenant_context

        from core.models import PeriodicRun
        from core.tasks import tenant_heartbeat

        firms = _ensure_firms()
        for firm in firms:
            with tenant_context(firm):
                PeriodicRun.objects.filter(name=TASK).delete()
        worker = _worker(concurrency)
        try:
            started = time.monotonic()
            for n in range(count):
                with tenant_context(firms[n % len(firms)]):
                    tenant_heartbeat.delay()
            queued = time.monotonic() - started
            deadline = started + 600
            while (done := _done(firms)) < count:
                if worker.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{done}/{count} tasks done when the worker stopped or time ran out")
                time.sleep(0.05)
            elapsed = time.monotonic() - started
        finally:
            worker.terminate()
            worker.wait(timeout=60)
    assert done == count, (done, count)
    print(
        f"   {count} tasks over {len(firms)} firms: queued in {queued:.2f} s ({count / queued:.0f}/s), "
        f"drained in {elapsed:.2f} s ({count / elapsed:.0f} tasks/s), worker concurrency {concurrency}",
        flush=True,
    )
    return [
        Record("celery.tenant_tasks.count", count, "tasks"),
        Record("celery.tenant_tasks.concurrency", concurrency, "procs"),
        Record("celery.tenant_tasks.queue_rate", count / queued, "tasks/s"),
        Record("celery.tenant_tasks.throughput", count / elapsed, "tasks/s"),
        Record("celery.tenant_tasks.per_task", 1000 * elapsed / count, "ms"),
    ]
