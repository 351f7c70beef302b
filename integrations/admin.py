from django.contrib import admin

from integrations.models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "description", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("url", "description")
    exclude = ("secret",)
    readonly_fields = ("created_by", "created_at", "updated_at")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("event_type", "endpoint", "status", "attempts", "last_status_code", "created_at")
    list_filter = ("status", "event_type")
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]
