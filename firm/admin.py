from django.contrib import admin

from core.admin import ReadOnlyAdmin
from firm.models import FirmProfile, Mediator


@admin.register(FirmProfile)
class FirmProfileAdmin(ReadOnlyAdmin):
    list_display = ("legal_name", "siren", "require_mfa", "updated_at")


@admin.register(Mediator)
class MediatorAdmin(ReadOnlyAdmin):
    list_display = ("last_name", "first_name", "email", "listed_on", "term_ends_on", "is_active")
    list_filter = ("is_active",)
    search_fields = ("last_name", "first_name", "email")
