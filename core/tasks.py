"""Tenant-aware periodic work.

Beat runs `fan_out` in the public schema; it enqueues the named task once per
active tenant, with the tenant's schema in the message headers, so the worker
runs it inside that schema (tenant-schemas-celery).
"""

from __future__ import annotations

from celery import shared_task
from django_tenants.utils import get_tenant_model, tenant_context

from core import services
from core.tenancy import current_schema


@shared_task(name="core.tasks.fan_out")
def fan_out(task_name: str) -> list[str]:
    from config.celery import app

    task = app.tasks[task_name]
    schemas = []
    tenants = get_tenant_model().objects.active_firms()
    for tenant in tenants.only("pk", "schema_name").order_by("schema_name"):
        with tenant_context(tenant):
            task.delay()
        schemas.append(tenant.schema_name)
    return schemas


@shared_task(name="core.tasks.tenant_heartbeat")
def tenant_heartbeat() -> str:
    """Records, in the current tenant's schema, that periodic work reached it."""
    run = services.record_periodic_run(name="core.tasks.tenant_heartbeat", schema_name=current_schema())
    return f"{run.schema_name}:{run.runs}"


@shared_task(name="core.tasks.purge_idempotency_keys", acks_late=True)
def purge_idempotency_keys() -> int:
    """Forgets, in the current firm's schema, the API idempotency keys past their 24 hours."""
    from core.idempotency import purge_expired

    return purge_expired()
