from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.models import AuditEntry, PeriodicRun


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shows rows, never adds, changes or deletes them: their writes go through services that audit.

    Which host shows them is decided for every admin at once (config.apps.fence_admin_by_schema).
    """

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PeriodicRun)
class PeriodicRunAdmin(admin.ModelAdmin):
    list_display = ("name", "schema_name", "runs", "last_run_at")
    readonly_fields = ("name", "schema_name", "runs", "last_run_at")


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
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
