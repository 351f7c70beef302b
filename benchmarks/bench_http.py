"""Request throughput of /health/ against a static file served by whitenoise, same server, same run."""

from __future__ import annotations

from benchmarks.harness import Record, gunicorn, load

STATIC = "/static/css/app.css"
HEALTH = "/health/?workers=0"  # database + broker; the worker ping waits on Celery, not on the web server


def run() -> list[Record]:
    # Persistent database connections, as production runs (CONN_MAX_AGE=60).
    with gunicorn(env={"CONN_MAX_AGE": "60"}) as port:
        static = load(port, STATIC)
        health = load(port, HEALTH)
    for name, result in (("static", static), ("health", health)):
        if result.errors or not result.requests:
            raise RuntimeError(f"{name}: {result.errors} errors out of {result.requests + result.errors} requests")
    return [
        Record("http.static_file.throughput", static.rps, "req/s"),
        Record("http.health.throughput", health.rps, "req/s", baseline=static.rps),
        Record("http.static_file.latency_p50", static.percentile(50), "ms"),
        Record("http.health.latency_p50", health.percentile(50), "ms", baseline=static.percentile(50)),
        Record("http.health.latency_p95", health.percentile(95), "ms", baseline=static.percentile(95)),
    ]
