from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.models import AuditEntry, PeriodicRun


@admin.register(PeriodicRun)
class PeriodicRunAdmin(admin.ModelAdmin):
    list_display = ("name", "schema_name", "runs", "last_run_at")
    readonly_fields = ("name", "schema_name", "runs", "last_run_at")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only, even for the firm's administrators."""

    list_display = ("created_at", "action", "object_type", "object_repr", "actor_email")
    list_filter = ("action", "object_type")
    search_fields = ("object_repr", "actor_email", "object_id")
    date_hierarchy = "created_at"
    readonly_fields = (
        "created_at",
        "actor_id",
        "actor_email",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "changes",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
