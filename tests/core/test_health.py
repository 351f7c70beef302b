from __future__ import annotations

from tests.subprocess_django import run_snippet

SCRIPT = """
import django, json
django.setup()
from django.test import Client
response = Client().get("/health/", HTTP_HOST="demo.localhost")
print(json.dumps({"status": response.status_code, "body": response.json()}))
"""


def _health_in_subprocess(**env_overrides: str) -> dict:
    return run_snippet(SCRIPT, **env_overrides)


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
