"""Against Stripe's real test mode, only when STRIPE_API_KEY (a test key) is in the environment."""

from __future__ import annotations

import os

import pytest
import stripe

pytestmark = pytest.mark.skipif(not os.environ.get("STRIPE_API_KEY"), reason="STRIPE_API_KEY is not set")


def test_a_customer_can_be_created_and_deleted_in_test_mode():
    key = os.environ["STRIPE_API_KEY"]
    assert key.startswith(("sk_test_", "rk_test_")), "never run this against a live key"
    stripe.enable_telemetry = False
    client = stripe.StripeClient(key, max_network_retries=2)

    customer = client.v1.customers.create(params={"name": "Test médiation (à supprimer)"})
    try:
        assert customer.id.startswith("cus_")
    finally:
        deleted = client.v1.customers.delete(customer.id)
    assert deleted.deleted is True
