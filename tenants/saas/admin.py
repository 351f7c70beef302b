"""The operator's console: subscriptions and Stripe events, read-only; failed events can be retried."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import ReadOnlyAdmin
from tenants.saas import services
from tenants.saas.models import PlanPrice, StripeEvent, Subscription


@admin.register(PlanPrice)
class PlanPriceAdmin(ReadOnlyAdmin):
    list_display = ("plan", "interval", "stripe_price_id", "active")
    list_filter = ("active", "interval")


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ("tenant", "plan", "status", "current_period_end", "cancel_at_period_end", "updated_at")
    list_select_related = ("tenant", "plan")
    list_filter = ("status", "plan")
    search_fields = ("tenant__name", "tenant__schema_name", "stripe_customer_id", "stripe_subscription_id")


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ("stripe_id", "type", "status", "attempts", "received_at", "processed_at")
    list_filter = ("status", "type")
    search_fields = ("stripe_id", "type")
    actions = ["retry"]

    @admin.action(description=_("Relancer le traitement des événements en échec"))
    def retry(self, request: HttpRequest, queryset: QuerySet[StripeEvent]) -> None:
        results = [services.retry_event(event=event) for event in queryset.filter(status=StripeEvent.Status.FAILED)]
        done = sum(1 for event in results if event.status != StripeEvent.Status.FAILED)
        self.message_user(
            request,
            ngettext(
                "%(done)d événement traité sur %(count)d relancé.",
                "%(done)d événements traités sur %(count)d relancés.",
                len(results),
            )
            % {"done": done, "count": len(results)},
            messages.SUCCESS if done == len(results) else messages.WARNING,
        )
