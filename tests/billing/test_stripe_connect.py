"""Stripe Connect: the firm connects its own Stripe account from its settings; the status follows Stripe."""

from __future__ import annotations

import pytest
from django_tenants.utils import get_public_schema_name, schema_context

from billing import payments, services
from core.models import AuditEntry
from tenants.models import Tenant
from tests.billing.payments_helpers import connect_firm, tenant_account
from tests.factories import AdminFactory, UserFactory
from tests.stripe_fake import FakeStripe, stripe_fake_fixture  # noqa: F401  (the stripe_fake fixture)

PAGE = "/staff/facturation/stripe/"


@pytest.fixture
def admin(tenant_a):
    return AdminFactory()


@pytest.fixture
def admin_client(admin, client_a):
    client_a.force_login(admin)
    return client_a


def link_requests(fake: FakeStripe) -> list[dict]:
    return [r for r in fake.requests if r["path"] == "/v1/account_links"]


def test_connecting_creates_the_account_once_and_sends_the_admin_to_stripe(stripe_fake, admin_client, use_tenant):
    response = admin_client.post(PAGE + "connecter/")

    use_tenant("alpha")
    account = services.billing_settings().stripe_account_id
    assert account.startswith("acct_")
    assert response.status_code == 302
    assert response["Location"].startswith(f"https://connect.stripe.com/setup/s/{account}/")
    assert tenant_account("alpha") == account  # the public row that routes the webhook events
    [created] = [r for r in stripe_fake.requests if r["path"] == "/v1/accounts"]
    assert created["account"] is None  # created by the platform, not inside another account
    assert created["params"]["country"] == "FR"
    assert created["params"]["metadata"]["tenant_schema"] == "alpha"
    [link] = link_requests(stripe_fake)
    assert link["params"]["type"] == "account_onboarding"
    assert link["params"]["return_url"] == "http://alpha.localhost/staff/facturation/stripe/retour/"
    assert link["params"]["refresh_url"] == "http://alpha.localhost/staff/facturation/stripe/reprendre/"

    again = admin_client.post(PAGE + "connecter/")

    use_tenant("alpha")
    assert again.status_code == 302
    assert len(stripe_fake.of_type("account")) == 1
    assert len(link_requests(stripe_fake)) == 2
    assert AuditEntry.objects.filter(action="billing.stripe_account_created").count() == 1


def test_back_from_onboarding_the_account_is_read_again(stripe_fake, admin, admin_client, use_tenant):
    payments.start_onboarding(by=admin, refresh_url="http://x/r", return_url="http://x/ok")
    account = services.billing_settings().stripe_account_id
    stripe_fake.complete_onboarding(account)

    response = admin_client.get(PAGE + "retour/", follow=True)

    assert response.redirect_chain[-1][0] == PAGE
    page = response.content.decode()
    assert "Paiements en ligne activés" in page
    assert "vos adhérents peuvent payer en ligne" in page
    use_tenant("alpha")
    config = services.billing_settings()
    assert (config.stripe_charges_enabled, config.stripe_payouts_enabled, config.stripe_details_submitted) == (
        True,
        True,
        True,
    )
    assert config.stripe_synced_at is not None


def test_an_expired_onboarding_link_gives_a_fresh_one(stripe_fake, admin, admin_client):
    payments.start_onboarding(by=admin, refresh_url="http://x/r", return_url="http://x/ok")

    response = admin_client.get(PAGE + "reprendre/")

    assert response.status_code == 302
    assert response["Location"].startswith("https://connect.stripe.com/setup/s/")
    assert len(link_requests(stripe_fake)) == 2


@pytest.mark.parametrize(
    ("state", "shown"),
    [
        ("not_configured", "Le paiement en ligne n'est pas configuré sur la plateforme"),
        ("not_connected", "Connecter mon compte Stripe"),
        ("onboarding", "Inscription Stripe à terminer"),
        ("enabled", "Paiements en ligne activés"),
    ],
)
def test_the_page_shows_where_the_account_stands(stripe_fake, settings, admin_client, state, shown):
    if state == "onboarding":
        connect_firm(stripe_fake, charges_enabled=False)
    elif state == "enabled":
        connect_firm(stripe_fake)
    elif state == "not_configured":
        settings.PLATFORM_STRIPE_SECRET_KEY = ""

    response = admin_client.get(PAGE)

    assert response.status_code == 200
    assert shown in response.content.decode()
    assert payments.connect_status().state == state


def test_the_status_can_be_refreshed_from_stripe(stripe_fake, admin_client, use_tenant):
    account = connect_firm(stripe_fake, charges_enabled=False)
    stripe_fake.complete_onboarding(account)

    response = admin_client.post(PAGE + "actualiser/")

    assert response.status_code == 302
    use_tenant("alpha")
    assert payments.connect_status().can_take_payments


def test_without_the_platform_key_connecting_says_so_and_creates_nothing(stripe_fake, settings, admin_client):
    settings.PLATFORM_STRIPE_SECRET_KEY = ""

    response = admin_client.post(PAGE + "connecter/", follow=True)

    assert "Le paiement en ligne n'est pas configuré sur la plateforme" in response.content.decode()
    assert not stripe_fake.requests


def test_a_stripe_failure_is_shown_and_nothing_is_stored(stripe_fake, admin_client, use_tenant):
    stripe_fake.fail_next(400, "invalid_request_error", "Platform not activated for Connect")

    response = admin_client.post(PAGE + "connecter/", follow=True)

    assert "Le service de paiement" in response.content.decode()
    use_tenant("alpha")
    assert services.billing_settings().stripe_account_id == ""
    assert tenant_account("alpha") is None


@pytest.mark.parametrize("role", ["finance", "mediator", "case_officer", "read_only", "member"])
def test_only_the_firm_settings_permission_opens_the_page(stripe_fake, tenant_a, client_a, role):
    client_a.force_login(UserFactory(role=role))

    assert client_a.get(PAGE).status_code == 403
    assert client_a.post(PAGE + "connecter/").status_code == 403
    assert client_a.get(PAGE + "retour/").status_code == 403
    assert not stripe_fake.requests


def test_anonymous_visitors_log_in_first(stripe_fake, tenant_a, client_a):
    response = client_a.get(PAGE)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_each_firm_connects_its_own_account(stripe_fake, admin_client, client_b, use_tenant):
    admin_client.post(PAGE + "connecter/")
    use_tenant("alpha")
    alpha_account = services.billing_settings().stripe_account_id
    use_tenant("beta")
    client_b.force_login(AdminFactory())

    page = client_b.get(PAGE).content.decode()
    client_b.post(PAGE + "connecter/")

    assert alpha_account not in page
    assert "Connecter mon compte Stripe" in page
    use_tenant("beta")
    beta_account = services.billing_settings().stripe_account_id
    assert beta_account and beta_account != alpha_account
    with schema_context(get_public_schema_name()):
        routes = dict(
            Tenant.objects.filter(schema_name__in=["alpha", "beta"]).values_list("schema_name", "stripe_account_id")
        )
    assert routes == {"alpha": alpha_account, "beta": beta_account}
