"""Emission and delivery: one delivery per subscribed active endpoint, signed POSTs to a real local server,
retries with backoff, the periodic catch-up, no double sending, and the SSRF guard at send time."""

from __future__ import annotations

import datetime
import json
import socket
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from integrations import services, signing, tasks
from integrations.events import EventType
from integrations.models import WebhookDelivery, WebhookEndpoint

S = WebhookDelivery.Status
DATA = {"id": 1, "reference": "2026-00001"}


def _emit(capture: Any, event_type: str = EventType.CASE_CREATED) -> list[WebhookDelivery]:
    with capture(execute=True):
        return services.emit(event_type=event_type, data=DATA)


def test_emit_creates_one_delivery_per_active_endpoint_subscribed(admin, receiver):
    crm = services.create_endpoint(by=admin, url=receiver.url, events=[EventType.CASE_CREATED])
    helpdesk = services.create_endpoint(by=admin, url=receiver.url, events=[EventType.CASE_CREATED, "invoice.paid"])
    services.create_endpoint(by=admin, url=receiver.url, events=[EventType.INVOICE_ISSUED])
    services.create_endpoint(by=admin, url=receiver.url, events=[EventType.CASE_CREATED], is_active=False)

    deliveries = services.emit(event_type=EventType.CASE_CREATED, data=DATA)

    assert {delivery.endpoint_id for delivery in deliveries} == {crm.pk, helpdesk.pk}
    assert len({delivery.event_id for delivery in deliveries}) == 1
    payload = WebhookDelivery.objects.get(endpoint=crm).payload
    assert payload["id"] == str(deliveries[0].event_id)
    assert payload["type"] == "case.created"
    assert payload["firm"] == "alpha"
    assert payload["data"] == DATA
    datetime.datetime.fromisoformat(payload["created"])


def test_emit_without_subscribers_writes_nothing(tenant_a):
    assert services.emit(event_type=EventType.INVOICE_PAID, data=DATA) == []
    assert not WebhookDelivery.objects.exists()


def test_a_delivery_reaches_the_local_server_signed(
    endpoint, receiver, eager_celery, django_capture_on_commit_callbacks
):
    [delivery] = _emit(django_capture_on_commit_callbacks)

    [request] = receiver.requests
    assert request.path == "/hooks"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("Mediation-Webhooks/")
    assert request.headers["webhook-id"] == str(delivery.event_id)
    signing.verify(secret=endpoint.secret, headers=request.headers, body=request.body)
    assert json.loads(request.body)["data"] == DATA
    delivery.refresh_from_db()
    assert delivery.status == S.SUCCEEDED
    assert delivery.attempts == 1
    assert delivery.last_status_code == 200
    assert delivery.response_excerpt == '{"received": true}'
    assert delivery.delivered_at is not None


def test_a_failure_is_retried_with_backoff_then_succeeds(
    endpoint, receiver, eager_celery, django_capture_on_commit_callbacks
):
    receiver.answers = [500, 503]
    [delivery] = _emit(django_capture_on_commit_callbacks)

    delivery.refresh_from_db()
    assert delivery.status == S.PENDING
    assert delivery.attempts == 1
    assert delivery.last_status_code == 500
    assert "500" in delivery.last_error
    first_retry = delivery.next_attempt_at - delivery.last_attempt_at
    assert datetime.timedelta(seconds=59) < first_retry <= datetime.timedelta(seconds=61)

    assert tasks.send_due_deliveries() == 0  # not due before its minute

    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=2)):
        tasks.send_due_deliveries()
        delivery.refresh_from_db()
        assert (delivery.attempts, delivery.last_status_code, delivery.status) == (2, 503, S.PENDING)
        second_retry = delivery.next_attempt_at - delivery.last_attempt_at
        assert datetime.timedelta(minutes=4) < second_retry <= datetime.timedelta(minutes=5, seconds=1)

    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=8)):
        tasks.send_due_deliveries()

    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status_code, delivery.status) == (3, 200, S.SUCCEEDED)
    assert delivery.last_error == ""
    assert len(receiver.requests) == 3
    assert {request.headers["webhook-id"] for request in receiver.requests} == {str(delivery.event_id)}


def test_after_the_last_attempt_the_delivery_is_failed(endpoint, receiver, eager_celery):
    receiver.answers = [500]
    [delivery] = services.emit(event_type=EventType.CASE_CREATED, data=DATA)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=services.MAX_ATTEMPTS - 1)

    tasks.deliver(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == S.FAILED
    assert delivery.attempts == services.MAX_ATTEMPTS
    assert delivery.next_attempt_at is None
    assert tasks.send_due_deliveries() == 0


def test_an_endpoint_failing_every_recent_delivery_is_disabled_with_a_reason(endpoint, receiver, eager_celery):
    for _ in range(services.AUTO_DISABLE_AFTER - 1):
        WebhookDelivery.objects.create(
            endpoint=endpoint, event_type="ping", payload={}, status=S.FAILED, last_attempt_at=timezone.now()
        )
    receiver.answers = [500]
    [delivery] = services.emit(event_type=EventType.CASE_CREATED, data=DATA)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=services.MAX_ATTEMPTS - 1)

    tasks.deliver(delivery.pk)

    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "ont toutes échoué" in endpoint.disabled_reason


def test_the_periodic_task_sends_what_a_lost_task_left_pending(endpoint, receiver, eager_celery):
    # No on_commit capture: the queued task is "lost"; the row is due.
    [delivery] = services.emit(event_type=EventType.INVOICE_ISSUED, data=DATA)
    assert receiver.requests == []

    assert tasks.send_due_deliveries() == 1

    delivery.refresh_from_db()
    assert delivery.status == S.SUCCEEDED
    assert len(receiver.requests) == 1


def test_a_duplicate_task_does_not_send_twice(endpoint, receiver):
    [delivery] = services.emit(event_type=EventType.CASE_CREATED, data=DATA)

    assert tasks.deliver(delivery.pk) is True
    assert tasks.deliver(delivery.pk) is False
    assert tasks.send_due_deliveries() == 0

    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1


def test_a_leased_delivery_is_not_sent_again_before_its_lease_ends(endpoint, receiver):
    [delivery] = services.emit(event_type=EventType.CASE_CREATED, data=DATA)
    claimed = services._claim(delivery.pk, timezone.now())  # a worker took it and is posting
    assert claimed is not None

    assert tasks.deliver(delivery.pk) is False
    assert receiver.requests == []


def test_a_connection_error_counts_as_a_failed_attempt(admin, eager_celery):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    services.create_endpoint(by=admin, url=f"http://127.0.0.1:{port}/", events=[EventType.CASE_CREATED])
    [delivery] = services.emit(event_type=EventType.CASE_CREATED, data=DATA)

    tasks.deliver(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == S.PENDING
    assert delivery.attempts == 1
    assert delivery.last_status_code is None
    assert "ConnectionError" in delivery.last_error


def test_a_redirect_is_not_followed(endpoint, receiver):
    receiver.answers = [302]
    [delivery] = services.emit(event_type=EventType.CASE_CREATED, data=DATA)

    tasks.deliver(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == S.PENDING
    assert delivery.last_status_code == 302
    assert len(receiver.requests) == 1


def test_the_response_excerpt_keeps_the_first_2_kb(endpoint, receiver):
    receiver.answer_body = b"x" * 10_000
    [delivery] = services.emit(event_type=EventType.CASE_CREATED, data=DATA)

    tasks.deliver(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.response_excerpt == "x" * 2048


def test_a_disabled_endpoints_pending_delivery_is_abandoned(endpoint, receiver, admin):
    [delivery] = services.emit(event_type=EventType.CASE_CREATED, data=DATA)
    services.update_endpoint(by=admin, endpoint=endpoint, is_active=False)

    tasks.deliver(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == S.FAILED
    assert receiver.requests == []


def test_redeliver_sends_the_same_event_again_as_a_new_delivery(
    endpoint, receiver, admin, eager_celery, django_capture_on_commit_callbacks
):
    [delivery] = _emit(django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        copy = services.redeliver(by=admin, delivery=delivery)

    copy.refresh_from_db()
    assert copy.pk != delivery.pk
    assert copy.status == S.SUCCEEDED
    assert copy.payload == delivery.payload
    assert [request.headers["webhook-id"] for request in receiver.requests] == [str(delivery.event_id)] * 2


# --- SSRF ------------------------------------------------------------------------------------------------


@pytest.fixture
def public_only(settings: Any, monkeypatch: Any) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    addresses = {"crm.example.com": "93.184.216.34", "intranet.example.com": "10.1.2.3"}

    def fake_getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in addresses:
            raise socket.gaierror("unknown host")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (addresses[host], port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://crm.example.com/hooks", "scheme_not_allowed"),
        ("https://127.0.0.1/hooks", "private_address"),
        ("https://localhost:8000/hooks", "private_address"),
        ("https://10.0.0.5/hooks", "private_address"),
        ("https://192.168.1.10/hooks", "private_address"),
        ("https://169.254.169.254/latest/meta-data/", "private_address"),
        ("https://[::1]/hooks", "private_address"),
        ("https://[::ffff:127.0.0.1]/hooks", "private_address"),
        ("https://intranet.example.com/hooks", "private_address"),
        ("https://nowhere.example.com/hooks", "unresolvable_host"),
        ("ftp://crm.example.com/hooks", "invalid_url"),
    ],
)
def test_unsafe_urls_are_refused_when_private_networks_are_not_allowed(public_only, admin, url, code):
    with pytest.raises(services.WebhookError) as refused:
        services.create_endpoint(by=admin, url=url, events=[EventType.CASE_CREATED])

    assert refused.value.code == code
    assert not WebhookEndpoint.objects.exists()


def test_a_public_https_url_is_accepted(public_only, admin):
    endpoint = services.create_endpoint(by=admin, url="https://crm.example.com/hooks", events=["case.created"])

    assert endpoint.url == "https://crm.example.com/hooks"


def test_the_guard_runs_again_at_send_time(endpoint, receiver, settings):
    [delivery] = services.emit(event_type=EventType.CASE_CREATED, data=DATA)
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False

    tasks.deliver(delivery.pk)

    delivery.refresh_from_db()
    assert receiver.requests == []
    assert delivery.status == S.PENDING
    assert delivery.attempts == 1
    assert "https://" in delivery.last_error or "privé" in delivery.last_error


def test_a_host_rebinding_to_a_private_address_at_connection_time_is_refused(admin, receiver, settings, monkeypatch):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    real_getaddrinfo = socket.getaddrinfo
    # Public for the check at save time and the one before the attempt; loopback when the client connects.
    answers = iter(["93.184.216.34", "93.184.216.34"])

    def rebinding_dns(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host == "rebind.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers, "127.0.0.1"), port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)
    url = f"https://rebind.example.com:{receiver.port}/hooks"
    services.create_endpoint(by=admin, url=url, events=[EventType.CASE_CREATED])
    [delivery] = services.emit(event_type=EventType.CASE_CREATED, data=DATA)

    tasks.deliver(delivery.pk)

    delivery.refresh_from_db()
    assert receiver.requests == []
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (S.PENDING, 1, None)
    assert "non-public address 127.0.0.1" in delivery.last_error


def test_an_endpoint_deleted_during_the_request_ends_the_attempt_quietly(endpoint, receiver, admin, monkeypatch):
    [delivery] = services.emit(event_type=EventType.CASE_CREATED, data=DATA)
    post = services._post

    def post_then_delete(target: Any, sent: Any) -> Any:
        outcome = post(target, sent)
        services.delete_endpoint(by=admin, endpoint=target)
        return outcome

    monkeypatch.setattr(services, "_post", post_then_delete)

    assert services.attempt(delivery_id=delivery.pk) is None
    assert len(receiver.requests) == 1
    assert not WebhookDelivery.objects.exists()
