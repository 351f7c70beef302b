"""Readiness and liveness probe of the image's roles (Docker HEALTHCHECK, Kubernetes exec probes).

    python infra/docker/probe.py web      GET http://127.0.0.1:$PORT/health/?workers=0 answers 200
    python infra/docker/probe.py worker   this pod's Celery worker (worker@<hostname>) answers a ping
    python infra/docker/probe.py beat     the database and the broker beat depends on are reachable

Exit 0 when healthy, 1 otherwise, with one line on stdout saying why. The web probe needs no Django:
it costs a few milliseconds. /health/ answers on any Host header, before tenant resolution and before
the HTTPS redirect (SECURE_REDIRECT_EXEMPT), so the kubelet's plain-HTTP probe to the pod IP works.
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.error
import urllib.request


def probe_web(port: str, timeout: float = 4.0) -> tuple[bool, str]:
    url = f"http://127.0.0.1:{port}/health/?workers=0"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200, f"{url} -> {response.status}"
    except urllib.error.HTTPError as exc:
        return False, f"{url} -> {exc.code}"
    except OSError as exc:
        return False, f"{url} -> {exc}"


def _django() -> None:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def probe_worker(timeout: float = 5.0) -> tuple[bool, str]:
    _django()
    from config.celery import app

    name = f"worker@{socket.gethostname()}"
    replies = app.control.ping(destination=[name], timeout=timeout)
    return bool(replies), f"{name}: {'answered' if replies else 'no answer'}"


def probe_beat() -> tuple[bool, str]:
    _django()
    from core.health import run_checks

    checks = run_checks(include_workers=False)
    return all(c.ok for c in checks), "; ".join(f"{c.name}: {c.detail}" for c in checks)


def main(argv: list[str]) -> int:
    role = argv[1] if len(argv) > 1 else "web"
    if role == "web":
        ok, detail = probe_web(os.environ.get("PORT", "8000"))
    elif role == "worker":
        ok, detail = probe_worker()
    elif role == "beat":
        ok, detail = probe_beat()
    else:
        print(f"unknown role {role!r} (web, worker, beat)")
        return 2
    print(("ok: " if ok else "failing: ") + detail)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
