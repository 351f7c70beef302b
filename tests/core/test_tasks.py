"""Periodic work fans out from public to one task per firm, run in the firm's schema."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from core.models import PeriodicRun
from core.tasks import fan_out
from tenants.models import Tenant


def _runs_by_schema(use_tenant) -> dict[str, list[tuple[str, int]]]:
    found = {}
    for schema in ("alpha", "beta"):
        use_tenant(schema)
        found[schema] = list(PeriodicRun.objects.values_list("schema_name", "runs"))
    connection.set_schema_to_public()
    return found


def test_fan_out_runs_the_task_once_in_each_active_tenant_schema(db, use_tenant, eager_celery):

    schemas = fan_out.apply(args=("core.tasks.tenant_heartbeat",)).get()

    assert schemas == ["alpha", "beta"]
    assert _runs_by_schema(use_tenant) == {"alpha": [("alpha", 1)], "beta": [("beta", 1)]}


def test_fan_out_skips_suspended_tenants(db, use_tenant, eager_celery):
    Tenant.objects.filter(schema_name="beta").update(is_active=False)

    schemas = fan_out.apply(args=("core.tasks.tenant_heartbeat",)).get()

    assert schemas == ["alpha"]
    assert _runs_by_schema(use_tenant) == {"alpha": [("alpha", 1)], "beta": []}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_fan_out_in_each_tenant_schema(celery_worker_process, use_tenant, client):
    for schema in ("alpha", "beta"):  # committed rows of an interrupted earlier run
        use_tenant(schema)
        PeriodicRun.objects.all().delete()
    connection.set_schema_to_public()

    result = fan_out.delay("core.tasks.tenant_heartbeat")
    assert result.get(timeout=30) == ["alpha", "beta"]

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = _runs_by_schema(use_tenant)
        if all(found.values()):
            break
        time.sleep(0.2)
    assert found == {"alpha": [("alpha", 1)], "beta": [("beta", 1)]}

    health = client.get("/health/", HTTP_HOST="alpha.localhost")
    assert health.status_code == 200, health.content
    assert health.json()["checks"]["workers"]["ok"] is True
