"""Personal API tokens: shown once, stored hashed, scoped, revocable, one firm only."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import token_services
from accounts.models import ApiToken
from accounts.permissions import Perm, permissions_of
from core.models import AuditEntry
from core.tokens import hash_token
from tests.factories import AdminFactory, UserFactory

pytestmark = pytest.mark.django_db


def bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def make_token(user, scopes=("members:read",), **kwargs):
    return token_services.create_token(user=user, name="CRM", scopes=scopes, expires_at=kwargs.get("expires_at"))


def test_a_token_is_stored_as_its_hash_and_shown_once(tenant_a):
    user = UserFactory(role="case_officer")

    token, key = make_token(user)

    assert re.fullmatch(r"mdp_[A-Za-z0-9_-]{43}", key)
    token.refresh_from_db()
    assert token.key_hash == hash_token(key)
    assert key not in str(ApiToken.objects.filter(pk=token.pk).values().first())
    assert token.prefix == key[:12]
    assert AuditEntry.objects.filter(action="api_token.created").count() == 1


def test_a_token_authenticates_the_api_and_reports_its_scopes(tenant_a, client_a):
    user = UserFactory(role="case_officer", email="lea@example.fr")
    _token, key = make_token(user, scopes=("members:read", "cases:read"))

    response = client_a.get("/api/v1/me/", **bearer(key))

    assert response.status_code == 200
    body = response.json()
    assert body["email"] == "lea@example.fr"
    assert body["token"]["scopes"] == ["cases:read", "members:read"]
    assert body["permissions"] == ["cases.view", "members.view"]


def test_the_last_use_is_recorded(tenant_a, client_a):
    user = UserFactory(role="case_officer")
    token, key = make_token(user)

    client_a.get("/api/v1/me/", **bearer(key), REMOTE_ADDR="203.0.113.9")

    token.refresh_from_db()
    assert token.last_used_at is not None
    assert token.last_used_ip == "203.0.113.9"


def test_scopes_narrow_the_role_in_views_and_services(tenant_a, client_a):
    user = UserFactory(role="case_officer")  # may edit members
    _token, key = make_token(user, scopes=("members:read",))

    listing = client_a.get("/api/v1/members/", **bearer(key))
    create = client_a.post(
        "/api/v1/members/", {"legal_name": "Boulangerie"}, content_type="application/json", **bearer(key)
    )

    assert listing.status_code == 200
    assert create.status_code == 403
    assert create.json()["code"] == "permission_denied"


def test_a_token_never_grants_more_than_the_role(tenant_a):
    user = UserFactory(role="finance")
    user.api_token_perms = frozenset({Perm.CASES_VIEW, Perm.BILLING_VIEW})

    assert permissions_of(user) == frozenset({Perm.BILLING_VIEW})


def test_scopes_beyond_the_role_are_refused_at_creation(tenant_a):
    user = UserFactory(role="finance")

    with pytest.raises(ValidationError) as excinfo:
        make_token(user, scopes=("cases:write",))

    assert "scopes" in excinfo.value.message_dict


def test_member_business_users_cannot_hold_tokens(tenant_a):
    with pytest.raises(ValidationError):
        make_token(UserFactory(role="member"))


def test_a_revoked_token_is_refused(tenant_a, client_a):
    user = UserFactory(role="case_officer")
    token, key = make_token(user)
    token_services.revoke_token(by=user, token=token)

    response = client_a.get("/api/v1/me/", **bearer(key))

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


def test_an_expired_token_is_refused(tenant_a, client_a):
    user = UserFactory(role="case_officer")
    _token, key = make_token(user, expires_at=timezone.now() + timedelta(days=30))

    with time_machine.travel(timezone.now() + timedelta(days=31)):
        response = client_a.get("/api/v1/me/", **bearer(key))

    assert response.status_code == 401


def test_a_deactivated_users_token_is_refused(tenant_a, client_a):
    user = UserFactory(role="case_officer")
    _token, key = make_token(user)
    user.is_active = False
    user.save(update_fields=["is_active"])

    assert client_a.get("/api/v1/me/", **bearer(key)).status_code == 401


def test_a_token_of_one_firm_is_refused_on_another_firms_host(tenant_a, client_b):
    _token, key = make_token(UserFactory(role="admin"), scopes=("members:read",))

    response = client_b.get("/api/v1/members/", **bearer(key))

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


def test_a_malformed_authorization_header_is_a_401(tenant_a, client_a):
    response = client_a.get("/api/v1/me/", HTTP_AUTHORIZATION="Bearer")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


def test_a_token_needs_no_csrf_token(tenant_a):
    from django.test import Client

    client = Client(HTTP_HOST="alpha.localhost", enforce_csrf_checks=True)
    user = UserFactory(role="case_officer")
    _token, key = make_token(user, scopes=("members:write",))

    response = client.post("/api/v1/members/", {"legal_name": ""}, content_type="application/json", **bearer(key))

    assert response.status_code == 400  # reached validation: no CSRF refusal


# --- Pages ---------------------------------------------------------------------------------------


def test_a_staff_user_creates_a_token_and_sees_it_once(tenant_a, client_a):
    user = UserFactory(role="case_officer")
    client_a.force_login(user)

    form = client_a.get("/staff/jetons-api/nouveau/")
    response = client_a.post(
        "/staff/jetons-api/nouveau/", {"name": "Helpdesk", "scopes": ["cases:read"], "lifetime": "90"}
    )

    assert form.status_code == 200
    assert "Facturation" not in form.content.decode()  # not offered to a case officer
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = re.search(r'value="(mdp_[^"]+)"', response.content.decode()).group(1)
    token = ApiToken.objects.get(user=user)
    assert token.key_hash == hash_token(key)
    assert token.expires_at.date() == (timezone.now() + timedelta(days=90)).date()
    listing = client_a.get("/staff/jetons-api/").content.decode()
    assert "Helpdesk" in listing and key not in listing


def test_the_form_explains_a_missing_scope(tenant_a, client_a):
    client_a.force_login(UserFactory(role="case_officer"))

    response = client_a.post("/staff/jetons-api/nouveau/", {"name": "Helpdesk", "lifetime": "90"})

    assert response.status_code == 200
    assert ApiToken.objects.count() == 0
    assert "Ce champ est obligatoire" in response.content.decode()


def test_an_admin_revokes_a_colleagues_token(tenant_a, client_a):
    colleague = UserFactory(role="case_officer")
    token, key = make_token(colleague)
    client_a.force_login(AdminFactory())

    assert "CRM" in client_a.get("/staff/jetons-api/").content.decode()
    response = client_a.post(f"/staff/jetons-api/{token.pk}/revoquer/")

    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client_a.get("/api/v1/me/", **bearer(key)).status_code == 401


def test_a_user_cannot_see_or_revoke_a_colleagues_token(tenant_a, client_a):
    token, _key = make_token(UserFactory(role="case_officer"))
    client_a.force_login(UserFactory(role="mediator"))

    assert client_a.post(f"/staff/jetons-api/{token.pk}/revoquer/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_member_business_users_get_no_token_page(tenant_a, client_a):
    client_a.force_login(UserFactory(role="member"))

    assert client_a.get("/staff/jetons-api/").status_code == 403


def test_the_last_use_is_written_at_most_once_a_minute(tenant_a, client_a):
    user = UserFactory(role="case_officer")
    token, key = make_token(user)
    client_a.get("/api/v1/me/", **bearer(key), REMOTE_ADDR="203.0.113.9")
    first = ApiToken.objects.get(pk=token.pk).last_used_at

    with time_machine.travel(timezone.now() + timedelta(seconds=20)):
        client_a.get("/api/v1/me/", **bearer(key), REMOTE_ADDR="203.0.113.9")

    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
