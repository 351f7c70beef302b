"""JSON logs: one object per line with tenant, request id, user; the access line of each request."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from core.logging import JsonFormatter, RequestContextFilter, TenantSchemaFilter, build_logging
from tests.core.test_request_id import observed  # noqa: F401 (fixture)
from tests.factories import UserFactory
from tests.subprocess_django import ROOT


@pytest.fixture
def json_access_log() -> Iterator[io.StringIO]:
    """The `core.access` logger through the same handler setup as LOGGING's JSON console handler."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(TenantSchemaFilter())
    handler.addFilter(RequestContextFilter())
    log = logging.getLogger("core.access")
    previous = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    yield stream
    log.removeHandler(handler)
    log.setLevel(previous)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_the_access_line_of_a_tenant_request_is_one_json_object(observed, tenant_a, client_a, json_access_log):  # noqa: F811
    user = UserFactory()
    client_a.force_login(user)

    response = client_a.get("/staff/", HTTP_X_REQUEST_ID="json-0123456789")

    (line,) = _lines(json_access_log)
    assert list(line)[:7] == ["timestamp", "level", "logger", "message", "schema", "request_id", "user_id"]
    assert line["timestamp"].endswith("+00:00")
    assert (line["level"], line["logger"], line["schema"]) == ("INFO", "core.access", "alpha")
    assert line["request_id"] == "json-0123456789" == response["X-Request-ID"]
    assert line["user_id"] == user.pk
    assert (line["method"], line["path"], line["status"]) == ("GET", "/staff/", 200)
    assert isinstance(line["duration_ms"], float)
    assert line["message"].startswith("GET /staff/ 200 ")


def test_an_anonymous_request_on_another_firm_logs_that_firm_and_no_user(observed, tenant_b, client_b, json_access_log):  # noqa: F811
    client_b.get("/page-qui-n-existe-pas/")

    (line,) = _lines(json_access_log)
    assert (line["schema"], line["user_id"], line["status"]) == ("beta", None, 404)


def test_build_logging_picks_the_formatter_and_rejects_unknown_formats():
    assert build_logging(format="json")["handlers"]["console"]["formatter"] == "json"
    assert build_logging(format="text", level="WARNING")["root"]["level"] == "WARNING"
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        build_logging(format="xml")


SNIPPET = """
import json, logging, logging.config, sys, django
django.setup()
from core.logging import build_logging
from core.request_id import bind_request_id
config = build_logging(format=sys.argv[1] if len(sys.argv) > 1 else "{fmt}")
config["handlers"]["console"]["stream"] = "ext://sys.stdout"
logging.config.dictConfig(config)
with bind_request_id("cfg-0123456789"):
    logging.getLogger("mediation.something").warning("un message accentué", extra={{"case_id": 7}})
    try:
        1 / 0
    except ZeroDivisionError:
        logging.getLogger("x").exception("failed")
logging.getLogger("django.server").info("GET / 200 (runserver's own line)")
logging.getLogger("django.server").warning("GET / 404")
print(json.dumps({{"done": True}}))
"""


def _run(fmt: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", SNIPPET.format(fmt=fmt)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_the_json_configuration_writes_one_parseable_object_per_line():
    lines = [json.loads(line) for line in _run("json")]

    first, failure, server_warning, done = lines
    assert first["message"] == "un message accentué"
    assert (first["level"], first["logger"], first["schema"]) == ("WARNING", "mediation.something", "public")
    assert (first["request_id"], first["case_id"]) == ("cfg-0123456789", 7)
    assert (failure["request_id"], failure["level"]) == ("cfg-0123456789", "ERROR")
    assert "ZeroDivisionError" in failure["exception"]
    # runserver's INFO request lines are left to core.access; its warnings stay.
    assert server_warning["message"] == "GET / 404"
    assert done == {"done": True}


def test_the_text_configuration_shows_schema_and_request_id():
    lines = _run("text")

    assert lines[0].endswith(" WARNING [public] [cfg-0123456789] mediation.something: un message accentué")
    assert not any("runserver's own line" in line for line in lines)
