"""Sentry: an error in a firm's request reaches Sentry with the tenant, the request id and the release.

Sentry runs in a fresh process (its client is global) with a transport that
collects envelopes: nothing leaves the machine.
"""

from __future__ import annotations

from typing import Any

import pytest

from core.observability import release_from_environment
from tests.conftest import database_url_for_current_test_db
from tests.subprocess_django import run_snippet

SNIPPET = """
import json, sys, types, django
from django.conf import settings
django.setup()

import sentry_sdk
from sentry_sdk.transport import Transport

from core.observability import init_sentry

events = []

class Collect(Transport):
    def capture_envelope(self, envelope):
        for item in envelope.items:
            if item.type == "event":
                events.append(item.payload.json)

init_sentry(dsn="https://public@sentry.invalid/1", environment="test", transport=Collect)

def boom(request):
    raise RuntimeError("a bug in a firm's page")

urls = types.ModuleType("observe_boom_urls")
from django.urls import path
urls.urlpatterns = [path("boom/", boom)]
sys.modules["observe_boom_urls"] = urls
settings.ROOT_URLCONF = "observe_boom_urls"
observability = ["core.request_id.RequestIdMiddleware", "core.metrics.MetricsMiddleware"]
settings.MIDDLEWARE = observability + [m for m in settings.MIDDLEWARE if m not in observability]

from wsgiref.util import setup_testing_defaults
from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
answers = []
for host, request_id in (("alpha.localhost", "sentry-0123456789"), ("beta.localhost", None)):
    environ = {"HTTP_HOST": host, "PATH_INFO": "/boom/", "REQUEST_METHOD": "GET"}
    if request_id:
        environ["HTTP_X_REQUEST_ID"] = request_id
    setup_testing_defaults(environ)
    seen = {}
    def start_response(status, headers, exc_info=None):
        seen["status"] = status
        seen["headers"] = dict(headers)
    b"".join(application(environ, start_response))
    answers.append({"status": seen["status"], "request_id": seen["headers"].get("X-Request-ID")})
sentry_sdk.flush()
print(json.dumps({
    "answers": answers,
    "events": [
        {"tags": e.get("tags", {}), "release": e.get("release"), "message": e["exception"]["values"][-1]["value"]}
        for e in events
    ],
}))
"""


@pytest.fixture
def test_database_url(db: None, django_db_blocker: Any) -> str:
    with django_db_blocker.unblock():
        return database_url_for_current_test_db()


def test_an_error_in_a_firm_request_carries_tenant_request_id_and_release(test_database_url):
    state = run_snippet(
        SNIPPET, DATABASE_URL=test_database_url, TESTING="1", SENTRY_DSN="", SENTRY_RELEASE="mediation@1.4.2"
    )

    alpha, beta = state["answers"]
    assert alpha == {"status": "500 Internal Server Error", "request_id": "sentry-0123456789"}
    assert beta["status"].startswith("500") and len(beta["request_id"]) == 32
    first, second = state["events"]
    assert first["message"] == "a bug in a firm's page"
    assert first["release"] == "mediation@1.4.2"
    assert first["tags"]["tenant"] == "alpha"
    assert first["tags"]["request_id"] == "sentry-0123456789"
    # The second request's scope is its own: its tenant and its id, nothing left from the first.
    assert (second["tags"]["tenant"], second["tags"]["request_id"]) == ("beta", beta["request_id"])


def test_the_release_falls_back_to_the_git_sha(test_database_url):
    state = run_snippet(SNIPPET, DATABASE_URL=test_database_url, TESTING="1", SENTRY_RELEASE="", GIT_SHA="0a1b2c3d")

    assert {event["release"] for event in state["events"]} == {"0a1b2c3d"}


@pytest.mark.parametrize(
    ("environ", "release"),
    [
        ({"SENTRY_RELEASE": "v2", "GIT_SHA": "abc"}, "v2"),
        ({"SENTRY_RELEASE": "", "GIT_SHA": "abc"}, "abc"),
        ({}, None),
    ],
)
def test_release_from_environment(environ, release):
    assert release_from_environment(environ) == release
