"""The staff pages of webhooks (/staff/cabinet/webhooks/): admins only, in French, every write through a service."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import User
from accounts.permissions import Perm
from core.models import AuditEntry
from integrations import services
from integrations.models import WebhookDelivery, WebhookEndpoint
from tests.factories import AdminFactory, UserFactory
from tests.roles import ROLES_AND_ANONYMOUS, assert_html_outcome, log_in_with_role, role_id

BASE = "/staff/cabinet/webhooks/"


@pytest.fixture
def logged_admin(admin: Any, client_a: Any) -> Any:
    client_a.force_login(admin)
    return admin


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=role_id)
def test_only_firm_settings_holders_see_the_webhooks(tenant_a, client_a, role):
    log_in_with_role(client_a, role)

    assert_html_outcome(client_a.get(BASE), role=role, perm=Perm.FIRM_SETTINGS, success=200)


def test_a_case_officer_cannot_create_an_endpoint(tenant_a, client_a):
    client_a.force_login(UserFactory(role=User.Role.CASE_OFFICER))

    response = client_a.post(f"{BASE}nouveau/", {"url": "http://127.0.0.1:9/", "events": ["case.created"]})

    assert response.status_code == 403
    assert not WebhookEndpoint.objects.exists()


def test_the_empty_list_says_what_to_do_next(logged_admin, client_a):
    page = client_a.get(BASE).content.decode()

    assert "Aucun point de terminaison pour l'instant." in page
    assert f'href="{BASE}nouveau/"' in page


def test_an_admin_creates_an_endpoint_and_sees_its_secret(logged_admin, client_a, receiver):
    form = client_a.get(f"{BASE}nouveau/").content.decode()
    assert "Facture payée" in form and 'value="invoice.paid"' in form

    response = client_a.post(
        f"{BASE}nouveau/",
        {"url": receiver.url, "description": "CRM", "events": ["case.created", "invoice.paid"], "is_active": "on"},
    )

    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{BASE}{endpoint.pk}/"
    assert endpoint.events == ["case.created", "invoice.paid"]
    assert endpoint.created_by == logged_admin
    page = client_a.get(response["Location"]).content.decode()
    assert endpoint.secret in page
    assert "Aucun événement envoyé pour l'instant." in page
    assert AuditEntry.objects.filter(action="webhooks.endpoint_created", object_id=str(endpoint.pk)).exists()


def test_the_form_refuses_a_private_url_when_private_networks_are_off(logged_admin, client_a, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False

    response = client_a.post(f"{BASE}nouveau/", {"url": "https://127.0.0.1/hooks", "events": ["case.created"]})

    assert response.status_code == 200
    assert "réseau privé" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_form_needs_an_event(logged_admin, client_a, receiver):
    response = client_a.post(f"{BASE}nouveau/", {"url": receiver.url})

    assert response.status_code == 200
    assert "Choisissez au moins un événement." in response.content.decode()


def test_an_admin_edits_and_disables_an_endpoint(logged_admin, client_a, endpoint):
    response = client_a.post(f"{BASE}{endpoint.pk}/modifier/", {"url": endpoint.url, "events": ["invoice.issued"]})

    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.events == ["invoice.issued"]
    assert not endpoint.is_active


def test_ping_sends_a_test_event_and_shows_its_delivery(
    logged_admin, client_a, endpoint, receiver, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(f"{BASE}{endpoint.pk}/test/")

    delivery = WebhookDelivery.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{BASE}livraisons/{delivery.pk}/"
    assert delivery.event_type == "ping"
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert len(receiver.requests) == 1
    page = client_a.get(response["Location"]).content.decode()
    assert "Réussie" in page and "200" in page and "&quot;ping&quot;" in page


def test_redeliver_from_the_delivery_page(
    logged_admin, client_a, endpoint, receiver, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        original = services.send_ping(by=logged_admin, endpoint=endpoint)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(f"{BASE}livraisons/{original.pk}/renvoyer/")

    copy = WebhookDelivery.objects.exclude(pk=original.pk).get()
    assert response.status_code == 302 and response["Location"] == f"{BASE}livraisons/{copy.pk}/"
    assert copy.event_id == original.event_id
    assert len(receiver.requests) == 2
    entry = AuditEntry.objects.get(action="webhooks.redelivered")
    assert entry.actor_id == logged_admin.pk and entry.changes == {"delivery": [original.pk, copy.pk]}


def test_the_log_filters_by_status_and_event_type(logged_admin, client_a, endpoint):
    WebhookDelivery.objects.create(endpoint=endpoint, event_type="ping", payload={}, status="failed")
    WebhookDelivery.objects.create(endpoint=endpoint, event_type="invoice.paid", payload={}, status="succeeded")

    page = client_a.get(f"{BASE}{endpoint.pk}/", {"status": "failed"}).content.decode()

    assert "1 livraison" in page
    assert "<td><code>ping</code></td>" in page and "<td><code>invoice.paid</code></td>" not in page
    page = client_a.get(f"{BASE}{endpoint.pk}/", {"event_type": "case.created"}).content.decode()
    assert "Aucune livraison ne correspond à ces critères." in page


def test_regenerating_the_secret_asks_first_then_replaces_it(logged_admin, client_a, endpoint):
    old = endpoint.secret

    confirm = client_a.get(f"{BASE}{endpoint.pk}/secret/")
    endpoint.refresh_from_db()
    assert confirm.status_code == 200 and endpoint.secret == old
    assert "secret cessera aussitôt de fonctionner" in confirm.content.decode()

    response = client_a.post(f"{BASE}{endpoint.pk}/secret/")

    endpoint.refresh_from_db()
    assert response.status_code == 302
    assert endpoint.secret != old and endpoint.secret.startswith("whsec_")


def test_delete_after_confirmation(logged_admin, client_a, endpoint):
    assert client_a.get(f"{BASE}{endpoint.pk}/supprimer/").status_code == 200

    response = client_a.post(f"{BASE}{endpoint.pk}/supprimer/")

    assert response.status_code == 302 and response["Location"] == BASE
    assert not WebhookEndpoint.objects.exists()


def test_another_firms_endpoint_is_not_found(db, client_a, use_tenant):
    use_tenant("beta")
    other_admin = AdminFactory()
    theirs = services.create_endpoint(by=other_admin, url="http://127.0.0.1:9/", events=["case.created"])
    delivery = services.send_ping(by=other_admin, endpoint=theirs)
    use_tenant("alpha")
    client_a.force_login(AdminFactory())

    assert client_a.get(f"{BASE}{theirs.pk}/").status_code == 404
    assert client_a.post(f"{BASE}{theirs.pk}/test/").status_code == 404
    assert client_a.get(f"{BASE}livraisons/{delivery.pk}/").status_code == 404
