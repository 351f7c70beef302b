"""Request ids: taken from a sane X-Request-ID or made, echoed, logged, and carried by the tasks a request enqueues."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from kombu import Connection

from core import request_id
from core.logging import RequestContextFilter
from tests.factories import UserFactory
from tests.subprocess_django import run_snippet

OBSERVABILITY_MIDDLEWARE = ["core.request_id.RequestIdMiddleware", "core.metrics.MetricsMiddleware"]


@pytest.fixture
def observed(settings: Any) -> None:
    """The observability middleware first in the stack (as config/settings.py should have it)."""
    settings.MIDDLEWARE = OBSERVABILITY_MIDDLEWARE + [
        m for m in settings.MIDDLEWARE if m not in OBSERVABILITY_MIDDLEWARE
    ]


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.addFilter(RequestContextFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def access_log() -> Iterator[Collect]:
    handler = Collect()
    log = logging.getLogger("core.access")
    previous = log.level
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    yield handler
    log.removeHandler(handler)
    log.setLevel(previous)


def test_a_request_without_an_id_gets_a_new_one_in_its_response(observed, tenant_a, client_a):
    first = client_a.get("/")
    second = client_a.get("/")

    assert re.fullmatch(r"[0-9a-f]{32}", first["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


@pytest.mark.parametrize("given", ["5f0c6d2e-1b7a-4c53-9a55-0e6f3b1d2c4a", "trace.0001:abc_DEF-9"])
def test_a_sane_client_id_is_kept(observed, tenant_a, client_a, given):
    response = client_a.get("/", HTTP_X_REQUEST_ID=given)

    assert response["X-Request-ID"] == given


@pytest.mark.parametrize(
    "given", ["short", "x" * 129, "abc def ghijkl", "abcdefgh\r\nSet-Cookie: x=1", "<script>12345"]
)
def test_an_insane_client_id_is_replaced(observed, tenant_a, client_a, given):
    response = client_a.get("/", HTTP_X_REQUEST_ID=given)

    assert response["X-Request-ID"] != given
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_the_access_log_has_one_line_per_request_with_its_id(observed, tenant_a, client_a, access_log):
    response = client_a.get("/", HTTP_X_REQUEST_ID="req-0123456789")

    lines = [r for r in access_log.records if r.levelno == logging.INFO]
    assert len(lines) == 1
    line = lines[0]
    assert (line.request_id, line.method, line.path, line.status) == ("req-0123456789", "GET", "/", 200)
    assert line.user_id is None
    assert isinstance(line.duration_ms, float) and line.duration_ms >= 0
    assert response["X-Request-ID"] == "req-0123456789"


def test_the_access_log_names_the_logged_in_user(observed, tenant_a, client_a, access_log, use_tenant):
    user = UserFactory()
    client_a.force_login(user)

    response = client_a.get("/staff/")

    assert response.status_code == 200
    (line,) = [r for r in access_log.records if r.levelno == logging.INFO]
    assert line.user_id == user.pk
    assert line.path == "/staff/"


def test_probes_are_logged_at_debug_only(observed, client_a, access_log):
    client_a.get("/health/?workers=0")

    assert [(r.levelno, r.path) for r in access_log.records] == [(logging.DEBUG, "/health/")]


def test_log_lines_written_during_the_request_carry_its_id(observed, tenant_a, client_a, monkeypatch):
    seen: list[str] = []
    handler = Collect()
    view_logger = logging.getLogger("tests.request_id.view")
    view_logger.addHandler(handler)
    view_logger.setLevel(logging.INFO)

    def tag(value: str) -> None:
        view_logger.info("inside the request")
        seen.append(value)

    monkeypatch.setattr(request_id, "_tag_sentry", tag)
    try:
        response = client_a.get("/", HTTP_X_REQUEST_ID="inside-0123456789")
    finally:
        view_logger.removeHandler(handler)

    assert seen == ["inside-0123456789"] == [response["X-Request-ID"]]
    assert [r.request_id for r in handler.records] == ["inside-0123456789"]
    assert request_id.get_request_id() is None  # reset once the request is over


def test_the_id_is_a_sentry_tag(observed, tenant_a, client_a, monkeypatch):
    tags: list[tuple[str, str]] = []
    monkeypatch.setattr("sentry_sdk.set_tag", lambda key, value: tags.append((key, value)))

    response = client_a.get("/")

    assert ("request_id", response["X-Request-ID"]) in tags


# --- Celery -------------------------------------------------------------------------


def test_a_task_published_during_a_request_carries_its_id_in_a_header(tenant_a):
    from core.tasks import tenant_heartbeat

    request_id.connect_celery_signals()
    queue = f"observe-request-id-{uuid.uuid4().hex[:8]}"
    with Connection("memory://") as conn:
        with request_id.bind_request_id("publish-0123456789"):
            tenant_heartbeat.apply_async(connection=conn, queue=queue)
        tenant_heartbeat.apply_async(connection=conn, queue=queue)  # outside a request: no id
        simple = conn.SimpleQueue(queue)
        first, second = simple.get(timeout=2), simple.get(timeout=2)
        simple.close()

    assert first.headers["request_id"] == "publish-0123456789"
    assert first.headers["_schema_name"] == "alpha"  # tenant-schemas-celery's header is still there
    assert "request_id" not in second.headers


def test_the_worker_side_restores_the_id_for_the_task_and_clears_it_after():
    from_headers = SimpleNamespace(request=SimpleNamespace(headers={"request_id": "task-0123456789"}))
    merged = SimpleNamespace(request=SimpleNamespace(headers=None, request_id="merged-0123456789"))
    forged = SimpleNamespace(request=SimpleNamespace(headers={"request_id": "bad id\n"}))

    request_id.restore_request_id(task=from_headers)
    assert request_id.get_request_id() == "task-0123456789"
    request_id.restore_request_id(task=merged)
    assert request_id.get_request_id() == "merged-0123456789"
    request_id.restore_request_id(task=forged)
    assert request_id.get_request_id() is None
    request_id.restore_request_id(task=from_headers)
    request_id.clear_request_id()
    assert request_id.get_request_id() is None


def test_the_celery_app_connects_the_request_id_and_logging_handlers():
    """config/celery.py calls core.observability.connect_celery(): request ids, task counters, Django's logging."""
    state = run_snippet(
        """
import json, django
django.setup()
import config.celery
from celery.signals import before_task_publish, task_prerun, task_success, setup_logging
from core import request_id
from core.logging import keep_django_logging
from core import metrics
print(json.dumps({
    "publish": any(r is request_id.add_request_id_header for _, r in before_task_publish.receivers),
    "prerun": any(r is request_id.restore_request_id for _, r in task_prerun.receivers),
    "logging": any(r is keep_django_logging for _, r in setup_logging.receivers),
    "metrics": any(r is metrics._receivers["succeeded"] for _, r in task_success.receivers),
}))
"""
    )

    assert state == {"publish": True, "prerun": True, "logging": True, "metrics": True}
