"""/api/v1/webhooks/: endpoints (list, create, detail, change, delete, ping), deliveries (list, detail, redeliver)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from accounts.models import User
from accounts.permissions import Perm
from integrations import services
from integrations.models import WebhookDelivery, WebhookEndpoint
from tests.factories import AdminFactory, UserFactory
from tests.roles import ROLES_AND_ANONYMOUS, allowed, log_in_with_role, role_id

ENDPOINTS = "/api/v1/webhooks/endpoints/"
DELIVERIES = "/api/v1/webhooks/deliveries/"


def call(client: Any, method: str, url: str, data: Any = None) -> Any:
    body = json.dumps(data) if data is not None else ""
    return getattr(client, method)(url, body, content_type="application/json")


@pytest.fixture
def api_admin(admin: Any, client_a: Any) -> Any:
    client_a.force_login(admin)
    return admin


def _assert_refused(response: Any, role: User.Role | None) -> None:
    if role is None:  # no session: refused before any permission (401 with a token challenge, or 403)
        assert response.status_code in (401, 403)
        assert response.json()["code"] == "not_authenticated"
    else:
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"


# --- Permissions and isolation ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=role_id)
def test_only_firm_settings_holders_use_the_webhooks_api(tenant_a, client_a, endpoint, role):
    log_in_with_role(client_a, role)
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event_type="ping", payload={}, status="failed")

    responses = [
        client_a.get(ENDPOINTS),
        call(client_a, "post", ENDPOINTS, {"url": "http://127.0.0.1:9/", "events": ["case.created"]}),
        client_a.get(f"{ENDPOINTS}{endpoint.pk}/"),
        call(client_a, "patch", f"{ENDPOINTS}{endpoint.pk}/", {"description": "x"}),
        client_a.get(DELIVERIES),
        client_a.get(f"{DELIVERIES}{delivery.pk}/"),
    ]

    for response in responses:
        if allowed(role, Perm.FIRM_SETTINGS):
            assert response.status_code in (200, 201), response.content
        else:
            _assert_refused(response, role)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "endpoints/{e}/ping/"),
        ("delete", "endpoints/{e}/"),
        ("post", "deliveries/{d}/redeliver/"),
    ],
)
def test_writes_are_refused_to_a_case_officer_and_to_anonymous(tenant_a, client_a, endpoint, method, path):
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event_type="ping", payload={}, status="failed")
    url = "/api/v1/webhooks/" + path.format(e=endpoint.pk, d=delivery.pk)

    _assert_refused(call(client_a, method, url), None)
    client_a.force_login(UserFactory(role=User.Role.CASE_OFFICER))
    _assert_refused(call(client_a, method, url), User.Role.CASE_OFFICER)

    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert WebhookDelivery.objects.count() == 1


def test_another_firms_objects_are_not_found(db, client_a, use_tenant):
    use_tenant("beta")
    other_admin = AdminFactory()
    theirs = services.create_endpoint(by=other_admin, url="http://127.0.0.1:9/", events=["case.created"])
    delivery = services.send_ping(by=other_admin, endpoint=theirs)
    use_tenant("alpha")
    client_a.force_login(AdminFactory())

    for response in (
        client_a.get(f"{ENDPOINTS}{theirs.pk}/"),
        call(client_a, "patch", f"{ENDPOINTS}{theirs.pk}/", {"description": "pwned"}),
        call(client_a, "delete", f"{ENDPOINTS}{theirs.pk}/"),
        call(client_a, "post", f"{ENDPOINTS}{theirs.pk}/ping/"),
        client_a.get(f"{DELIVERIES}{delivery.pk}/"),
        call(client_a, "post", f"{DELIVERIES}{delivery.pk}/redeliver/"),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert client_a.get(ENDPOINTS).json()["results"] == []
    assert client_a.get(DELIVERIES).json()["results"] == []
    use_tenant("beta")
    theirs.refresh_from_db()
    assert theirs.description == ""


# --- Endpoints ----------------------------------------------------------------------------------------------


def test_create_answers_with_the_secret(api_admin, client_a, receiver):
    response = call(
        client_a,
        "post",
        ENDPOINTS,
        {"url": receiver.url, "events": ["invoice.paid", "case.created"], "description": "CRM"},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body["id"] == endpoint.pk
    assert body["secret"] == endpoint.secret and body["secret"].startswith("whsec_")
    assert body["events"] == ["case.created", "invoice.paid"]  # the catalogue's order
    assert body["is_active"] is True
    assert body["last_delivery_status"] is None


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({"url": "not a url", "events": ["case.created"]}, "url", "invalid_url"),
        ({"url": "http://127.0.0.1:9/", "events": []}, "events", "invalid"),
        ({"url": "http://127.0.0.1:9/", "events": ["case.deleted"]}, "events", "invalid"),
        ({"events": ["case.created"]}, "url", "invalid"),
    ],
)
def test_invalid_input_is_a_400_with_a_code(api_admin, client_a, data, field, code):
    response = call(client_a, "post", ENDPOINTS, data)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert field in response.json()["detail"]
    assert not WebhookEndpoint.objects.exists()


def test_a_private_url_is_refused_when_private_networks_are_off(api_admin, client_a, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False

    response = call(client_a, "post", ENDPOINTS, {"url": "https://10.0.0.1/hooks", "events": ["case.created"]})

    assert response.status_code == 400
    assert response.json()["code"] == "private_address"
    assert "url" in response.json()["detail"]


def test_list_has_no_secret_and_the_last_delivery(api_admin, client_a, endpoint):
    WebhookDelivery.objects.create(endpoint=endpoint, event_type="ping", payload={}, status="succeeded")

    body = client_a.get(ENDPOINTS).json()

    [row] = body["results"]
    assert "secret" not in row
    assert row["last_delivery_status"] == "succeeded"
    assert "next" in body and "previous" in body


def test_detail_patch_and_delete(api_admin, client_a, endpoint):
    detail = client_a.get(f"{ENDPOINTS}{endpoint.pk}/").json()
    assert detail["secret"] == endpoint.secret

    patched = call(client_a, "patch", f"{ENDPOINTS}{endpoint.pk}/", {"events": ["invoice.issued"], "is_active": False})
    assert patched.status_code == 200
    assert patched.json()["events"] == ["invoice.issued"]
    assert patched.json()["is_active"] is False
    endpoint.refresh_from_db()
    assert endpoint.url  # untouched fields stay

    bad = call(client_a, "patch", f"{ENDPOINTS}{endpoint.pk}/", {"url": "gopher://x"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_url"

    assert call(client_a, "delete", f"{ENDPOINTS}{endpoint.pk}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()
    assert client_a.get(f"{ENDPOINTS}{endpoint.pk}/").status_code == 404


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_an_endpoint_deleted_by_a_concurrent_request_is_a_404(api_admin, client_a, endpoint, monkeypatch, method):
    """The contract run got a 500: the view found the endpoint, another request deleted it, the service's lock
    found nothing (WebhookEndpoint.DoesNotExist)."""
    from integrations.api import views

    found = views._endpoint(endpoint.pk)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()
    monkeypatch.setattr(views, "_endpoint", lambda pk: found)

    response = call(client_a, method, f"{ENDPOINTS}{endpoint.pk}/", {"description": "Helpdesk"})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_ping_sends_a_test_event(
    api_admin, client_a, endpoint, receiver, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = call(client_a, "post", f"{ENDPOINTS}{endpoint.pk}/ping/")

    assert response.status_code == 202
    body = response.json()
    assert body["event_type"] == "ping"
    assert body["payload"]["data"]["endpoint_id"] == endpoint.pk
    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get(pk=body["id"]).status == "succeeded"


def test_ping_on_a_disabled_endpoint_is_a_409(api_admin, client_a, endpoint):
    services.update_endpoint(by=api_admin, endpoint=endpoint, is_active=False)

    response = call(client_a, "post", f"{ENDPOINTS}{endpoint.pk}/ping/")

    assert response.status_code == 409
    assert response.json()["code"] == "endpoint_disabled"


# --- Deliveries ---------------------------------------------------------------------------------------------


def test_deliveries_list_filters(api_admin, client_a, endpoint, admin, receiver):
    other = services.create_endpoint(by=admin, url=receiver.url, events=["invoice.paid"])
    failed = WebhookDelivery.objects.create(endpoint=endpoint, event_type="ping", payload={}, status="failed")
    WebhookDelivery.objects.create(endpoint=endpoint, event_type="invoice.paid", payload={}, status="succeeded")
    WebhookDelivery.objects.create(endpoint=other, event_type="invoice.paid", payload={}, status="failed")

    def ids(**params: Any) -> list[int]:
        response = client_a.get(DELIVERIES, params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert len(ids()) == 3
    assert ids(endpoint=endpoint.pk, status="failed") == [failed.pk]
    assert len(ids(event_type="invoice.paid")) == 2
    refused = client_a.get(DELIVERIES, {"status": "lost"})
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_filter"
    bad_cursor = client_a.get(DELIVERIES, {"cursor": "not-a-cursor"})
    assert bad_cursor.status_code == 400 and bad_cursor.json()["code"] == "invalid_filter"


def test_deliveries_are_paginated_by_cursor(api_admin, client_a, endpoint):
    for _ in range(3):
        WebhookDelivery.objects.create(endpoint=endpoint, event_type="ping", payload={})

    first = client_a.get(DELIVERIES, {"page_size": 2}).json()
    second = client_a.get(first["next"]).json()

    assert len(first["results"]) == 2 and len(second["results"]) == 1
    assert not {row["id"] for row in first["results"]} & {row["id"] for row in second["results"]}


def test_delivery_detail_has_the_payload_and_the_answer(api_admin, client_a, endpoint):
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_type="ping",
        payload={"type": "ping"},
        status="failed",
        last_status_code=500,
        last_error="Réponse HTTP 500",
        response_excerpt="oops",
    )

    body = client_a.get(f"{DELIVERIES}{delivery.pk}/").json()

    assert body["payload"] == {"type": "ping"}
    assert (body["last_status_code"], body["last_error"], body["response_excerpt"]) == (500, "Réponse HTTP 500", "oops")


def test_redeliver_a_finished_delivery(
    api_admin, client_a, endpoint, receiver, eager_celery, django_capture_on_commit_callbacks
):
    original = WebhookDelivery.objects.create(
        endpoint=endpoint, event_type="ping", payload={"type": "ping"}, status="failed"
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = call(client_a, "post", f"{DELIVERIES}{original.pk}/redeliver/")

    assert response.status_code == 202
    copy = WebhookDelivery.objects.get(pk=response.json()["id"])
    assert copy.pk != original.pk and copy.event_id == original.event_id
    assert copy.status == "succeeded"
    assert receiver.requests[0].headers["webhook-id"] == str(original.event_id)


def test_redeliver_a_pending_delivery_is_a_409(api_admin, client_a, endpoint):
    pending = WebhookDelivery.objects.create(endpoint=endpoint, event_type="ping", payload={})

    response = call(client_a, "post", f"{DELIVERIES}{pending.pk}/redeliver/")

    assert response.status_code == 409
    assert response.json()["code"] == "delivery_pending"


def test_a_huge_id_is_a_404(api_admin, client_a):
    assert client_a.get(f"{ENDPOINTS}99999999999999999999999/").status_code == 404
    assert client_a.get(f"{DELIVERIES}99999999999999999999999/").status_code == 404
