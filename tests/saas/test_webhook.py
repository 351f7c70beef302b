"""Stripe's webhook: verified, stored once, applied from the API's current state, never rolled back."""

from __future__ import annotations

import json
import time

import pytest

from core.models import AuditEntry
from tenants.models import Plan, Tenant
from tenants.saas import services
from tenants.saas.models import PlanPrice, StripeEvent, Subscription
from tests.saas.conftest import WEBHOOK, deliver
from tests.stripe_fake import signed_event


@pytest.fixture
def checkout(stripe_fake, prices, db):
    """Alpha went through Checkout for "Cabinet" and paid; Stripe has not told the platform yet."""
    alpha = Tenant.objects.get(schema_name="alpha")
    services.start_checkout(
        tenant=alpha, plan=Plan.objects.get(code="cabinet"), success_url="http://x/ok", cancel_url="http://x/ko"
    )
    [session] = stripe_fake.of_type("checkout.session")
    return stripe_fake.complete_checkout(session["id"])


@pytest.fixture
def active(checkout, stripe_fake, public_client):
    deliver(public_client, stripe_fake.event("checkout.session.completed", checkout))
    return stripe_fake.get(checkout["subscription"])


def alpha() -> Tenant:
    return Tenant.objects.select_related("plan").get(schema_name="alpha")


def synced_rows() -> int:
    return AuditEntry.objects.filter(action="saas.subscription_synced").count()


def test_a_signed_checkout_completed_activates_the_subscription_and_the_plan(checkout, stripe_fake, public_client):
    response = deliver(public_client, stripe_fake.event("checkout.session.completed", checkout))

    assert response.status_code == 200
    assert response.json()["status"] == "processed"
    subscription = Subscription.objects.get(tenant=alpha())
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.stripe_subscription_id == checkout["subscription"]
    assert subscription.plan.code == "cabinet"
    assert subscription.current_period_end is not None
    assert alpha().plan.code == "cabinet"
    entry = AuditEntry.objects.get(action="saas.subscription_synced")
    assert entry.changes["status"] == ["incomplete", "active"]


def test_a_replayed_event_changes_nothing(checkout, stripe_fake, public_client):
    payload, signature = signed_event(stripe_fake.event("checkout.session.completed", checkout))

    for _ in range(2):
        response = public_client.post(
            WEBHOOK, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
        )
        assert response.status_code == 200

    assert StripeEvent.objects.count() == 1
    assert StripeEvent.objects.get().attempts == 1
    assert synced_rows() == 1


def test_a_bad_signature_is_refused_and_nothing_is_stored(checkout, stripe_fake, public_client):
    payload, _ = signed_event(stripe_fake.event("checkout.session.completed", checkout))
    _, other_signature = signed_event({"id": "evt_other"})

    response = public_client.post(
        WEBHOOK, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=other_signature
    )

    assert response.status_code == 400
    assert response.json()["code"] == "bad_signature"
    assert not StripeEvent.objects.exists()
    assert Subscription.objects.get(tenant=alpha()).status == Subscription.Status.INCOMPLETE


def test_a_missing_signature_is_refused(stripe_fake, public_client, db):
    response = public_client.post(WEBHOOK, b"{}", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "bad_signature"


def test_a_signed_body_that_is_no_event_is_a_bad_payload(stripe_fake, public_client, db):
    payload, signature = signed_event({"hello": "world"})

    response = public_client.post(WEBHOOK, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)

    assert response.status_code == 400
    assert response.json()["code"] == "bad_payload"
    assert not StripeEvent.objects.exists()


def test_an_unknown_event_type_is_stored_and_ignored(stripe_fake, public_client, db):
    response = deliver(public_client, stripe_fake.event("customer.created", {"id": "cus_x", "object": "customer"}))

    assert response.status_code == 200
    assert StripeEvent.objects.get().status == StripeEvent.Status.IGNORED


def test_a_deleted_subscription_is_canceled_and_the_firm_keeps_its_plan_flagged(active, stripe_fake, public_client):
    stripe_fake.update_subscription(active["id"], status="canceled", canceled_at=int(time.time()))

    deliver(public_client, stripe_fake.event("customer.subscription.deleted", active))

    subscription = Subscription.objects.get(tenant=alpha())
    assert subscription.status == Subscription.Status.CANCELED
    assert not subscription.is_live
    # Policy (tenants/saas/services.py): the plan stays, so its limits keep applying.
    assert alpha().plan.code == "cabinet"


def test_an_older_event_delivered_late_does_not_roll_back(active, stripe_fake, public_client):
    stale = stripe_fake.event("customer.subscription.updated", active, created=int(time.time()) - 60)
    reseau = PlanPrice.objects.get(plan__code="reseau").stripe_price_id
    stripe_fake.update_subscription(active["id"], price_id=reseau)
    newer = stripe_fake.event("customer.subscription.updated", stripe_fake.get(active["id"]))

    deliver(public_client, newer)
    assert alpha().plan.code == "reseau"
    rows = synced_rows()

    response = deliver(public_client, stale)

    assert response.status_code == 200
    assert Subscription.objects.get(tenant=alpha()).plan.code == "reseau"
    assert alpha().plan.code == "reseau"
    assert synced_rows() == rows


def test_a_failed_payment_makes_the_subscription_past_due(active, stripe_fake, public_client):
    stripe_fake.update_subscription(active["id"], status="past_due")

    deliver(
        public_client, stripe_fake.event("invoice.payment_failed", stripe_fake.invoice_for(active["id"], paid=False))
    )

    assert Subscription.objects.get(tenant=alpha()).status == Subscription.Status.PAST_DUE
    assert alpha().plan.code == "cabinet"


def test_a_paid_invoice_brings_the_subscription_back(active, stripe_fake, public_client):
    stripe_fake.update_subscription(active["id"], status="past_due")
    deliver(
        public_client, stripe_fake.event("invoice.payment_failed", stripe_fake.invoice_for(active["id"], paid=False))
    )
    stripe_fake.update_subscription(active["id"], status="active")

    deliver(public_client, stripe_fake.event("invoice.paid", stripe_fake.invoice_for(active["id"], paid=True)))

    assert Subscription.objects.get(tenant=alpha()).status == Subscription.Status.ACTIVE


def test_an_event_for_a_price_of_no_plan_fails_then_succeeds_on_retry(active, stripe_fake, public_client):
    stray = stripe_fake.create_price(unit_amount=999)
    stripe_fake.update_subscription(active["id"], price_id=stray)

    response = deliver(public_client, stripe_fake.event("customer.subscription.updated", stripe_fake.get(active["id"])))

    assert response.status_code == 500
    assert response.json()["code"] == "processing_failed"
    event = StripeEvent.objects.get(type="customer.subscription.updated")
    assert (event.status, event.attempts) == (StripeEvent.Status.FAILED, 1)
    assert "price of no plan" in event.error

    PlanPrice.objects.create(plan=Plan.objects.get(code="essentiel"), stripe_price_id=stray, interval="year")
    event = services.retry_event(event=event)

    assert (event.status, event.attempts) == (StripeEvent.Status.PROCESSED, 2)
    assert alpha().plan.code == "essentiel"


def test_an_event_about_a_customer_of_no_firm_is_ignored(stripe_fake, public_client, db):
    event = stripe_fake.event(
        "customer.subscription.updated", {"id": "sub_x", "object": "subscription", "customer": "cus_x"}
    )

    response = deliver(public_client, event)

    assert response.status_code == 200
    assert StripeEvent.objects.get().status == StripeEvent.Status.IGNORED


def test_the_firm_audit_log_also_records_the_change(active, use_tenant):
    use_tenant("alpha")
    entry = AuditEntry.objects.get(action="saas.subscription_synced")
    assert entry.changes["status"] == ["incomplete", "active"]
    assert json.dumps(entry.changes)  # plain JSON
