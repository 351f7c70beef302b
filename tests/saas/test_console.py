"""The operator's console: subscriptions and events are read-only; failed events can be retried."""

from __future__ import annotations

import pytest

from accounts.models import User
from tenants.models import Plan
from tenants.saas.models import PlanPrice, StripeEvent
from tests.saas.conftest import deliver


@pytest.fixture
def operator_client(db, public_client):
    operator = User.objects.create_user(email="ops@plateforme.fr", password="x" * 12, is_staff=True)
    operator.is_superuser = True
    operator.save()
    public_client.force_login(operator)
    return public_client


def test_events_are_listed_but_cannot_be_edited(stripe_fake, operator_client):
    deliver(operator_client, stripe_fake.event("customer.created", {"id": "cus_x", "object": "customer"}))
    event = StripeEvent.objects.get()

    assert "customer.created" in operator_client.get("/admin/saas/stripeevent/").content.decode()
    detail = operator_client.post(f"/admin/saas/stripeevent/{event.pk}/change/", {"status": "processed"})
    assert detail.status_code == 403
    assert operator_client.get("/admin/saas/subscription/add/").status_code == 403


def test_the_operator_retries_a_failed_event(stripe_fake, operator_client):
    event = stripe_fake.event("customer.subscription.updated", {"id": "sub_x", "object": "subscription"})
    row = StripeEvent.objects.create(
        stripe_id=event["id"], type=event["type"], payload=event, status=StripeEvent.Status.FAILED, attempts=1
    )
    PlanPrice.objects.create(plan=Plan.objects.get(code="cabinet"), stripe_price_id="price_x")

    response = operator_client.post(
        "/admin/saas/stripeevent/", {"action": "retry", "_selected_action": [row.pk]}, follow=True
    )

    row.refresh_from_db()
    assert row.status == StripeEvent.Status.IGNORED  # no firm has that customer: nothing to apply
    assert row.attempts == 2
    assert "1 événement traité sur 1 relancé." in response.content.decode()
