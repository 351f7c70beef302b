"""GET /api/v1/staff/: the firm's staff, for its admins only, never another firm's."""

from __future__ import annotations

from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client

from accounts.models import User
from tests.factories import AdminFactory, UserFactory


def test_lists_the_staff_with_role_status_and_mfa(tenant_a, client_a):
    admin = AdminFactory(email="claire@example.fr")
    TOTP.activate(admin, generate_totp_secret())
    UserFactory(email="parti@example.fr", role=User.Role.FINANCE, is_active=False)
    client_a.force_login(admin)

    body = client_a.get("/api/v1/staff/").json()

    by_email = {row["email"]: row for row in body}
    assert set(by_email) == {"claire@example.fr", "parti@example.fr"}
    assert by_email["claire@example.fr"]["role"] == "admin"
    assert by_email["claire@example.fr"]["has_totp"] is True
    assert by_email["parti@example.fr"]["is_active"] is False
    assert "password" not in by_email["parti@example.fr"]


def test_lists_only_the_firm_of_the_host(tenant_a, client_a, client_b, use_tenant):
    client_a.force_login(AdminFactory(email="claire@example.fr"))
    use_tenant("beta")
    beta_admin = AdminFactory(email="beta-admin@example.fr")
    client_b.force_login(beta_admin)

    alpha_emails = {row["email"] for row in client_a.get("/api/v1/staff/").json()}
    beta_emails = {row["email"] for row in client_b.get("/api/v1/staff/").json()}

    assert alpha_emails == {"claire@example.fr"}
    assert beta_emails == {"beta-admin@example.fr"}


def test_staff_pages_list_only_the_firm_of_the_host(tenant_a, client_a, use_tenant):
    client_a.force_login(AdminFactory(email="claire@example.fr"))
    use_tenant("beta")
    UserFactory(email="only-in-beta@example.fr")

    assert "only-in-beta@example.fr" not in client_a.get("/staff/equipe/").content.decode()


def test_an_admin_session_of_one_firm_is_anonymous_on_another(tenant_a, client_a):
    client_a.force_login(AdminFactory(email="claire@example.fr"))

    replay = Client(HTTP_HOST="beta.localhost")
    replay.cookies["sessionid"] = client_a.cookies["sessionid"].value

    assert replay.get("/staff/equipe/")["Location"].startswith("/accounts/login/")
    assert replay.get("/api/v1/staff/").json()["code"] == "not_authenticated"
