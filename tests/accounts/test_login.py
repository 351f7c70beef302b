"""Accounts per firm: password, e-mail code, password reset, TOTP, no open signup."""

from __future__ import annotations

import re

from django.core import mail

from accounts.models import User
from tests.conftest import PASSWORD
from tests.factories import UserFactory


def test_login_with_password_opens_the_staff_area(tenant_a, client_a):
    UserFactory(email="julien@example.fr", first_name="Julien")

    response = client_a.post("/accounts/login/", {"login": "julien@example.fr", "password": PASSWORD}, follow=True)

    assert response.redirect_chain[-1][0] == "/staff/"
    assert "Espace équipe" in response.content.decode()


def test_staff_area_requires_login(tenant_a, client_a):
    response = client_a.get("/staff/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_login_by_email_code(tenant_a, client_a):
    UserFactory(email="sophie@example.fr")

    client_a.post("/accounts/login/code/", {"email": "sophie@example.fr"})
    assert len(mail.outbox) == 1
    assert "alpha.localhost" in mail.outbox[0].subject
    code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", mail.outbox[0].body, re.M)
    assert code, mail.outbox[0].body

    response = client_a.post("/accounts/login/code/confirm/", {"code": code.group(1)})
    assert response.status_code == 302
    assert client_a.get("/staff/").status_code == 200


def test_password_reset_mail_links_to_the_firm_host(tenant_a, client_a):
    UserFactory(email="sophie@example.fr")

    client_a.post("/accounts/password/reset/", {"email": "sophie@example.fr"})

    assert len(mail.outbox) == 1
    assert "http://alpha.localhost/accounts/password/reset/key/" in mail.outbox[0].body


def test_totp_can_be_activated(tenant_a, client_a):
    UserFactory(email="sophie@example.fr")
    client_a.post("/accounts/login/", {"login": "sophie@example.fr", "password": PASSWORD})
    # Turning MFA on asks for the password again, as a sensitive action.
    assert client_a.get("/accounts/2fa/totp/activate/")["Location"].startswith("/accounts/reauthenticate/")
    client_a.post("/accounts/reauthenticate/", {"password": PASSWORD})

    response = client_a.get("/accounts/2fa/totp/activate/")

    assert response.status_code == 200
    assert "otpauth://" in response.content.decode() or "svg" in response.content.decode()


def test_open_signup_is_closed(tenant_a, client_a):
    response = client_a.post(
        "/accounts/signup/", {"email": "intruder@example.fr", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 200
    assert "Inscriptions fermées" in response.content.decode() or "closed" in response.content.decode()
    assert not User.objects.filter(email="intruder@example.fr").exists()


def test_login_page_does_not_invite_strangers_to_sign_up(tenant_a, client_a):
    page = client_a.get("/accounts/login/").content.decode()

    assert 'href="/accounts/signup/"' not in page
    assert 'href="/accounts/login/code/"' in page


def test_login_page_is_french_by_default(tenant_a, client_a):
    page = client_a.get("/accounts/login/").content.decode()

    assert "Connexion" in page
    assert "Sign In" not in page
