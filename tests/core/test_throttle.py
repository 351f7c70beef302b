"""Rate limits: the public forms and pages per address and per firm, the API per token, user or address."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import time_machine
from django.test import Client
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from accounts.permissions import scopes_for_role
from accounts.token_services import create_token
from core import throttle
from core.throttle import ApiTokenRateThrottle, parse_rate
from tests.conftest import PUBLIC_HOST, TENANTS
from tests.factories import UserFactory

# 12:00:15 UTC: a one-minute window resets 45 s later.
NOW = datetime.datetime(2025, 3, 4, 12, 0, 15, tzinfo=datetime.UTC)
ALPHA, BETA = TENANTS["alpha"][1], TENANTS["beta"][1]
IP, OTHER_IP = "203.0.113.7", "198.51.100.9"


def client(host: str = ALPHA, ip: str = IP, **extra: Any) -> Client:
    return Client(HTTP_HOST=host, REMOTE_ADDR=ip, **extra)


@pytest.fixture
def tiny_rates(settings: Any) -> None:
    settings.RATE_LIMITS_ENABLED = True
    settings.PUBLIC_RATE_LIMITS = {scope: "2/m" for scope in throttle.DEFAULT_PUBLIC_RATES}


@pytest.fixture
def frozen() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


# One request of each public endpoint group, under its limit: (host, method, path, data).
ENDPOINTS = {
    "filing step": (ALPHA, "post", "/deposer/", {"is_consumer": "yes"}),
    "filing contact step": (ALPHA, "post", "/deposer/coordonnees/", {}),
    "filing resume link": (ALPHA, "get", "/deposer/reprendre/not-a-real-token-value/", None),
    "party login code request": (ALPHA, "post", "/suivi/", {"email": "marie@example.fr", "party": "consumer"}),
    "party code attempt": (ALPHA, "post", "/suivi/code/", {"code": "123456"}),
    "member lookup": (ALPHA, "get", "/verifier-un-professionnel/?q=boulangerie", None),
    "platform lookup": (PUBLIC_HOST, "get", "/trouver-un-mediateur/?q=boulangerie", None),
    "badge page": (ALPHA, "get", "/verifier/AAAAAAAAAAAAAAAAAAAA/", None),
    "badge image": (ALPHA, "get", "/verifier/AAAAAAAAAAAAAAAAAAAA/badge.svg", None),
    "joining": (ALPHA, "post", "/adherer/", {"siren": "123"}),
    "joining details": (ALPHA, "post", "/adherer/coordonnees/", {}),
}


def _call(c: Client, method: str, path: str, data: Any) -> Any:
    return getattr(c, method)(path, data) if data is not None else getattr(c, method)(path)


@pytest.mark.parametrize("name", ENDPOINTS)
def test_each_public_endpoint_answers_429_with_retry_after_past_its_limit(name, tiny_rates, frozen, db):
    host, method, path, data = ENDPOINTS[name]
    c = client(host)

    statuses = [_call(c, method, path, data).status_code for _ in range(2)]
    refused = _call(c, method, path, data)

    assert 429 not in statuses
    assert refused.status_code == 429
    assert refused["Retry-After"] == "45"


@pytest.mark.parametrize("name", ["filing step", "member lookup", "badge image", "platform lookup"])
def test_another_address_still_passes(name, tiny_rates, frozen, db):
    host, method, path, data = ENDPOINTS[name]
    for _ in range(3):
        _call(client(host), method, path, data)

    assert _call(client(host, ip=OTHER_IP), method, path, data).status_code != 429


@pytest.mark.parametrize("name", ["filing step", "member lookup", "badge page", "joining"])
def test_the_same_address_on_another_firm_still_passes(name, tiny_rates, frozen, db):
    _host, method, path, data = ENDPOINTS[name]
    for _ in range(3):
        _call(client(ALPHA), method, path, data)
    assert _call(client(ALPHA), method, path, data).status_code == 429

    assert _call(client(BETA), method, path, data).status_code != 429


def test_the_limit_lifts_when_the_window_ends(tiny_rates, frozen, db):
    c = client()
    for _ in range(3):
        c.get("/verifier-un-professionnel/?q=boulangerie")
    frozen.shift(45)

    assert c.get("/verifier-un-professionnel/?q=boulangerie").status_code == 200


def test_the_page_of_a_form_is_not_limited_only_its_posts(tiny_rates, frozen, db):
    c = client()
    for _ in range(3):
        c.post("/deposer/", {})

    assert c.get("/deposer/").status_code == 200
    assert c.post("/deposer/", {}).status_code == 429


def test_the_filing_steps_share_one_counter(tiny_rates, frozen, db):
    c = client()
    c.post("/deposer/", {})
    c.post("/deposer/coordonnees/", {})

    assert c.post("/deposer/litige/", {}).status_code == 429


def test_the_429_page_is_french_and_says_when_to_retry(tiny_rates, frozen, db):
    c = client()
    for _ in range(2):
        c.post("/suivi/", {"email": "marie@example.fr", "party": "consumer"})

    response = c.post("/suivi/", {"email": "marie@example.fr", "party": "consumer"})

    html = response.content.decode()
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    assert "Trop de demandes" in html
    assert "réessayez dans 1 minute." in html
    assert '<html lang="fr">' in html
    assert "no-store" in response["Cache-Control"]


def test_the_429_page_counts_the_wait_in_minutes(settings, frozen, db):
    settings.PUBLIC_RATE_LIMITS = {"public_lookup": "1/h"}
    c = client()
    c.get("/verifier-un-professionnel/")

    response = c.get("/verifier-un-professionnel/")

    assert response["Retry-After"] == str(3600 - 15)
    assert "réessayez dans 60 minutes." in response.content.decode()


def test_a_client_asking_for_json_gets_the_code_and_the_wait(tiny_rates, frozen, db):
    c = client(HTTP_ACCEPT="application/json")
    for _ in range(2):
        c.get("/verifier/AAAAAAAAAAAAAAAAAAAA/")

    response = c.get("/verifier/AAAAAAAAAAAAAAAAAAAA/")

    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "throttled"
    assert body["retry_after"] == 45
    assert "1 minute" in body["detail"]


def test_a_limit_set_to_none_is_no_limit(settings, frozen, db):
    settings.PUBLIC_RATE_LIMITS = {"public_lookup": None}
    c = client()

    assert {c.get("/verifier-un-professionnel/").status_code for _ in range(5)} == {200}


def test_limits_can_be_switched_off(tiny_rates, settings, frozen, db):
    settings.RATE_LIMITS_ENABLED = False
    c = client()

    assert {c.get("/verifier-un-professionnel/").status_code for _ in range(5)} == {200}


def test_forwarded_for_is_ignored_without_a_trusted_proxy(tiny_rates, frozen, db):
    for n in range(3):
        response = client(HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").get("/verifier-un-professionnel/")

    assert response.status_code == 429


def test_forwarded_for_names_the_client_behind_a_trusted_proxy(tiny_rates, settings, frozen, db):
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(3):
        client(HTTP_X_FORWARDED_FOR=f"6.6.6.6, {OTHER_IP}").get("/verifier-un-professionnel/")

    # A forged left-most entry changes nothing: the proxy's own entry is the one counted.
    assert client(HTTP_X_FORWARDED_FOR=f"1.2.3.4, {OTHER_IP}").get("/verifier-un-professionnel/").status_code == 429
    assert client(HTTP_X_FORWARDED_FOR=f"6.6.6.6, {IP}").get("/verifier-un-professionnel/").status_code == 200


def test_ipv6_addresses_of_one_network_share_a_counter(tiny_rates, frozen, db):
    for n in range(3):
        response = client(ip=f"2001:db8:1:2::{n + 1}").get("/verifier-un-professionnel/")

    assert response.status_code == 429
    assert client(ip="2001:db8:1:3::1").get("/verifier-un-professionnel/").status_code == 200


@pytest.mark.parametrize(
    ("rate", "expected"),
    [("30/m", (30, 60)), ("300/hour", (300, 3600)), ("5/15m", (5, 900)), ("1/d", (1, 86400)), ("10/s", (10, 1))],
)
def test_rates_are_written_like_drf(rate, expected):
    parsed = parse_rate(rate)

    assert parsed is not None
    assert (parsed.limit, parsed.period) == expected


@pytest.mark.parametrize("rate", ["30", "thirty/m", "30/w", "30/0m"])
def test_a_malformed_rate_is_refused(rate):
    with pytest.raises(ValueError, match="invalid rate"):
        parse_rate(rate)


# --- API ---------------------------------------------------------------------------------------


@pytest.fixture
def api_throttled(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # DRF copies DEFAULT_THROTTLE_CLASSES onto APIView when it is imported: set it where the views read it.
    monkeypatch.setattr(APIView, "throttle_classes", [ApiTokenRateThrottle])
    settings.RATE_LIMITS_ENABLED = True
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "2/m"}}


def _bearer(user: Any) -> str:
    _token, key = create_token(user=user, name="CRM", scopes=scopes_for_role(user.role)[:1], expires_at=None)
    return f"Bearer {key}"


def test_the_api_refuses_a_session_user_past_the_rate_with_the_throttled_code(api_throttled, tenant_a, frozen):
    c = client()
    c.force_login(UserFactory())
    assert [c.get("/api/v1/me/").status_code for _ in range(2)] == [200, 200]

    response = c.get("/api/v1/me/")

    assert response.status_code == 429
    assert response["Retry-After"] == "45"
    assert response.json()["code"] == "throttled"
    assert set(response.json()) == {"code", "detail"}


def test_the_api_counts_per_user(api_throttled, tenant_a, frozen):
    first, second = client(), client()
    first.force_login(UserFactory())
    second.force_login(UserFactory())
    for _ in range(3):
        first.get("/api/v1/me/")

    assert second.get("/api/v1/me/").status_code == 200


def test_the_api_counts_per_token(api_throttled, tenant_a, frozen):
    user = UserFactory()
    one, two = _bearer(user), _bearer(user)
    c = client()
    for _ in range(2):
        assert c.get("/api/v1/me/", HTTP_AUTHORIZATION=one).status_code == 200

    assert c.get("/api/v1/me/", HTTP_AUTHORIZATION=one).status_code == 429
    assert c.get("/api/v1/me/", HTTP_AUTHORIZATION=two).status_code == 200


def test_the_api_counts_per_firm(api_throttled, tenant_a, use_tenant, frozen):
    alpha = client()
    alpha.force_login(UserFactory())
    for _ in range(3):
        alpha.get("/api/v1/me/")
    use_tenant("beta")
    beta = client(BETA)
    beta.force_login(UserFactory())

    assert alpha.get("/api/v1/me/").status_code == 429
    assert beta.get("/api/v1/me/").status_code == 200


class _OpenView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [ApiTokenRateThrottle]

    def get(self, request: Any) -> Response:
        return Response({"ok": True})


def test_the_api_counts_anonymous_callers_per_address(api_throttled, tenant_a, frozen):
    factory = APIRequestFactory()
    view = _OpenView.as_view()

    def status(ip: str) -> int:
        return int(view(factory.get("/open/", REMOTE_ADDR=ip)).status_code)

    assert [status(IP) for _ in range(3)] == [200, 200, 429]
    assert status(OTHER_IP) == 200


def test_the_api_rate_can_be_none(settings, api_throttled, tenant_a, frozen):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": None}}
    c = client()
    c.force_login(UserFactory())

    assert {c.get("/api/v1/me/").status_code for _ in range(4)} == {200}
