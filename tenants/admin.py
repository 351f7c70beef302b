from django.contrib import admin
from django.http import HttpRequest

from core.tenancy import on_public_schema
from tenants.models import Domain, Tenant


class PublicSchemaOnlyAdmin(admin.ModelAdmin):
    """Firms are managed from the platform host only, never from a firm's admin."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return on_public_schema() and super().has_module_permission(request)


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Tenant)
class TenantAdmin(PublicSchemaOnlyAdmin):
    list_display = ("name", "schema_name", "siren", "is_active", "created_at")
    search_fields = ("name", "schema_name", "siren")
    list_filter = ("is_active",)
    inlines = [DomainInline]


@admin.register(Domain)
class DomainAdmin(PublicSchemaOnlyAdmin):
    list_display = ("domain", "tenant", "is_primary")
    search_fields = ("domain",)
