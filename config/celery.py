"""The Celery application. Tasks carry their tenant (tenant-schemas-celery).

Periodic work is declared once here; beat stores it in the database
(django-celery-beat's DatabaseScheduler, public schema) and runs a single
fan-out task that enqueues one task per active tenant in that tenant's schema.
"""

import os
from typing import Any

from celery.schedules import crontab
from celery.signals import task_prerun
from django.conf import settings
from tenant_schemas_celery.app import CeleryApp

from core.observability import connect_celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = CeleryApp("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Tasks carry the publishing request's id (X-Request-ID) into worker logs; workers count tasks by state
# for Prometheus and keep settings.LOGGING (JSON in production) instead of Celery's log format.
connect_celery()

app.conf.beat_schedule = {
    "fan-out-tenant-heartbeat": {
        "task": "core.tasks.fan_out",
        "schedule": float(getattr(settings, "HEARTBEAT_INTERVAL_SECONDS", 300)),
        "args": ("core.tasks.tenant_heartbeat",),
    },
    # Each morning, every firm's deadline reminders and execution follow-up (mediation.cases.reminders).
    "fan-out-case-reminders": {
        "task": "core.tasks.fan_out",
        "schedule": crontab(hour=7, minute=0),
        "args": ("mediation.cases.tasks.daily_reminders",),
    },
    # Each morning, every firm's membership run: renewal reminders (60, 30, 7 days), renewal due, lapse.
    "fan-out-membership-run": {
        "task": "core.tasks.fan_out",
        "schedule": crontab(hour=6, minute=30),
        "args": ("mediation.members.tasks.daily_membership_run",),
    },
    # Each night, every firm's rows in the platform-wide "which firm covers this business" index, rebuilt.
    "fan-out-coverage-index": {
        "task": "core.tasks.fan_out",
        "schedule": crontab(hour=4, minute=30),
        "args": ("mediation.members.coverage_tasks.rebuild_coverage_index",),
    },
    # Then, on the public schema: rows of suspended or closed firms and rows past their date go.
    "coverage-index-cleanup": {
        "task": "mediation.members.coverage_tasks.drop_inactive_firms",
        "schedule": crontab(hour=5, minute=0),
    },
    # Each morning, every firm's membership periods and case fees left unbilled (identity completed, task lost).
    "fan-out-billing-catch-up": {
        "task": "core.tasks.fan_out",
        "schedule": crontab(hour=6, minute=45),
        "args": ("billing.renewal_tasks.daily_billing_catch_up",),
    },
    # Each morning, every firm's overdue invoices: reminders at due date + 7 and + 30 days, then suspension.
    "fan-out-billing-dunning": {
        "task": "core.tasks.fan_out",
        "schedule": crontab(hour=8, minute=0),
        "args": ("billing.dunning_tasks.daily_dunning",),
    },
    # Each morning, every firm's CECMC obligations: from its records, then reminders (30, 7, 0 days, overdue).
    "fan-out-compliance-obligations": {
        "task": "core.tasks.fan_out",
        "schedule": crontab(hour=7, minute=15),
        "args": ("mediation.compliance.tracker_tasks.daily_obligations",),
    },
    # Each morning, every firm's recurring dysfunctions: businesses, sectors, subjects over the firm's thresholds.
    "fan-out-dysfunction-watch": {
        "task": "core.tasks.fan_out",
        "schedule": crontab(hour=6, minute=15),
        "args": ("mediation.compliance.dysfunction_tasks.daily_dysfunction_watch",),
    },
    # Every minute, every firm: webhook deliveries whose attempt is due (retries, and what a lost task left).
    "fan-out-webhook-deliveries": {
        "task": "core.tasks.fan_out",
        "schedule": 60.0,
        "args": ("integrations.tasks.send_due_deliveries",),
    },
    # Each night, every firm's API idempotency keys older than 24 hours are forgotten (core.idempotency).
    "fan-out-idempotency-purge": {
        "task": "core.tasks.fan_out",
        "schedule": crontab(hour=3, minute=30),
        "args": ("core.tasks.purge_idempotency_keys",),
    },
    "refill-tenant-pool": {
        "task": "tenants.tasks.refill_tenant_pool",
        "schedule": 600.0,
    },
    "drop-closed-firms": {
        "task": "tenants.tasks.drop_closed_firms",
        "schedule": 86400.0,
    },
}


@task_prerun.connect
def _tag_task_tenant(**_: Any) -> None:
    # Connected after tenant-schemas-celery's own handler: the schema is switched.
    from core.observability import tag_tenant
    from core.tenancy import current_schema

    tag_tenant(current_schema())
