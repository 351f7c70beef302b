"""State of the database, the broker and the Celery workers, for /health/."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connections


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    duration_ms: float

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail, "duration_ms": round(self.duration_ms, 1)}


def _timed(name: str, probe: Any) -> Check:
    started = time.perf_counter()
    try:
        detail = probe()
        ok = True
    except Exception as exc:  # a health probe reports every failure, whatever its type
        detail = f"{type(exc).__name__}: {exc}".strip()[:300]
        ok = False
    return Check(name=name, ok=ok, detail=detail, duration_ms=(time.perf_counter() - started) * 1000)


def _database() -> str:
    connection = connections["default"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "reachable"


class _BrokerProbe:
    """One broker connection per process, kept for the probe alone.

    Opening a connection per probe costs tens of milliseconds; borrowing one
    from Celery's pool and opening a channel on it disturbs the replies that
    `control.ping` collects on the same connection. A real round trip (PING on
    Redis) still notices a broker that went away.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connection: Any = None

    def __call__(self) -> str:
        from config.celery import app

        with self._lock:
            if self._connection is None:
                self._connection = app.connection_for_write()
            try:
                self._connection.ensure_connection(max_retries=1, timeout=2)
                client = getattr(self._connection.default_channel, "client", None)
                if client is not None:  # the Redis transport
                    client.ping()
            except Exception:
                self._connection.release()
                self._connection = None
                raise
        return "reachable"


_broker = _BrokerProbe()


def _workers() -> str:
    from config.celery import app

    # limit=1: answer as soon as one worker replies instead of waiting the whole timeout.
    replies = app.control.ping(timeout=settings.HEALTH_WORKER_TIMEOUT, limit=1)
    if not replies:
        raise RuntimeError("no Celery worker answered")
    return f"{len(replies)} worker(s) answered"


def run_checks(*, include_workers: bool = True) -> list[Check]:
    checks = [_timed("database", _database), _timed("broker", _broker)]
    if include_workers:
        broker_ok = checks[1].ok
        checks.append(_timed("workers", _workers) if broker_ok else Check("workers", False, "broker unreachable", 0.0))
    return checks


def health_response(request: Any) -> Any:
    """JSON answer for /health/: 200 when every check passes, 503 otherwise.

    `?workers=0` skips the worker check (a liveness probe of the web process).
    """
    from django.http import JsonResponse

    checks = run_checks(include_workers=request.GET.get("workers", "1") != "0")
    healthy = all(c.ok for c in checks)
    body = {"status": "ok" if healthy else "unavailable", "checks": {c.name: c.as_dict() for c in checks}}
    response = JsonResponse(body, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response
