"""Against Stripe's real test mode, only when STRIPE_API_KEY (a test key of a Connect platform) and
STRIPE_CONNECT_TEST_ACCOUNT (a connected test account with charges enabled) are in the environment."""

from __future__ import annotations

import os

import pytest

from billing import payments, services
from billing.models import BillingSettings, CheckoutSession, StripeCustomer
from billing.stripe_client import get_client
from tests.billing.helpers import issued_invoice
from tests.factories import AdminFactory

pytestmark = pytest.mark.skipif(
    not (os.environ.get("STRIPE_API_KEY") and os.environ.get("STRIPE_CONNECT_TEST_ACCOUNT")),
    reason="STRIPE_API_KEY and STRIPE_CONNECT_TEST_ACCOUNT are not set",
)


@pytest.fixture
def live(settings, tenant_a, media_root) -> str:
    key, account = os.environ["STRIPE_API_KEY"], os.environ["STRIPE_CONNECT_TEST_ACCOUNT"]
    assert key.startswith(("sk_test_", "rk_test_")), "never run this against a live key"
    settings.PLATFORM_STRIPE_SECRET_KEY = key
    settings.STRIPE_API_BASE = "https://api.stripe.com"
    settings.STRIPE_MAX_NETWORK_RETRIES = 2
    services.billing_settings()
    BillingSettings.objects.filter(pk=1).update(stripe_account_id=account)
    return account


def test_the_connected_account_is_read_and_a_card_and_sepa_checkout_open_in_it(live):
    status = payments.refresh_account(by=AdminFactory())
    assert status.account_id == live
    assert status.can_take_payments, "the test account must have charges enabled"
    invoice = issued_invoice()

    try:
        for method in ("card", "sepa_debit"):
            url = payments.start_checkout(
                invoice=invoice,
                method=method,
                success_url="https://example.com/ok",
                cancel_url="https://example.com/ko",
            )
            assert url.startswith("https://checkout.stripe.com/")
        rows = list(CheckoutSession.objects.filter(invoice=invoice).order_by("pk"))
        assert [row.status for row in rows] == ["expired", "open"]  # the second Checkout closed the first
        session = get_client(live).v1.checkout.sessions.retrieve(rows[-1].session_id)
        assert session.amount_total == invoice.balance_cents
        assert session.metadata["invoice_id"] == str(invoice.pk)
    finally:
        client = get_client(live)
        for row in CheckoutSession.objects.filter(invoice=invoice, status="open"):
            client.v1.checkout.sessions.expire(row.session_id)
        for customer in StripeCustomer.objects.all():
            client.v1.customers.delete(customer.customer_id)
