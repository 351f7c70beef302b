"""Billing in the firm's Django admin: everything is read-only (writes go through services that audit).

An issued invoice never changes, and a draft is edited from the staff pages
(its totals are computed there). Stripe events that failed can be processed
again with the "retry" action.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from billing import payments
from billing.models import (
    BankLine,
    BankStatement,
    BillingSettings,
    CheckoutSession,
    DunningNotice,
    Invoice,
    InvoiceLine,
    Payment,
    Price,
    Product,
    RenewalRun,
    SepaMandate,
    StripeCustomer,
    StripeEvent,
)
from core.admin import ReadOnlyAdmin


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class InvoiceLineInline(ReadOnlyInline):
    model = InvoiceLine
    fields = ("position", "label", "quantity", "unit_price_cents", "vat_rate", "net_cents", "account")


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ("received_on", "amount_cents", "method", "reference", "stripe_payment_intent")


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "kind", "status", "member", "issue_date", "due_date", "gross_cents", "paid_cents")
    list_select_related = ("member",)
    list_filter = ("kind", "status", "purpose", "series")
    search_fields = ("number", "member__legal_name", "member__siren")
    date_hierarchy = "issue_date"
    exclude = ("pay_token_hash",)
    inlines = (InvoiceLineInline, PaymentInline)


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("invoice", "amount_cents", "method", "received_on", "reference", "stripe_payment_intent")
    list_select_related = ("invoice",)
    list_filter = ("method",)
    search_fields = ("invoice__number", "reference", "stripe_payment_intent")
    date_hierarchy = "received_on"


@admin.register(Product)
class ProductAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "kind", "vat_rate", "account", "is_active")
    list_filter = ("kind", "is_active")


@admin.register(Price)
class PriceAdmin(ReadOnlyAdmin):
    list_display = ("product", "group", "unit_price_cents", "valid_from", "valid_until")
    list_select_related = ("product", "group")


@admin.register(BillingSettings)
class BillingSettingsAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "stripe_account_id", "stripe_charges_enabled", "stripe_payouts_enabled", "updated_at")


@admin.register(DunningNotice)
class DunningNoticeAdmin(ReadOnlyAdmin):
    list_display = ("invoice", "level", "sent_at")
    list_filter = ("level",)


@admin.register(StripeCustomer)
class StripeCustomerAdmin(ReadOnlyAdmin):
    list_display = ("member", "customer_id", "stripe_account_id", "created_at")
    list_select_related = ("member",)
    search_fields = ("customer_id", "member__legal_name")


@admin.register(SepaMandate)
class SepaMandateAdmin(ReadOnlyAdmin):
    list_display = ("mandate_id", "member", "status", "iban_last4", "created_at", "updated_at")
    list_select_related = ("member",)
    list_filter = ("status",)
    search_fields = ("mandate_id", "member__legal_name")


@admin.register(CheckoutSession)
class CheckoutSessionAdmin(ReadOnlyAdmin):
    list_display = ("session_id", "invoice", "amount_cents", "status", "created_at")
    list_select_related = ("invoice",)
    list_filter = ("status",)
    search_fields = ("session_id", "invoice__number")


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ("stripe_id", "type", "status", "attempts", "received_at", "processed_at")
    list_filter = ("status", "type")
    search_fields = ("stripe_id", "type")
    actions = ["retry"]

    @admin.action(description=_("Relancer le traitement des événements en échec"))
    def retry(self, request: HttpRequest, queryset: QuerySet[StripeEvent]) -> None:
        failed = queryset.filter(status=StripeEvent.Status.FAILED)
        results = [payments.retry_event(event=event) for event in failed]
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


@admin.register(BankStatement)
class BankStatementAdmin(ReadOnlyAdmin):
    list_display = ("filename", "uploaded_by", "created_at")


@admin.register(BankLine)
class BankLineAdmin(ReadOnlyAdmin):
    list_display = ("statement", "row", "booked_on", "amount_cents", "status", "invoice")
    list_filter = ("status",)


@admin.register(RenewalRun)
class RenewalRunAdmin(ReadOnlyAdmin):
    list_display = ("run_on", "status", "total", "done", "issued", "skipped", "failed", "created_at")
    list_filter = ("status",)
