from __future__ import annotations

from tests.subprocess_django import run_snippet

SCRIPT = """
import django, json, sentry_sdk
django.setup()
from core.observability import tag_tenant
tag_tenant("alpha")
scope = sentry_sdk.get_isolation_scope()
print(json.dumps({"active": sentry_sdk.get_client().is_active(), "tags": scope._tags}))
"""


def _sentry_state(**env_overrides: str) -> dict:
    return run_snippet(SCRIPT, **env_overrides)


def test_sentry_stays_off_without_a_dsn():
    assert _sentry_state(SENTRY_DSN="")["active"] is False


def test_sentry_starts_with_a_dsn_and_tags_the_tenant():
    state = _sentry_state(SENTRY_DSN="http://public@127.0.0.1:9/1")

    assert state["active"] is True
    assert state["tags"] == {"tenant": "alpha"}


def test_requests_tag_the_tenant_of_their_host(tenant_a, client_a, monkeypatch):
    tagged = []
    monkeypatch.setattr("core.middleware.tag_tenant", tagged.append)

    client_a.get("/")

    assert tagged == ["alpha"]
