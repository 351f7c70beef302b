from django.contrib import admin

from core.models import PeriodicRun


@admin.register(PeriodicRun)
class PeriodicRunAdmin(admin.ModelAdmin):
    list_display = ("name", "schema_name", "runs", "last_run_at")
    readonly_fields = ("name", "schema_name", "runs", "last_run_at")
