from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import django, json
django.setup()
from django.test import Client
response = Client().get("/health/", HTTP_HOST="demo.localhost")
print(json.dumps({"status": response.status_code, "body": response.json()}))
"""


def _health_in_subprocess(**env_overrides: str) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env_overrides}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_health_is_503_when_the_database_is_unreachable():
    answer = _health_in_subprocess(DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere")

    assert answer["status"] == 503
    assert answer["body"]["status"] == "unavailable"
    assert answer["body"]["checks"]["database"]["ok"] is False


def test_health_is_503_when_the_broker_is_unreachable(db):
    answer = _health_in_subprocess(CELERY_BROKER_URL="redis://127.0.0.1:1/0", REDIS_URL="")

    assert answer["status"] == 503
    assert answer["body"]["checks"]["broker"]["ok"] is False
    assert answer["body"]["checks"]["workers"]["ok"] is False


def test_health_without_worker_check_reports_database_and_broker(client, db):
    response = client.get("/health/?workers=0", HTTP_HOST="any-host.localhost")

    body = response.json()
    assert set(body["checks"]) == {"database", "broker"}
    assert response["Cache-Control"] == "no-store"
    assert response.status_code == 200, body
    assert body["checks"]["database"]["ok"] is True
