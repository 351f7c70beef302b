"""/staff/cabinet/abonnement/: what the firm's admin sees and can do; nobody else gets in."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from accounts.permissions import Perm
from tenants.models import Plan, Tenant
from tenants.saas.models import Subscription
from tests.factories import AdminFactory, UserFactory
from tests.roles import ROLES_AND_ANONYMOUS, assert_html_outcome, log_in_with_role, role_id

PAGE = "/staff/cabinet/abonnement/"


@pytest.fixture
def admin_client(tenant_a, client_a):
    client_a.force_login(AdminFactory(email="claire@example.fr"))
    return client_a


def page_text(client) -> str:
    response = client.get(PAGE)
    assert response.status_code == 200
    return response.content.decode().replace("&#x27;", "'")


def subscribe(schema: str, *, status: str, plan: str, customer: str) -> Subscription:
    tenant = Tenant.objects.get(schema_name=schema)
    return Subscription.objects.create(
        tenant=tenant,
        stripe_customer_id=customer,
        stripe_subscription_id=f"sub_{customer}",
        status=status,
        plan=Plan.objects.get(code=plan),
        current_period_end=timezone.now() + datetime.timedelta(days=30),
    )


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=role_id)
def test_only_roles_with_firm_settings_see_the_page(role, tenant_a, client_a):
    log_in_with_role(client_a, role)

    assert_html_outcome(client_a.get(PAGE), role=role, perm=Perm.FIRM_SETTINGS, success=200)


@pytest.mark.parametrize("url", [PAGE + "souscrire/", PAGE + "facturation/"])
def test_other_roles_cannot_start_a_checkout_or_open_the_portal(url, stripe_fake, prices, tenant_a, client_a):
    client_a.force_login(UserFactory(role="finance"))

    response = client_a.post(url, {"plan": "cabinet", "interval": "month"})

    assert response.status_code == 403
    assert not stripe_fake.requests


def test_the_page_shows_plan_seats_and_plans_with_prices(stripe_fake, prices, admin_client, use_tenant):
    Tenant.objects.filter(schema_name="alpha").update(plan=Plan.objects.get(code="essentiel"))

    text = page_text(admin_client)

    assert "Essentiel" in text and "Cabinet" in text and "Réseau" in text
    assert "1 utilisés sur 2" in text
    assert "149,00" in text  # Cabinet's monthly price
    assert "Souscrire Cabinet (Mensuel)" in text
    assert "Pas d'abonnement en ligne" in text
    assert 'href="/staff/cabinet/abonnement/" aria-current="page"' in text


def test_choosing_a_plan_redirects_to_stripe_checkout(stripe_fake, prices, admin_client):
    response = admin_client.post(PAGE + "souscrire/", {"plan": "cabinet", "interval": "month"})

    [session] = stripe_fake.of_type("checkout.session")
    assert response.status_code == 302
    assert response["Location"] == session["url"]
    assert session["success_url"] == "http://alpha.localhost/staff/cabinet/abonnement/?checkout=success"


def test_manage_billing_redirects_to_the_portal(stripe_fake, prices, admin_client):
    admin_client.post(PAGE + "souscrire/", {"plan": "cabinet", "interval": "month"})

    response = admin_client.post(PAGE + "facturation/")

    [portal] = stripe_fake.of_type("billing_portal.session")
    assert response["Location"] == portal["url"]


def test_a_past_due_subscription_is_shown_with_what_to_do(stripe_fake, admin_client):
    subscribe("alpha", status="past_due", plan="cabinet", customer="cus_alpha")

    text = page_text(admin_client)

    assert "Paiement en retard" in text
    assert "Le dernier paiement a échoué" in text
    assert "Gérer la facturation" in text
    assert "Souscrire" not in text  # a live subscription changes plan in the portal


def test_a_canceled_subscription_offers_to_subscribe_again(stripe_fake, prices, admin_client):
    subscribe("alpha", status="canceled", plan="cabinet", customer="cus_alpha")

    text = page_text(admin_client)

    assert "Résilié" in text and "choisissez une formule pour vous réabonner" in text
    assert "Souscrire Cabinet (Mensuel)" in text


def test_a_firm_never_sees_another_firm_subscription(stripe_fake, prices, admin_client):
    subscribe("beta", status="past_due", plan="reseau", customer="cus_beta")

    text = page_text(admin_client)
    response = admin_client.post(PAGE + "facturation/", follow=True)

    assert "Paiement en retard" not in text
    assert "Pas d'abonnement en ligne" in text
    assert not stripe_fake.of_type("billing_portal.session")
    assert "choisissez d'abord une formule" in response.content.decode().replace("&#x27;", "'")


def test_without_stripe_the_page_says_online_payment_is_not_configured(settings, admin_client):
    settings.PLATFORM_STRIPE_SECRET_KEY = ""

    text = page_text(admin_client)
    response = admin_client.post(PAGE + "souscrire/", {"plan": "cabinet"}, follow=True)

    assert "Le paiement en ligne n'est pas encore configuré" in text
    assert "Souscrire" not in text
    assert response.status_code == 200
    assert "Le paiement en ligne n'est pas encore configuré" in response.content.decode().replace("&#x27;", "'")


def test_a_stripe_error_is_a_message_not_a_500(stripe_fake, prices, admin_client):
    stripe_fake.fail_next(401, "invalid_request_error", "Invalid API Key provided")

    response = admin_client.post(PAGE + "souscrire/", {"plan": "cabinet", "interval": "month"}, follow=True)

    assert response.status_code == 200
    assert "momentanément indisponible" in response.content.decode()
