from django.db.models import QuerySet

from core.models import PeriodicRun


def periodic_runs() -> QuerySet[PeriodicRun]:
    return PeriodicRun.objects.order_by("name")
