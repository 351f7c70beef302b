"""Starting a subscription: the Stripe customer once, a Checkout Session with the plan's price."""

from __future__ import annotations

import io

import pytest
import stripe

from core.models import AuditEntry
from tenants.models import Plan
from tenants.saas import services
from tenants.saas.errors import AlreadySubscribed, BillingError, PlanNotForSale, StripeNotConfigured
from tenants.saas.models import Subscription
from tenants.saas.stripe_client import get_client
from tests.stripe_fake import parse_form

URLS = {"success_url": "http://alpha.localhost/ok", "cancel_url": "http://alpha.localhost/ko"}


def test_checkout_session_has_the_plan_price_the_firm_customer_and_reference(stripe_fake, prices, tenant_a):
    cabinet = Plan.objects.get(code="cabinet")

    url = services.start_checkout(tenant=tenant_a, plan=cabinet, **URLS)

    [session] = stripe_fake.of_type("checkout.session")
    [customer] = stripe_fake.of_type("customer")
    assert url == session["url"]
    assert session["mode"] == "subscription"
    assert session["line_items"] == [{"price": prices["cabinet"].stripe_price_id, "quantity": "1"}]
    assert session["customer"] == customer["id"] == Subscription.objects.get(tenant=tenant_a).stripe_customer_id
    assert session["client_reference_id"] == str(tenant_a.pk)
    assert session["metadata"] == {"tenant_schema": "alpha", "plan": "cabinet"}
    assert customer["metadata"]["tenant_schema"] == "alpha"
    assert AuditEntry.objects.filter(action="saas.customer_created").count() == 1


def test_a_second_checkout_reuses_the_firm_customer(stripe_fake, prices, tenant_a):
    for code in ("essentiel", "cabinet"):
        services.start_checkout(tenant=tenant_a, plan=Plan.objects.get(code=code), **URLS)

    assert len(stripe_fake.of_type("customer")) == 1
    assert len(stripe_fake.of_type("checkout.session")) == 2


def test_a_firm_with_a_live_subscription_changes_plan_in_the_portal_not_a_new_checkout(stripe_fake, prices, tenant_a):
    services.start_checkout(tenant=tenant_a, plan=Plan.objects.get(code="cabinet"), **URLS)
    Subscription.objects.filter(tenant=tenant_a).update(stripe_subscription_id="sub_x", status="active")

    with pytest.raises(AlreadySubscribed):
        services.start_checkout(tenant=tenant_a, plan=Plan.objects.get(code="reseau"), **URLS)


def test_a_plan_without_a_stripe_price_is_not_for_sale(stripe_fake, tenant_a):
    with pytest.raises(PlanNotForSale):
        services.start_checkout(tenant=tenant_a, plan=Plan.objects.get(code="cabinet"), **URLS)


def test_without_a_secret_key_stripe_is_not_configured(settings, prices, tenant_a):
    settings.PLATFORM_STRIPE_SECRET_KEY = ""

    with pytest.raises(StripeNotConfigured):
        services.start_checkout(tenant=tenant_a, plan=Plan.objects.get(code="cabinet"), **URLS)


def test_a_stripe_error_becomes_a_billing_error_for_the_firm(stripe_fake, prices, tenant_a):
    stripe_fake.fail_next(402, "card_error", "Your card was declined.", code="card_declined")

    with pytest.raises(BillingError) as refused:
        services.start_checkout(tenant=tenant_a, plan=Plan.objects.get(code="cabinet"), **URLS)
    assert "momentanément indisponible" in refused.value.message
    assert not Subscription.objects.filter(tenant=tenant_a).exists()


def test_the_portal_opens_for_the_firm_customer(stripe_fake, prices, tenant_a):
    services.start_checkout(tenant=tenant_a, plan=Plan.objects.get(code="cabinet"), **URLS)

    url = services.portal_url(tenant=tenant_a, return_url="http://alpha.localhost/back")

    [portal] = stripe_fake.of_type("billing_portal.session")
    assert url == portal["url"]
    assert portal["customer"] == Subscription.objects.get(tenant=tenant_a).stripe_customer_id
    assert portal["return_url"] == "http://alpha.localhost/back"


# --- the fake answers like Stripe ---------------------------------------------


def test_the_fake_parses_nested_form_keys():
    assert parse_form("line_items[0][price]=p1&line_items[0][quantity]=1&metadata[k]=v&expand[0]=x") == {
        "line_items": [{"price": "p1", "quantity": "1"}],
        "metadata": {"k": "v"},
        "expand": ["x"],
    }


def test_the_fake_answers_stripe_errors_the_sdk_understands(stripe_fake):
    client = get_client()

    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.subscriptions.retrieve("sub_nope")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")

    with pytest.raises(stripe.InvalidRequestError) as bad:
        client.v1.checkout.sessions.create(params={"mode": "subscription", "success_url": "http://x/"})
    assert (bad.value.http_status, bad.value.param) == (400, "line_items")

    stripe_fake.api_key = "sk_test_other"
    with pytest.raises(stripe.AuthenticationError):
        client.v1.customers.create()


def test_the_operator_links_a_plan_to_a_stripe_price_that_matches_it(stripe_fake, db):
    from django.core.management import CommandError, call_command

    cabinet = Plan.objects.get(code="cabinet")
    good = stripe_fake.create_price(unit_amount=cabinet.monthly_price_cents)
    wrong_amount = stripe_fake.create_price(unit_amount=1)

    call_command("saas_link_price", "cabinet", good, stdout=io.StringIO())
    with pytest.raises(CommandError, match="ne correspond pas"):
        call_command("saas_link_price", "cabinet", wrong_amount)
    with pytest.raises(CommandError, match="Stripe ne connaît pas ce prix"):
        call_command("saas_link_price", "cabinet", "price_nope")

    assert services.price_for(plan=cabinet).stripe_price_id == good
