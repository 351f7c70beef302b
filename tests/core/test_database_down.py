"""The database unreachable: pages and the API answer a clear 503 with Retry-After, never a crash page.

Run in a separate process whose DATABASE_URL points at a port nothing listens on: the first database access
of the request (the host → firm lookup) fails, as it does when PostgreSQL is down or failing over.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import json, django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="alpha.localhost", raise_request_exception=False)
out = {}
for name, path, headers in [
    ("page", "/", {}),
    ("filing", "/deposer/", {}),
    ("api", "/api/v1/me/", {"HTTP_AUTHORIZATION": "Bearer mdp_x"}),
    ("json", "/", {"HTTP_ACCEPT": "application/json"}),
]:
    response = client.get(path, **headers)
    out[name] = {
        "status": response.status_code,
        "retry_after": response.get("Retry-After"),
        "type": response.get("Content-Type"),
        "body": response.content.decode()[:2000],
    }
print(json.dumps(out))
"""


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends: nothing listens there


@pytest.fixture(scope="module")
def answers() -> dict[str, dict[str, object]]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{_closed_port()}/unreachable",
        "DEBUG": "false",
        "TESTING": "1",
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_page_says_the_service_is_briefly_unavailable(answers):
    page = answers["page"]

    assert page["status"] == 503
    assert page["retry_after"] == "30"
    assert "Service momentanément indisponible" in page["body"]
    assert "réessayez dans une minute" in page["body"]


def test_the_filing_wizard_answers_the_same_page(answers):
    assert answers["filing"]["status"] == 503
    assert "Service momentanément indisponible" in answers["filing"]["body"]


def test_the_api_answers_json_with_a_stable_code(answers):
    api = answers["api"]

    assert api["status"] == 503
    assert api["retry_after"] == "30"
    assert api["type"].startswith("application/json")
    assert json.loads(api["body"])["code"] == "service_unavailable"


def test_a_client_asking_for_json_gets_json(answers):
    assert json.loads(answers["json"]["body"])["code"] == "service_unavailable"
