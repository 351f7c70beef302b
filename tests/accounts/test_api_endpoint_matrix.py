"""Every endpoint of the API v1, found in the URLconf, against every kind of caller.

- the URLconf and the OpenAPI schema list the same endpoints (nothing undocumented);
- anonymous: 401; a token of another firm: 401;
- a token holding every scope but the endpoint's area: refused (403, or 404 where the object is looked up
  first); a token of the area: let through (neither 401 nor 403);
- no call answers 5xx, whatever the (empty) body.

A new endpoint is covered as soon as it is routed; its path must then be given an area in AREAS.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator

from accounts import token_services
from accounts.models import ApiToken
from tests.factories import AdminFactory

pytestmark = pytest.mark.django_db

Scope = ApiToken.Scope
# The first matching prefix gives the scopes that open an endpoint: (for reads, for writes).
AREAS: list[tuple[str, tuple[set[str], set[str]]]] = [
    ("/api/v1/me/", (set(), set())),
    ("/api/v1/firm/", (set(), {Scope.FIRM_WRITE})),  # every staff member reads the firm's profile
    ("/api/v1/staff/", ({Scope.FIRM_WRITE}, {Scope.FIRM_WRITE})),
    ("/api/v1/webhooks/", ({Scope.FIRM_WRITE}, {Scope.FIRM_WRITE})),
    ("/api/v1/members/", ({Scope.MEMBERS_READ, Scope.MEMBERS_WRITE}, {Scope.MEMBERS_WRITE})),
    ("/api/v1/memberships/", ({Scope.MEMBERS_READ, Scope.MEMBERS_WRITE}, {Scope.MEMBERS_WRITE})),
    ("/api/v1/exports/members", ({Scope.MEMBERS_READ, Scope.MEMBERS_WRITE}, {Scope.MEMBERS_WRITE})),
    ("/api/v1/cases/", ({Scope.CASES_READ, Scope.CASES_WRITE}, {Scope.CASES_WRITE})),
    ("/api/v1/reports/", ({Scope.REPORTS_READ}, {Scope.REPORTS_READ})),
    ("/api/v1/exports/", ({Scope.BILLING_READ, Scope.BILLING_WRITE}, {Scope.BILLING_READ, Scope.BILLING_WRITE})),
    ("/api/v1/", ({Scope.BILLING_READ, Scope.BILLING_WRITE}, {Scope.BILLING_WRITE})),
]
METHODS = ("get", "post", "put", "patch", "delete")


def _routes(resolver: URLResolver, prefix: str = "") -> list[str]:
    routes = []
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            routes += _routes(pattern, route)
        elif isinstance(pattern, URLPattern):
            routes.append(route)
    return routes


def _schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations() -> list[tuple[str, str]]:
    return [
        (path, method)
        for path, operations in _schema()["paths"].items()
        if path.startswith("/api/v1/")
        for method in operations
        if method in METHODS
    ]


def _area(path: str, method: str) -> set[str]:
    for prefix, (reads, writes) in AREAS:
        if path.startswith(prefix):
            return set(reads if method == "get" else writes)
    raise AssertionError(f"{path}: give this endpoint an area in AREAS")


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "999999", path)


def _call(client: Client, method: str, path: str, token: str | None) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    if method == "get":
        return client.get(path, **headers)
    return getattr(client, method)(path, data="{}", content_type="application/json", **headers)


def test_every_routed_endpoint_is_in_the_schema(tenant_a):
    # Parameter names aside (the schema calls `pk` `id`), the same paths.
    routed = {
        "/" + re.sub(r"<[^>]+>", "{}", route)
        for route in _routes(get_resolver("config.urls_tenant"))
        if route.startswith("api/v1/")
    }
    documented = {re.sub(r"\{[^}]+\}", "{}", path) for path in _schema()["paths"] if path.startswith("/api/v1/")}

    assert routed - documented == set()


OPERATIONS = _operations()


@pytest.fixture
def tokens(tenant_a, tenant_b, use_tenant):
    """Admin tokens of firm A: one per area exclusion and one with every scope; one of firm B."""
    use_tenant("beta")
    _b, other_firm_key = token_services.create_token(
        user=AdminFactory(email="admin-b@example.fr"), name="B", scopes=Scope.values, expires_at=None
    )
    use_tenant("alpha")
    admin = AdminFactory(email="admin-a@example.fr")
    keys: dict[frozenset[str], str] = {}

    def key_for(scopes: set[str]) -> str:
        frozen = frozenset(scopes)
        if frozen not in keys:
            keys[frozen] = token_services.create_token(
                user=admin, name=f"t{len(keys)}", scopes=sorted(frozen), expires_at=None
            )[1]
        return keys[frozen]

    return other_firm_key, key_for


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m.upper()} {p}" for p, m in OPERATIONS])
def test_each_endpoint_answers_each_caller_as_the_scopes_say(path, method, tokens, client_a, use_tenant):
    other_firm_key, key_for = tokens
    url = _concrete(path)
    area = _area(path, method)

    anonymous = _call(client_a, method, url, None)
    other_firm = _call(client_a, method, url, other_firm_key)
    allowed = _call(client_a, method, url, key_for(area or {Scope.MEMBERS_READ}))
    use_tenant("alpha")
    outside = None if not area else _call(client_a, method, url, key_for(set(Scope.values) - area))

    assert anonymous.status_code == 401, anonymous.content
    assert anonymous.json()["code"] in {"not_authenticated", "invalid_token"}
    assert other_firm.status_code == 401, other_firm.content
    assert allowed.status_code not in {401, 403}, allowed.content
    assert allowed.status_code < 500
    if outside is not None:
        assert outside.status_code in ({403, 404} if "{" in path else {403}), outside.content
