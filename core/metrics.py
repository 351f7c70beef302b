"""Prometheus metrics: HTTP requests, Celery queues and tasks, the webhook outbox. docs/observability.md.

- `MetricsMiddleware` counts every request (method, status class, view name:
  the URL pattern's name, never the path) and its latency, and answers
  `/metrics` before tenant resolution: with `Authorization: Bearer
  <METRICS_TOKEN>` on any host when METRICS_TOKEN is set, else on the platform
  host only; 404 otherwise.
- Scrape-time collectors: the length of each Celery queue (a passive queue
  declare on the broker: LLEN of the queue's keys on Redis, the message count
  on RabbitMQ) and the webhook deliveries pending across active firms.
- Celery signal counters (tasks succeeded, failed, retried, revoked) run in
  the worker processes: see `connect_celery_signals` and
  `start_worker_metrics_server`.

With `PROMETHEUS_MULTIPROC_DIR` set (gunicorn's workers, Celery's prefork
children), prometheus_client keeps the counters in files of that folder and
`/metrics` sums them across processes. The folder must be emptied before the
process tree starts, and gunicorn's `child_exit` hook calls
`gunicorn_child_exit`.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
HEALTH_PATH = "/health/"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
TASK_STATES = ("succeeded", "failed", "retried", "revoked")

HTTP_REQUESTS = Counter(
    "http_requests",
    "HTTP requests answered, by method, status class (2xx…) and view (URL pattern name).",
    ["method", "status", "view"],
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by method and view (URL pattern name).",
    ["method", "view"],
    buckets=LATENCY_BUCKETS,
)
CELERY_TASKS = Counter(
    "celery_tasks",
    "Celery tasks that ended, by task name and state (succeeded, failed, retried, revoked).",
    ["task", "state"],
)


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


# --- HTTP ---------------------------------------------------------------------


def view_label(request: Any) -> str:
    """A bounded label: the URL pattern's name (or its route), never the requested path."""
    if request.path == HEALTH_PATH:
        return "health"
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return str(match.view_name or match.route or "unnamed")


def record_request(method: str, status: int, view: str, seconds: float) -> None:
    method = method if method in METHODS else "other"
    HTTP_REQUESTS.labels(method=method, status=f"{status // 100}xx", view=view).inc()
    HTTP_LATENCY.labels(method=method, view=view).observe(seconds)


def _setting(name: str, default: Any) -> Any:
    from django.conf import settings

    return getattr(settings, name, default)


def may_scrape(request: HttpRequest) -> bool:
    """With METRICS_TOKEN: the right bearer token, on any host. Without: the platform host only."""
    token = _setting("METRICS_TOKEN", "") or ""
    if token:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, given = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
    try:
        host = request.get_host()
    except Exception:  # DisallowedHost: certainly not the platform host
        return False
    return host.rsplit(":", 1)[0].lower() == str(_setting("PLATFORM_DOMAIN", "localhost")).lower()


class MetricsMiddleware:
    """Near the top of MIDDLEWARE (after RequestIdMiddleware): counts requests, serves /metrics."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == METRICS_PATH:
            return metrics_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        try:
            record_request(
                request.method or "", response.status_code, view_label(request), time.perf_counter() - started
            )
        except Exception:  # metrics must never break a response
            logger.exception("could not record the request's metrics")
        return response


def metrics_response(request: HttpRequest) -> HttpResponse:
    from django.http import HttpResponse, HttpResponseNotFound

    if not may_scrape(request):
        return HttpResponseNotFound(b"Not Found", content_type="text/plain")
    started = time.perf_counter()
    body = render()
    record_request(request.method or "", 200, "metrics", time.perf_counter() - started)
    response = HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


# --- Scrape-time collectors ------------------------------------------------------


class CeleryQueueCollector(Collector):
    """`celery_queue_length{queue}`: messages waiting in each Celery queue, asked of the broker at scrape time.

    A passive queue declare: on Redis kombu answers with the LLEN of the queue's
    keys (every priority level), on RabbitMQ the broker gives the queue's ready
    message count. `celery_broker_up` is 0 when the broker did not answer (then
    no queue length is given rather than a false 0).
    """

    def __init__(
        self, queues: Iterable[str] | None = None, app: Any = None, url: str | None = None, timeout: float = 2.0
    ):
        self._queues = list(queues) if queues is not None else None
        self._app = app
        self.url = url  # None: the app's broker
        self.timeout = timeout

    def queues(self, app: Any) -> list[str]:
        if self._queues is not None:
            return self._queues
        names = [app.conf.task_default_queue]
        names += [queue.name for queue in (app.conf.task_queues or [])]
        names += list(_setting("METRICS_CELERY_QUEUES", []))
        return sorted(set(names))

    def lengths(self) -> dict[str, int]:
        app = self._app
        if app is None:
            from config.celery import app
        found: dict[str, int] = {}
        with app.connection_for_read(self.url) as conn:
            conn.ensure_connection(max_retries=1, timeout=self.timeout)
            for name in self.queues(app):
                channel = conn.channel()
                try:
                    found[name] = int(channel.queue_declare(queue=name, passive=True).message_count)
                except conn.channel_errors:  # the queue does not exist (yet): nothing waits in it
                    found[name] = 0
                finally:
                    with contextlib.suppress(Exception):  # a channel the broker already closed (AMQP 404)
                        channel.close()
        return found

    def collect(self) -> Iterator[Metric]:
        length = GaugeMetricFamily("celery_queue_length", "Messages waiting in a Celery queue.", labels=["queue"])
        up = GaugeMetricFamily("celery_broker_up", "1 when the Celery broker answered the scrape, else 0.")
        try:
            for name, count in self.lengths().items():
                length.add_metric([name], count)
            up.add_metric([], 1)
        except Exception as exc:  # a scrape reports the broker down, it does not fail
            logger.warning("celery queue lengths unavailable: %s", exc)
            up.add_metric([], 0)
        yield length
        yield up


def _pending_count_sql(quote: Callable[[str], str], table: str, schemas: list[str]) -> str:
    """One query summing the rows of `status = %s` in `table` of each schema.

    The identifiers come from pg_tables (existing schemas of active firms) and are quoted.
    """
    union = " UNION ALL ".join(
        f"SELECT count(*) AS n FROM {quote(schema)}.{quote(table)} WHERE status = %s"  # noqa: S608
        for schema in schemas
    )
    return f"SELECT coalesce(sum(n), 0) FROM ({union}) AS counts"  # noqa: S608


class OutboxCollector(Collector):
    """`webhook_deliveries_pending`: outgoing webhook deliveries still pending, summed over active firms.

    One query lists the active firms' schemas that have the table, then one
    UNION ALL query per `chunk` schemas counts the pending rows (the
    (status, next_attempt_at) index serves it). The figure is kept
    `cache_seconds` per process so that frequent scrapes cost nothing more.
    E-mails have no outbox yet: `outbox_emails_pending` is reserved for it.
    """

    def __init__(self, cache_seconds: float | None = None, chunk: int = 200):
        self.cache_seconds = cache_seconds
        self.chunk = chunk
        self._lock = threading.Lock()
        self._cached: tuple[float, int] | None = None

    def pending(self) -> int:
        ttl = (
            self.cache_seconds
            if self.cache_seconds is not None
            else float(_setting("METRICS_OUTBOX_CACHE_SECONDS", 30))
        )
        with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < ttl:
                return self._cached[1]
            value = self._count()
            self._cached = (time.monotonic(), value)
            return value

    def _count(self) -> int:
        from django.apps import apps
        from django.db import connection
        from django_tenants.utils import get_public_schema_name, get_tenant_model, schema_context

        delivery = apps.get_model("integrations", "WebhookDelivery")
        table = delivery._meta.db_table
        pending = delivery.Status.PENDING.value
        with schema_context(get_public_schema_name()):
            manager = get_tenant_model().objects
            firms = (
                manager.active_firms()
                if hasattr(manager, "active_firms")
                else manager.exclude(schema_name=get_public_schema_name())
            )
            schemas = list(firms.values_list("schema_name", flat=True))
            if not schemas:
                return 0
            total = 0
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT schemaname FROM pg_tables WHERE tablename = %s AND schemaname = ANY(%s)", [table, schemas]
                )
                present = sorted(row[0] for row in cursor.fetchall())
                for start in range(0, len(present), self.chunk):
                    part = present[start : start + self.chunk]
                    cursor.execute(_pending_count_sql(connection.ops.quote_name, table, part), [pending] * len(part))
                    total += int(cursor.fetchone()[0])
            return total

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "webhook_deliveries_pending", "Outgoing webhook deliveries still pending, summed over active firms."
        )
        try:
            gauge.add_metric([], self.pending())
        except Exception as exc:  # e.g. the database is down: leave the series out, keep the scrape
            logger.warning("webhook outbox size unavailable: %s", exc)
            return
        yield gauge


queue_collector = CeleryQueueCollector()
outbox_collector = OutboxCollector()


def render(extra: Iterable[Collector] | None = None) -> bytes:
    """The exposition text: the process (or, in multiprocess mode, every process) metrics, then the
    scrape-time collectors."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        base = CollectorRegistry()
        multiprocess.MultiProcessCollector(base)
    else:
        base = REGISTRY
    scrape_time = CollectorRegistry()
    for collector in extra if extra is not None else (queue_collector, outbox_collector):
        scrape_time.register(collector)
    return generate_latest(base) + generate_latest(scrape_time)


# --- Celery: task counters, in the worker processes ----------------------------


def _task_name(sender: Any) -> str:
    return str(getattr(sender, "name", None) or sender or "unknown")


def _count(state: str) -> Callable[..., None]:
    def receiver(sender: Any = None, **kwargs: Any) -> None:
        task = sender
        if state == "revoked":  # task_revoked's sender is the task too, but may be None for unknown tasks
            request = kwargs.get("request")
            task = sender or getattr(request, "task", None)
        CELERY_TASKS.labels(task=_task_name(task), state=state).inc()

    receiver.__name__ = f"count_{state}"
    return receiver


_receivers = {state: _count(state) for state in TASK_STATES}


def connect_celery_signals() -> None:
    """Count tasks by end state (idempotent). Called by config/celery.py in every process."""
    from celery.signals import task_failure, task_retry, task_revoked, task_success, worker_ready

    task_success.connect(_receivers["succeeded"], weak=False, dispatch_uid="core.metrics.succeeded")
    task_failure.connect(_receivers["failed"], weak=False, dispatch_uid="core.metrics.failed")
    task_retry.connect(_receivers["retried"], weak=False, dispatch_uid="core.metrics.retried")
    task_revoked.connect(_receivers["revoked"], weak=False, dispatch_uid="core.metrics.revoked")
    worker_ready.connect(_start_worker_server_from_env, weak=False, dispatch_uid="core.metrics.worker_server")


def start_worker_metrics_server(port: int, addr: str = "0.0.0.0") -> None:  # noqa: S104 (a pod's own port)
    """Serve the worker's task counters on `port` (every prefork child's, through the multiprocess folder).

    Queue lengths and the outbox are scraped from the web's /metrics, not here."""
    from prometheus_client import start_http_server

    registry = CollectorRegistry()
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        logger.warning(
            "CELERY_METRICS_PORT without PROMETHEUS_MULTIPROC_DIR: the prefork children's task counters are lost"
        )
        registry = REGISTRY
    start_http_server(port, addr=addr, registry=registry)


def _start_worker_server_from_env(**_: Any) -> None:
    port = os.environ.get("CELERY_METRICS_PORT", "")
    if port:
        start_worker_metrics_server(int(port))


def gunicorn_child_exit(server: Any, worker: Any) -> None:
    """gunicorn's `child_exit` hook (infra's gunicorn config): forget a dead worker's live gauges."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
