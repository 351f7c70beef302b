"""The one place a Stripe client for billing is built: the platform's key acting on a firm's connected account.

Stripe Connect: the platform holds one secret key (`PLATFORM_STRIPE_SECRET_KEY`);
every call about a firm's members carries the firm's account in the
`Stripe-Account` header, so customers, Checkout Sessions, PaymentIntents and
mandates live in the firm's own Stripe account and the money goes there.
"""

from __future__ import annotations

import stripe
from django.conf import settings

# Tests put an in-process HTTP client here (tests/stripe_fake.py); None means the SDK's default (requests).
HTTP_CLIENT: stripe.HTTPClient | None = None


def is_configured() -> bool:
    """Whether the platform can talk to Stripe at all (its secret key is set)."""
    return bool(settings.PLATFORM_STRIPE_SECRET_KEY)


def get_client(account: str | None = None) -> stripe.StripeClient:
    """A client with the platform's key; with `account`, every request acts on that connected account.

    Callers check `is_configured()` first (billing.payments turns a missing key into a BillingError).
    """
    if not is_configured():
        raise RuntimeError("PLATFORM_STRIPE_SECRET_KEY is not set")
    # The SDK reports request timings to Stripe unless told not to; the flag is global in the SDK.
    stripe.enable_telemetry = False
    return stripe.StripeClient(
        settings.PLATFORM_STRIPE_SECRET_KEY,
        stripe_account=account or None,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
        http_client=HTTP_CLIENT,
    )
