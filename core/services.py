from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.models import PeriodicRun


@transaction.atomic
def record_periodic_run(*, name: str, schema_name: str) -> PeriodicRun:
    run, created = PeriodicRun.objects.select_for_update().get_or_create(
        name=name, defaults={"schema_name": schema_name, "runs": 1, "last_run_at": timezone.now()}
    )
    if not created:
        run.runs = F("runs") + 1
        run.schema_name = schema_name
        run.last_run_at = timezone.now()
        run.save(update_fields=["runs", "schema_name", "last_run_at"])
        run.refresh_from_db()
    return run
