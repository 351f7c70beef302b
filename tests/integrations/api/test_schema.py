"""The OpenAPI schema of /api/v1/webhooks/: generated without a warning, every error documented."""

from __future__ import annotations

from typing import Any

from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

PATTERNS = [path("api/v1/webhooks/", include("integrations.api.urls"))]


def schema() -> dict[str, Any]:
    return SchemaGenerator(patterns=PATTERNS).get_schema(request=None, public=True)


def test_the_webhooks_api_is_generated_without_a_warning(tenant_a):
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        schema()

    assert not GENERATOR_STATS._warn_cache and not GENERATOR_STATS._error_cache


def test_every_operation_documents_its_errors_and_its_path_parameter(tenant_a):
    paths = schema()["paths"]

    expected = {
        ("/api/v1/webhooks/endpoints/", "get"): {"200", "400", "403"},
        ("/api/v1/webhooks/endpoints/", "post"): {"201", "400", "403"},
        ("/api/v1/webhooks/endpoints/{id}/", "get"): {"200", "403", "404"},
        ("/api/v1/webhooks/endpoints/{id}/", "patch"): {"200", "400", "403", "404"},
        ("/api/v1/webhooks/endpoints/{id}/", "delete"): {"204", "403", "404"},
        ("/api/v1/webhooks/endpoints/{id}/ping/", "post"): {"202", "403", "404", "409"},
        ("/api/v1/webhooks/deliveries/", "get"): {"200", "400", "403"},
        ("/api/v1/webhooks/deliveries/{id}/", "get"): {"200", "403", "404"},
        ("/api/v1/webhooks/deliveries/{id}/redeliver/", "post"): {"202", "403", "404", "409"},
    }
    assert set(expected) == {(url, method) for url, item in paths.items() for method in item if method != "parameters"}
    for (url, method), codes in expected.items():
        operation = paths[url][method]
        assert codes <= set(operation["responses"]), (url, method)
        names = [parameter["name"] for parameter in operation.get("parameters", []) if parameter["in"] == "path"]
        assert names == (["id"] if "{id}" in url else []), (url, method, names)


def test_the_deliveries_filters_are_documented(tenant_a):
    parameters = schema()["paths"]["/api/v1/webhooks/deliveries/"]["get"]["parameters"]

    assert {"endpoint", "status", "event_type", "cursor", "page_size"} <= {
        parameter["name"] for parameter in parameters
    }
