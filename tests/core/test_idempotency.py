"""`Idempotency-Key` on the API's POSTs: a retried create does not create twice."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts import token_services
from core.idempotency import purge_expired
from core.models import IdempotencyKey
from mediation.members.models import Member
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BODY = {"legal_name": "Boulangerie du Marché", "siren": "732829320"}


def _post(client, body=BODY, key="retry-1", **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post("/api/v1/members/", json.dumps(body), content_type="application/json", **headers, **extra)


@pytest.fixture
def officer_client(tenant_a, client_a):
    client_a.force_login(UserFactory(role="case_officer"))
    return client_a


def test_a_retried_create_creates_once_and_replays_the_answer(officer_client):
    first = _post(officer_client)
    second = _post(officer_client)

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert Member.objects.filter(siren="732829320").count() == 1


def test_without_a_key_a_second_post_is_a_second_request(officer_client):
    _post(officer_client, key=None)
    second = _post(officer_client, key=None)

    assert second.status_code == 400
    assert second.json()["code"] == "duplicate_siren"


def test_the_same_key_with_another_body_is_refused(officer_client):
    _post(officer_client)
    other = _post(officer_client, body={"legal_name": "Autre", "siren": "552081317"})

    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert not Member.objects.filter(siren="552081317").exists()


def test_keys_belong_to_their_sender(tenant_a, client_a):
    officer = UserFactory(role="case_officer")
    _token, key = token_services.create_token(user=officer, name="CRM", scopes=["members:write"], expires_at=None)
    first = _post(client_a, HTTP_AUTHORIZATION=f"Bearer {key}")

    client_a.force_login(UserFactory(role="case_officer"))
    other_sender = _post(client_a, body={"legal_name": "Autre", "siren": "552081317"})

    assert first.status_code == other_sender.status_code == 201


def test_a_validation_error_is_replayed_too(officer_client):
    first = _post(officer_client, body={"legal_name": "X", "siren": "732829321"})
    second = _post(officer_client, body={"legal_name": "X", "siren": "732829321"})

    assert first.status_code == second.status_code == 400
    assert second["Idempotent-Replayed"] == "true"


def test_a_refused_authentication_is_not_kept(tenant_a, client_a):
    refused = _post(client_a, HTTP_AUTHORIZATION="Bearer mdp_unknown")

    assert refused.status_code == 401
    assert not IdempotencyKey.objects.exists()


def test_a_malformed_key_is_a_400(officer_client):
    response = _post(officer_client, key="x" * 256)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert not Member.objects.exists()


def test_a_request_still_running_makes_the_retry_wait(officer_client):
    IdempotencyKey.objects.create(
        principal=f"user:{officer_client.session['_auth_user_id']}",
        key="retry-1",
        method="POST",
        path="/api/v1/members/",
        request_hash=_hash_of_body(),
    )

    response = _post(officer_client)

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_in_progress"
    assert response["Retry-After"] == "1"


def _hash_of_body() -> str:
    import hashlib

    digest = hashlib.sha256(b"POST /api/v1/members/\n")
    digest.update(json.dumps(BODY).encode())
    return digest.hexdigest()


def test_a_request_abandoned_by_a_dead_process_frees_its_key(officer_client):
    with time_machine.travel(timezone.now() - timedelta(minutes=10)):
        IdempotencyKey.objects.create(
            principal=f"user:{officer_client.session['_auth_user_id']}",
            key="retry-1",
            method="POST",
            path="/api/v1/members/",
            request_hash=_hash_of_body(),
        )

    response = _post(officer_client)

    assert response.status_code == 201
    assert Member.objects.count() == 1


def test_keys_are_forgotten_after_a_day(officer_client):
    _post(officer_client)

    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert purge_expired() == 1

    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_create_once(tenant_a):
    officer = UserFactory(role="case_officer")
    _token, key = token_services.create_token(user=officer, name="CRM", scopes=["members:write"], expires_at=None)
    statuses: list[int] = []
    barrier = threading.Barrier(6)

    def send() -> None:
        client = Client(HTTP_HOST="alpha.localhost")
        barrier.wait()
        try:
            statuses.append(_post(client, HTTP_AUTHORIZATION=f"Bearer {key}").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Member.objects.filter(siren="732829320").count() == 1
    assert set(statuses) <= {201, 409}
    assert statuses.count(201) >= 1
