"""A firm that requires MFA sends staff without TOTP to the activation page, and only them."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from firm.models import FirmProfile
from tests.factories import UserFactory

MESSAGE = "Votre cabinet exige la double authentification"


def _require_mfa(on: bool = True) -> None:
    FirmProfile.objects.update_or_create(pk=FirmProfile.SINGLETON_PK, defaults={"require_mfa": on})


@pytest.fixture
def member(tenant_a, client_a):
    user = UserFactory(email="julien@example.fr")
    client_a.force_login(user)
    return user


@pytest.mark.parametrize("path", ["/staff/", "/staff/equipe/", "/staff/cabinet/", "/admin/"])
def test_staff_pages_redirect_to_totp_activation(member, client_a, path):
    _require_mfa()

    response = client_a.get(path)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/totp/activate/"


def test_the_redirect_explains_why_in_french(member, client_a):
    _require_mfa()

    response = client_a.get("/staff/", follow=True)

    assert MESSAGE in response.content.decode()


def test_api_answers_with_a_json_error(member, client_a):
    _require_mfa()

    response = client_a.get("/api/v1/me/")

    assert response.status_code == 403
    assert response.json()["code"] == "mfa_required"


def test_account_pages_and_logout_stay_reachable(member, client_a):
    _require_mfa()

    assert client_a.get("/accounts/2fa/").status_code == 200
    assert client_a.get("/accounts/2fa/totp/activate/").status_code == 302  # to re-authentication, not a loop
    assert client_a.get("/accounts/2fa/totp/activate/")["Location"].startswith("/accounts/reauthenticate/")
    assert client_a.get("/").status_code == 200
    client_a.post("/accounts/logout/")
    assert "_auth_user_id" not in client_a.session


def test_staff_with_totp_pass_through(member, client_a):
    _require_mfa()
    TOTP.activate(member, generate_totp_secret())

    assert client_a.get("/staff/").status_code == 200


def test_nothing_is_required_when_the_firm_does_not_ask(member, client_a):
    _require_mfa(on=False)

    assert client_a.get("/staff/").status_code == 200


def test_anonymous_visitors_go_to_the_login_page_as_usual(tenant_a, client_a):
    _require_mfa()

    assert client_a.get("/staff/")["Location"].startswith("/accounts/login/")


def test_one_firm_requiring_mfa_does_not_affect_another(tenant_a, client_b, use_tenant):
    _require_mfa()
    use_tenant("beta")
    client_b.force_login(UserFactory(email="beta@example.fr"))

    assert client_b.get("/staff/").status_code == 200
