"""Provisioning a firm when many tenants exist: pool claim and template clone vs. replaying migrations.

Runs against a dedicated database (`<db>_bench`, kept between runs so the
background tenants are created once). BENCH_TENANTS (default 1000) firms exist
while we measure BENCH_SAMPLES (default 7) provisionings of each kind; each
measured firm is dropped again so the count stays put.
"""

from __future__ import annotations

import os
import statistics
import time

from benchmarks.harness import Record, bench_database


def _provision_each(kind: str, samples: int) -> list[float]:
    from django.db import connection, transaction

    from tenants import provisioning
    from tenants.models import Tenant

    timings = []
    for i in range(samples):
        schema = f"bench_{kind}_{i}"
        connection.set_schema_to_public()
        if kind == "pool":
            provisioning.refill_pool(target=1)  # background work in production: not timed
        started = time.perf_counter()
        if kind == "migrate":
            tenant = Tenant(schema_name=schema, name=schema)
            tenant.save(verbosity=0)  # CREATE SCHEMA + every migration
        else:
            with transaction.atomic():
                tenant, method = provisioning.create_firm_schema(schema_name=schema, name=schema)
            assert method == kind, method
        timings.append(time.perf_counter() - started)
        connection.set_schema_to_public()
        tenant.delete(force_drop=True)
        connection.close()
    return timings


def _ensure_background_tenants(count: int) -> int:
    from django.db import connection, transaction

    from tenants import provisioning
    from tenants.models import Tenant

    existing = Tenant.objects.filter(schema_name__startswith="bg_").count()
    started = time.monotonic()
    for i in range(existing, count):
        with transaction.atomic():
            provisioning.create_firm_schema(schema_name=f"bg_{i:05d}", name=f"Cabinet de fond {i}")
        connection.close()
        if (i + 1) % 100 == 0:
            print(f"   {i + 1}/{count} background tenants ({time.monotonic() - started:.0f} s)", flush=True)
    return Tenant.objects.filter(schema_name__startswith="bg_").count()


def run() -> list[Record]:
    tenants = int(os.environ.get("BENCH_TENANTS", "1000"))
    samples = int(os.environ.get("BENCH_SAMPLES", "7"))
    with bench_database():
        from tenants import provisioning

        provisioning.ensure_template()
        provisioning.drop_stale_pool()
        present = _ensure_background_tenants(tenants)
        migrate = statistics.median(_provision_each("migrate", samples))
        clone = statistics.median(_provision_each("clone", samples))
        pool = statistics.median(_provision_each("pool", samples))
    return [
        Record("provisioning.tenants_present", present, "tenants"),
        Record("provisioning.migrate.median", migrate, "s"),
        Record("provisioning.clone.median", clone, "s", baseline=migrate),
        Record("provisioning.pool.median", pool, "s", baseline=migrate),
    ]
