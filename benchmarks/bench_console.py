"""The operator console's firm list with every tenant of the bench database (run after bench_provisioning)."""

from __future__ import annotations

import statistics
import time

from benchmarks.harness import Record, bench_database

SAMPLES = 20


def run() -> list[Record]:
    with bench_database():
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from accounts.models import User
        from tenants.models import Domain, Tenant

        public, _ = Tenant.objects.get_or_create(schema_name="public", defaults={"name": "Plateforme"})
        Domain.objects.get_or_create(domain="localhost", defaults={"tenant": public, "is_primary": True})
        operator = User.objects.filter(email="bench-operator@plateforme.fr").first() or User.objects.create_superuser(
            "bench-operator@plateforme.fr", "bench-operator-password"
        )
        client = Client(HTTP_HOST="localhost")
        client.force_login(operator)
        firms = Tenant.objects.firms().count()
        url = "/admin/tenants/tenant/?kind__exact=firm"
        assert client.get(url).status_code == 200  # warm-up
        timings = []
        for _ in range(SAMPLES):
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        connection.set_schema_to_public()
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
    return [
        Record("console.firm_list.firms", firms, "firms"),
        Record("console.firm_list.median", statistics.median(timings), "ms"),
        Record("console.firm_list.queries", len(queries), "queries"),
    ]
