from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from firm.models import FirmProfile, Mediator


class ReadOnlyAdmin(admin.ModelAdmin):
    """Changes go through the staff pages (/staff/cabinet/), which audit them: the admin only shows."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(FirmProfile)
class FirmProfileAdmin(ReadOnlyAdmin):
    list_display = ("legal_name", "siren", "require_mfa", "updated_at")


@admin.register(Mediator)
class MediatorAdmin(ReadOnlyAdmin):
    list_display = ("last_name", "first_name", "email", "listed_on", "term_ends_on", "is_active")
    list_filter = ("is_active",)
    search_fields = ("last_name", "first_name", "email")
