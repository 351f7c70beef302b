"""Fixtures of the API v1 resource tests: this task's groups mounted, JSON requests, anonymous outcomes."""

from __future__ import annotations

import json
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext


def call(client: Any, method: str, url: str, data: Any = None) -> Any:
    """A JSON request (post, patch, delete)."""
    body = json.dumps(data) if data is not None else ""
    return getattr(client, method)(url, body, content_type="application/json")


def assert_anonymous_refused(response: Any) -> None:
    # 401 with the token authentication's challenge: never the data.
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def assert_forbidden(response: Any) -> None:
    assert response.status_code == 403, response.content[:300]
    assert response.json()["code"] == "permission_denied"


def list_queries(client: Any, url: str, *, rows: int) -> int:
    """The queries a list costs (schema switches left out), checking it gave `rows` rows.

    Asked twice: the first request of a firm in a while also records its activity.
    """
    client.get(url)
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    assert len(response.json()["results"]) == rows
    return len([query for query in context.captured_queries if not query["sql"].startswith("SET search_path")])
