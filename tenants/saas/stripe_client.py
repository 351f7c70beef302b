"""The one place a Stripe client of the platform's own account is built."""

from __future__ import annotations

import stripe
from django.conf import settings

from tenants.saas.errors import StripeNotConfigured

# Tests put an in-process HTTP client here (tests/stripe_fake.py); None means the SDK's default (requests).
HTTP_CLIENT: stripe.HTTPClient | None = None


def is_configured() -> bool:
    return bool(settings.PLATFORM_STRIPE_SECRET_KEY)


def get_client() -> stripe.StripeClient:
    """A client for the platform's Stripe account; raises StripeNotConfigured without a secret key."""
    if not is_configured():
        raise StripeNotConfigured
    # The SDK reports request timings to Stripe unless told not to; the flag is global in the SDK.
    stripe.enable_telemetry = False
    return stripe.StripeClient(
        settings.PLATFORM_STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
        http_client=HTTP_CLIENT,
    )
