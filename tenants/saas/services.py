"""Every call to the platform's Stripe account, and every write to the firms' subscriptions.

State comes from Stripe's API, never from a webhook's payload alone: an event
only says *which* subscription to look at; the subscription is then fetched
while its row is locked, so two deliveries are applied one after the other and
the later one always writes the newer state (an old event cannot roll back).

Policy for a canceled subscription: the firm keeps its data, its access and
the plan it had (`Tenant.plan` is left as it was, so its limits keep applying:
an empty plan would lift every limit). The subscription is flagged `canceled`,
the firm's page offers to subscribe again, and suspending the firm stays the
operator's decision (tenants.services.suspend_firm).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import stripe
from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name, schema_context

from core import audit
from core.stripe_events import process_once
from tenants.models import Plan, Tenant
from tenants.saas.errors import (
    AlreadySubscribed,
    BillingError,
    EventNotApplicable,
    NoCustomer,
    PlanNotForSale,
    WebhookRejected,
)
from tenants.saas.models import PlanPrice, StripeEvent, Subscription
from tenants.saas.stripe_client import get_client

logger = logging.getLogger(__name__)

# Stripe's statuses the platform does not keep map onto the nearest one it does.
STATUS_FROM_STRIPE: dict[str, Subscription.Status] = {
    "incomplete": Subscription.Status.INCOMPLETE,
    "incomplete_expired": Subscription.Status.CANCELED,
    "trialing": Subscription.Status.TRIALING,
    "active": Subscription.Status.ACTIVE,
    "past_due": Subscription.Status.PAST_DUE,
    "canceled": Subscription.Status.CANCELED,
    "unpaid": Subscription.Status.UNPAID,
    "paused": Subscription.Status.UNPAID,
}
# The firm's plan follows the subscription in these states only: an unpaid
# checkout grants nothing, a canceled one keeps the plan it had (see above).
PLAN_FOLLOWS = frozenset({Subscription.Status.TRIALING, Subscription.Status.ACTIVE, Subscription.Status.PAST_DUE})
SYNCED_FIELDS = ("stripe_subscription_id", "status", "plan", "current_period_end", "cancel_at_period_end")


def _stripe_failed(exc: stripe.StripeError) -> BillingError:
    logger.warning("Stripe refused a billing call: %s (%s)", exc.user_message, getattr(exc, "code", None))
    return BillingError()


# --- Firm side: checkout and billing portal ---------------------------------


def price_for(*, plan: Plan, interval: str = PlanPrice.Interval.MONTH) -> PlanPrice:
    price = PlanPrice.objects.filter(plan=plan, plan__is_public=True, interval=interval, active=True).first()
    if price is None:
        raise PlanNotForSale
    return price


def _customer_for(*, client: stripe.StripeClient, tenant: Tenant) -> Subscription:
    """The firm's row, with its Stripe customer created the first time only."""
    with transaction.atomic():
        # Two admins clicking at once must create one customer, not two.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"saas-customer:{tenant.pk}"])
        subscription = Subscription.objects.filter(tenant=tenant).first()
        if subscription is not None:
            return subscription
        customer = client.v1.customers.create(
            params={
                "name": tenant.name,
                "metadata": {"tenant_id": str(tenant.pk), "tenant_schema": tenant.schema_name},
            },
            # A retry after a rolled-back transaction gets the same customer back (Stripe keeps keys 24 h).
            options={"idempotency_key": f"saas-customer-{tenant.pk}"},
        )
        subscription = Subscription.objects.create(tenant=tenant, stripe_customer_id=customer.id)
        audit.record(
            actor=None,
            action="saas.customer_created",
            obj=subscription,
            changes={"stripe_customer_id": [None, customer.id]},
        )
        return subscription


def start_checkout(
    *, tenant: Tenant, plan: Plan, success_url: str, cancel_url: str, interval: str = PlanPrice.Interval.MONTH
) -> str:
    """A Stripe Checkout page (subscription mode) for `plan`; returns its URL. The webhook does the rest."""
    price = price_for(plan=plan, interval=interval)
    existing = Subscription.objects.filter(tenant=tenant).first()
    if existing is not None and existing.is_live:
        raise AlreadySubscribed
    client = get_client()
    try:
        subscription = _customer_for(client=client, tenant=tenant)
        session = client.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "customer": subscription.stripe_customer_id,
                "line_items": [{"price": price.stripe_price_id, "quantity": 1}],
                "client_reference_id": str(tenant.pk),
                "metadata": {"tenant_schema": tenant.schema_name, "plan": plan.code},
                "subscription_data": {"metadata": {"tenant_schema": tenant.schema_name}},
                "success_url": success_url,
                "cancel_url": cancel_url,
                "locale": "fr",
            }
        )
    except stripe.StripeError as exc:
        raise _stripe_failed(exc) from exc
    if not session.url:
        raise BillingError
    return str(session.url)


def portal_url(*, tenant: Tenant, return_url: str) -> str:
    """Stripe's billing portal for the firm: card, invoices, plan change, cancellation."""
    subscription = Subscription.objects.filter(tenant=tenant).first()
    if subscription is None:
        raise NoCustomer
    client = get_client()
    try:
        session = client.v1.billing_portal.sessions.create(
            params={"customer": subscription.stripe_customer_id, "return_url": return_url, "locale": "fr"}
        )
    except stripe.StripeError as exc:
        raise _stripe_failed(exc) from exc
    return str(session.url)


# --- Operator side: which Stripe price sells which plan ---------------------------


def link_price(*, plan: Plan, stripe_price_id: str) -> PlanPrice:
    """Sell `plan` at this Stripe price (checked against Stripe); it replaces the plan's price of that interval."""
    try:
        price = get_client().v1.prices.retrieve(stripe_price_id).to_dict()
    except stripe.StripeError as exc:
        raise BillingError(_("Stripe ne connaît pas ce prix : %(error)s") % {"error": exc.user_message}) from exc
    interval = (price.get("recurring") or {}).get("interval")
    if interval not in PlanPrice.Interval.values:
        raise BillingError(_("Ce prix n'est pas un abonnement mensuel ou annuel."))
    if str(price.get("currency", "")).upper() != plan.currency.upper():
        raise BillingError(
            _("Ce prix n'est pas dans la devise de la formule (%(currency)s).") % {"currency": plan.currency}
        )
    if interval == PlanPrice.Interval.MONTH and price.get("unit_amount") != plan.monthly_price_cents:
        raise BillingError(_("Ce prix mensuel ne correspond pas au prix affiché de la formule."))
    with transaction.atomic():
        PlanPrice.objects.filter(plan=plan, interval=interval, active=True).exclude(
            stripe_price_id=stripe_price_id
        ).update(active=False)
        linked, _created = PlanPrice.objects.update_or_create(
            stripe_price_id=stripe_price_id, defaults={"plan": plan, "interval": interval, "active": True}
        )
        audit.record(
            actor=None,
            action="saas.price_linked",
            obj=linked,
            changes={"plan": [None, plan.pk], "stripe_price_id": [None, stripe_price_id], "interval": [None, interval]},
        )
    return linked


# --- Platform side: webhook events -------------------------------------------


def handle_webhook(*, payload: bytes, signature: str) -> StripeEvent:
    """Verify, store once, apply. A replay of a stored event changes nothing and returns the stored row."""
    secret = settings.PLATFORM_STRIPE_WEBHOOK_SECRET
    if not secret:
        raise WebhookRejected("not_configured", "PLATFORM_STRIPE_WEBHOOK_SECRET is not set")
    try:
        stripe.Webhook.construct_event(payload, signature, secret)
    except stripe.SignatureVerificationError as exc:
        raise WebhookRejected("bad_signature", "the Stripe-Signature header does not match the payload") from exc
    except ValueError as exc:
        raise WebhookRejected("bad_payload", "the payload is not a Stripe event") from exc
    data = json.loads(payload)
    if not isinstance(data, dict) or not data.get("id") or not data.get("type"):
        raise WebhookRejected("bad_payload", "the payload is not a Stripe event")
    with schema_context(get_public_schema_name()):
        event, created = StripeEvent.objects.get_or_create(
            stripe_id=str(data["id"]), defaults={"type": str(data["type"]), "payload": data}
        )
        if not created and event.status in (StripeEvent.Status.PROCESSED, StripeEvent.Status.IGNORED):
            return event
        return _process(event)


def retry_event(*, event: StripeEvent) -> StripeEvent:
    """The operator's retry of a failed event (Stripe also redelivers it while it answers an error)."""
    with schema_context(get_public_schema_name()):
        if event.status != StripeEvent.Status.FAILED:
            return event
        return _process(event)


def _process(event: StripeEvent) -> StripeEvent:
    def handle(locked: StripeEvent) -> str:
        handler = HANDLERS.get(locked.type)
        if handler is None:
            return StripeEvent.Status.IGNORED
        return handler(locked.payload["data"]["object"], locked.stripe_id)

    return process_once(event, handle)


class _Ignored(Exception):
    """An event that concerns no firm of the platform."""


def _locked_subscription(*, customer_id: object, tenant_id: object = None) -> Subscription:
    row = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("tenant", "plan")
        .filter(stripe_customer_id=str(customer_id or ""))
        .first()
    )
    if row is None:
        raise _Ignored
    if tenant_id is not None and str(row.tenant_id) != str(tenant_id):
        raise EventNotApplicable(f"client_reference_id {tenant_id} is not the firm of customer {customer_id}")
    return row


def _from_timestamp(value: object) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if isinstance(value, int | float) and value else None


def _sync(row: Subscription, *, stripe_subscription_id: str, event_id: str) -> StripeEvent.Status:
    """Apply the subscription as Stripe has it *now* (fetched under the row lock)."""
    if row.stripe_subscription_id and row.stripe_subscription_id != stripe_subscription_id and row.is_live:
        # News of another (older) subscription of the same customer must not replace the live one.
        return StripeEvent.Status.IGNORED
    remote: dict[str, Any] = get_client().v1.subscriptions.retrieve(stripe_subscription_id).to_dict()
    if remote.get("customer") != row.stripe_customer_id:
        raise EventNotApplicable(f"subscription {stripe_subscription_id} belongs to another customer")
    status = STATUS_FROM_STRIPE.get(str(remote.get("status")))
    if status is None:
        raise EventNotApplicable(f"unknown subscription status {remote.get('status')!r}")
    items = remote.get("items", {}).get("data") or []
    if not items:
        raise EventNotApplicable(f"subscription {stripe_subscription_id} has no item")
    price_id = items[0]["price"]["id"]
    price = PlanPrice.objects.select_related("plan").filter(stripe_price_id=price_id).first()
    if price is None:
        raise EventNotApplicable(f"price {price_id} is the price of no plan (add it to the plan prices)")
    # Since API 2025-03-31 the period lives on the items; older versions kept it on the subscription.
    period_end = items[0].get("current_period_end") or remote.get("current_period_end")

    before = audit.snapshot(row, SYNCED_FIELDS)
    row.stripe_subscription_id = stripe_subscription_id
    row.status = status
    row.plan = price.plan
    row.current_period_end = _from_timestamp(period_end)
    row.cancel_at_period_end = bool(remote.get("cancel_at_period_end"))
    changes = audit.diff(before, audit.snapshot(row, SYNCED_FIELDS))
    changes.update(_follow_plan(row))
    if not changes:
        return StripeEvent.Status.PROCESSED
    row.save(update_fields=[*SYNCED_FIELDS, "updated_at"])
    audit_in_both_schemas(row, {**changes, "stripe_event": [None, event_id]})
    return StripeEvent.Status.PROCESSED


def _follow_plan(row: Subscription) -> dict[str, list[audit.JSON]]:
    """The firm's plan (whose limits are enforced) follows a paid subscription."""
    if row.status not in PLAN_FOLLOWS or row.plan is None:
        return {}
    tenant = Tenant.objects.select_for_update().get(pk=row.tenant_id)
    if tenant.plan_id == row.plan.pk:
        return {}
    before = tenant.plan_id
    tenant.plan = row.plan
    tenant.save(update_fields=["plan"])
    row.tenant = tenant
    return {"tenant.plan": [before, row.plan.pk]}


def audit_in_both_schemas(row: Subscription, changes: Mapping[str, Any]) -> None:
    """The platform's log and the firm's own log both keep what billing changed."""
    audit.record(actor=None, action="saas.subscription_synced", obj=row, changes=changes)
    tenant = row.tenant
    if tenant.kind == Tenant.Kind.FIRM and getattr(tenant, "dropped_at", None) is None:
        with schema_context(tenant.schema_name):
            audit.record(actor=None, action="saas.subscription_synced", obj=row, changes=changes)


def _on_checkout_completed(obj: dict[str, Any], event_id: str) -> StripeEvent.Status:
    if obj.get("mode") != "subscription" or not obj.get("subscription"):
        return StripeEvent.Status.IGNORED
    row = _locked_subscription(customer_id=obj.get("customer"), tenant_id=obj.get("client_reference_id"))
    return _sync(row, stripe_subscription_id=str(obj["subscription"]), event_id=event_id)


def _on_subscription_event(obj: dict[str, Any], event_id: str) -> StripeEvent.Status:
    row = _locked_subscription(customer_id=obj.get("customer"))
    return _sync(row, stripe_subscription_id=str(obj["id"]), event_id=event_id)


def _invoice_subscription_id(invoice: dict[str, Any]) -> str | None:
    # Since API 2025-03-31 an invoice names its subscription under parent.subscription_details.
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    sub = details.get("subscription") or invoice.get("subscription")
    if isinstance(sub, dict):
        sub = sub.get("id")
    return str(sub) if sub else None


def _on_invoice_event(obj: dict[str, Any], event_id: str) -> StripeEvent.Status:
    sub_id = _invoice_subscription_id(obj)
    if sub_id is None:
        return StripeEvent.Status.IGNORED
    row = _locked_subscription(customer_id=obj.get("customer"))
    return _sync(row, stripe_subscription_id=sub_id, event_id=event_id)


def _ignoring_strangers(
    handler: Callable[[dict[str, Any], str], StripeEvent.Status],
) -> Callable[[dict[str, Any], str], StripeEvent.Status]:
    def wrapper(obj: dict[str, Any], event_id: str) -> StripeEvent.Status:
        try:
            return handler(obj, event_id)
        except _Ignored:
            return StripeEvent.Status.IGNORED

    return wrapper


HANDLERS: dict[str, Callable[[dict[str, Any], str], StripeEvent.Status]] = {
    "checkout.session.completed": _ignoring_strangers(_on_checkout_completed),
    "customer.subscription.created": _ignoring_strangers(_on_subscription_event),
    "customer.subscription.updated": _ignoring_strangers(_on_subscription_event),
    "customer.subscription.deleted": _ignoring_strangers(_on_subscription_event),
    "invoice.paid": _ignoring_strangers(_on_invoice_event),
    "invoice.payment_failed": _ignoring_strangers(_on_invoice_event),
}


def status_message(subscription: Subscription | None) -> str:
    """One sentence for the firm's page about where its subscription stands."""
    if subscription is None or not subscription.stripe_subscription_id:
        return _("Aucun abonnement en ligne pour le moment.")
    messages = {
        Subscription.Status.PAST_DUE: _(
            "Le dernier paiement a échoué. Mettez à jour votre moyen de paiement depuis « Gérer la facturation »."
        ),
        Subscription.Status.UNPAID: _(
            "Votre abonnement est impayé. Réglez la facture depuis « Gérer la facturation »."
        ),
        Subscription.Status.CANCELED: _(
            "Votre abonnement est résilié. Votre cabinet garde ses données et sa formule actuelle ; "
            "choisissez une formule pour vous réabonner."
        ),
        Subscription.Status.INCOMPLETE: _("Le paiement de votre abonnement n'est pas encore confirmé."),
    }
    return str(messages.get(Subscription.Status(subscription.status), ""))
