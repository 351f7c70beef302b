"""A firm's users, sessions and data never reach another firm."""

from __future__ import annotations

from django.core import mail
from django.test import Client

from accounts.models import User
from tests.conftest import PASSWORD
from tests.factories import UserFactory


def test_object_created_in_one_schema_is_invisible_in_the_other(tenant_a, use_tenant):
    UserFactory(email="only-in-alpha@example.fr")
    assert User.objects.filter(email="only-in-alpha@example.fr").exists()

    use_tenant("beta")
    assert not User.objects.filter(email="only-in-alpha@example.fr").exists()


def test_user_of_one_firm_cannot_log_in_on_the_other_host(tenant_a, client_a, client_b, use_tenant):
    UserFactory(email="claire@example.fr")

    refused = client_b.post("/accounts/login/", {"login": "claire@example.fr", "password": PASSWORD})
    assert refused.status_code == 200  # the form again, with an error
    assert "_auth_user_id" not in client_b.session

    accepted = client_a.post("/accounts/login/", {"login": "claire@example.fr", "password": PASSWORD})
    assert accepted.status_code == 302
    assert client_a.session["_auth_user_id"]


def test_login_code_is_never_sent_for_a_user_of_another_firm(tenant_a, client_b):
    UserFactory(email="claire@example.fr")

    client_b.post("/accounts/login/code/", {"email": "claire@example.fr"})

    assert mail.outbox == []


def test_session_of_one_firm_is_anonymous_on_the_other_host(tenant_a, client_a, use_tenant):
    UserFactory(email="claire@example.fr")
    client_a.post("/accounts/login/", {"login": "claire@example.fr", "password": PASSWORD})
    session_cookie = client_a.cookies["sessionid"].value

    replay = Client(HTTP_HOST="beta.localhost")
    replay.cookies["sessionid"] = session_cookie

    assert replay.get("/staff/").status_code == 302
    api = replay.get("/api/v1/me/")
    assert api.status_code == 401
    assert api.json()["code"] == "not_authenticated"


def test_session_and_csrf_cookies_are_host_only(tenant_a, client_a):
    UserFactory(email="claire@example.fr")
    response = client_a.post("/accounts/login/", {"login": "claire@example.fr", "password": PASSWORD})

    cookie = response.cookies["sessionid"]
    assert cookie["domain"] == ""


def test_api_answers_for_the_firm_of_the_host(tenant_a, client_a, client_b, use_tenant):
    # force_login writes last_login on the connection's current schema.
    client_a.force_login(UserFactory(email="a@example.fr"))
    use_tenant("beta")
    client_b.force_login(UserFactory(email="b@example.fr"))

    assert client_a.get("/api/v1/me/").json()["firm"]["schema_name"] == "alpha"
    assert client_b.get("/api/v1/me/").json()["firm"]["schema_name"] == "beta"


def test_unknown_host_is_not_served(db):
    response = Client(HTTP_HOST="nobody.localhost").get("/")
    assert response.status_code == 404
