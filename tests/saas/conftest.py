from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tenants.models import Plan
from tenants.saas.models import PlanPrice
from tests.stripe_fake import FakeStripe, signed_event, stripe_fake_fixture  # noqa: F401  (the stripe_fake fixture)

WEBHOOK = "/stripe/webhook/"


@pytest.fixture
def prices(stripe_fake: FakeStripe, db: None) -> dict[str, PlanPrice]:
    """Each public plan sold monthly at a price that exists in the fake Stripe account."""
    return {
        plan.code: PlanPrice.objects.create(
            plan=plan,
            stripe_price_id=stripe_fake.create_price(unit_amount=plan.monthly_price_cents, product_name=plan.name),
        )
        for plan in Plan.objects.filter(is_public=True)
    }


def deliver(client: Client, event: dict[str, Any]) -> Any:
    payload, signature = signed_event(event)
    return client.post(WEBHOOK, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
