from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import django, json, sentry_sdk
django.setup()
from core.observability import tag_tenant
tag_tenant("alpha")
scope = sentry_sdk.get_isolation_scope()
print(json.dumps({"active": sentry_sdk.get_client().is_active(), "tags": scope._tags}))
"""


def _sentry_state(**env_overrides: str) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env_overrides}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


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
