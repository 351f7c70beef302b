"""Prometheus: /metrics access, request counters and latency, Celery queue lengths and task states, outbox."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from kombu import Connection, Exchange, Producer, Queue
from prometheus_client.parser import text_string_to_metric_families

from config.celery import app
from core import metrics
from tenants.models import Tenant
from tests.core.test_request_id import observed  # noqa: F401 (fixture)
from tests.subprocess_django import ROOT

TOKEN = "s3cret-scrape-token-0123456789"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _value(text: str, name: str, **labels: str) -> float:
    return _samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def scrape(public_client: Any) -> Any:
    """GET /metrics on the platform host (METRICS_TOKEN unset), as text."""

    def get() -> str:
        response = public_client.get("/metrics")
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/plain; version=")
        return response.content.decode()

    return get


# --- Who may scrape -----------------------------------------------------------------


def test_metrics_answer_on_the_platform_host_without_a_token(observed, db, scrape):  # noqa: F811
    assert "http_requests_total" in scrape()


def test_metrics_are_a_404_on_a_firm_host_without_a_token(observed, db, client_a):  # noqa: F811
    response = client_a.get("/metrics")

    assert response.status_code == 404
    assert b"http_requests_total" not in response.content


@pytest.mark.parametrize(
    ("host", "authorization", "status"),
    [
        ("alpha.localhost", f"Bearer {TOKEN}", 200),
        ("localhost", f"Bearer {TOKEN}", 200),
        ("localhost", "", 404),  # with a token set, the platform host needs it too
        ("alpha.localhost", "Bearer wrong-token", 404),
        ("alpha.localhost", f"Basic {TOKEN}", 404),
        ("unknown.example.com", f"Bearer {TOKEN}", 200),  # answered before host validation and tenant lookup
    ],
)
def test_with_a_token_only_the_bearer_may_scrape(observed, db, client, settings, host, authorization, status):  # noqa: F811
    settings.METRICS_TOKEN = TOKEN
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = client.get("/metrics", HTTP_HOST=host, **headers)

    assert response.status_code == status
    assert (b"http_requests_total" in response.content) is (status == 200)


# --- HTTP requests --------------------------------------------------------------------


def test_a_request_moves_its_counter_and_latency_histogram(observed, tenant_a, client_a, scrape):  # noqa: F811
    before = scrape()

    assert client_a.get("/").status_code == 200
    assert client_a.get("/").status_code == 200

    after = scrape()
    labels = {"method": "GET", "status": "2xx", "view": "home"}
    assert _value(after, "http_requests_total", **labels) - _value(before, "http_requests_total", **labels) == 2
    count = "http_request_duration_seconds_count"
    assert _value(after, count, method="GET", view="home") - _value(before, count, method="GET", view="home") == 2
    assert _value(after, "http_request_duration_seconds_bucket", method="GET", view="home", le="+Inf") >= 2


def test_labels_stay_bounded_whatever_the_paths(observed, tenant_a, client_a, scrape):  # noqa: F811
    before = scrape()

    for n in range(3):
        assert client_a.get(f"/page-inconnue-{n}/").status_code == 404
    client_a.generic("BREW", "/")

    after = _samples(scrape())
    views = {dict(labels)["view"] for name, labels in after if name == "http_requests_total"}
    assert not any("page-inconnue" in view for view in views)
    labels = {"method": "GET", "status": "4xx", "view": "unmatched"}
    key = ("http_requests_total", tuple(sorted(labels.items())))
    assert after[key] - _value(before, "http_requests_total", **labels) == 3
    assert any(name == "http_requests_total" and dict(labels)["method"] == "other" for name, labels in after)


def test_health_probes_have_their_own_view_label(observed, db, client_a, scrape):  # noqa: F811
    before = scrape()

    client_a.get("/health/?workers=0")

    labels = {"method": "GET", "view": "health"}
    after = scrape()
    assert (
        sum(
            _value(after, "http_requests_total", status=s, **labels)
            - _value(before, "http_requests_total", status=s, **labels)
            for s in ("2xx", "5xx")
        )
        == 1
    )


def test_multiprocess_mode_sums_the_counters_of_every_process(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings"}
    record = "from core import metrics; metrics.record_request('GET', 201, 'multi-view', 0.02)"
    for _ in range(2):  # two processes, like two gunicorn workers
        subprocess.run([sys.executable, "-c", record], cwd=ROOT, env=env, check=True, timeout=60)
    render = (
        "import django; django.setup(); import sys; from core import metrics; "
        "sys.stdout.write(metrics.render(extra=[]).decode())"
    )
    text = subprocess.run(
        [sys.executable, "-c", render], cwd=ROOT, env=env, check=True, timeout=60, capture_output=True, text=True
    ).stdout

    assert _value(text, "http_requests_total", method="GET", status="2xx", view="multi-view") == 2
    assert _value(text, "http_request_duration_seconds_count", method="GET", view="multi-view") == 2
    assert list(tmp_path.glob("counter_*.db"))


# --- Celery tasks by state -----------------------------------------------------------------


@app.task(name="tests.observe.add", bind=True, max_retries=1)
def _add(self: Any, a: int, b: int, retry: bool = False) -> int:
    if retry and not self.request.retries:
        raise self.retry(countdown=0)
    return a + b


@app.task(name="tests.observe.boom")
def _boom() -> None:
    raise RuntimeError("boom")


def test_task_counters_follow_the_tasks_end_states(observed, db, scrape):  # noqa: F811
    metrics.connect_celery_signals()
    before = scrape()

    assert _add.apply(args=(1, 2)).get() == 3
    assert _boom.apply().state == "FAILURE"
    assert _add.apply(args=(1, 2), kwargs={"retry": True}).get() == 3  # retried once, then succeeded

    after = scrape()

    def moved(task: str, state: str) -> float:
        return _value(after, "celery_tasks_total", task=task, state=state) - _value(
            before, "celery_tasks_total", task=task, state=state
        )

    assert moved("tests.observe.add", "succeeded") == 2
    assert moved("tests.observe.boom", "failed") == 1
    assert moved("tests.observe.add", "retried") == 1
    assert moved("tests.observe.boom", "succeeded") == 0


# --- Celery queue length (the configured broker: Valkey/Redis here, RabbitMQ in tests/infra) ----------


@pytest.fixture
def broker_queue() -> Iterator[tuple[Connection, str]]:
    name = f"observe-metrics-{uuid.uuid4().hex[:8]}"
    with app.connection_for_write() as conn:
        queue = Queue(name, Exchange(name, type="direct"), routing_key=name)
        queue(conn.default_channel).declare()
        yield conn, name
        queue(conn.default_channel).delete()


def test_the_queue_length_is_read_from_the_broker_at_scrape_time(observed, db, broker_queue, settings, scrape):  # noqa: F811
    conn, name = broker_queue
    settings.METRICS_CELERY_QUEUES = [name]
    producer = Producer(conn.default_channel)
    for n in range(3):
        producer.publish({"n": n}, exchange=name, routing_key=name, declare=[Queue(name, Exchange(name), name)])

    text = scrape()

    assert _value(text, "celery_queue_length", queue=name) == 3
    assert _value(text, "celery_broker_up") == 1
    assert ("celery_queue_length", (("queue", app.conf.task_default_queue),)) in _samples(text)
    assert metrics.CeleryQueueCollector(queues=[name]).lengths() == {name: 3}


def test_a_missing_queue_counts_zero(db):
    name = f"observe-never-declared-{uuid.uuid4().hex[:8]}"

    assert metrics.CeleryQueueCollector(queues=[name]).lengths() == {name: 0}


def test_an_unreachable_broker_is_reported_not_raised():
    dead = metrics.CeleryQueueCollector(queues=["celery"], url="redis://127.0.0.1:9/0", timeout=0.5)
    text = metrics.render(extra=[dead]).decode()

    assert _value(text, "celery_broker_up") == 0
    assert ("celery_queue_length", (("queue", "celery"),)) not in _samples(text)


# --- Outbox ------------------------------------------------------------------------------------


def _deliveries(schema: str, use_tenant: Any, *statuses: str) -> None:
    from integrations.models import WebhookDelivery, WebhookEndpoint

    use_tenant(schema)
    endpoint = WebhookEndpoint.objects.create(url="https://crm.example.fr/hook", secret="whsec_x", events=[])
    for status in statuses:
        WebhookDelivery.objects.create(endpoint=endpoint, event_type="case.created", payload={}, status=status)


def test_pending_webhook_deliveries_are_summed_over_active_firms(observed, db, use_tenant, scrape):  # noqa: F811
    _deliveries("alpha", use_tenant, "pending", "pending", "succeeded", "failed")
    _deliveries("beta", use_tenant, "pending")
    connection.set_schema_to_public()
    collector = metrics.OutboxCollector(cache_seconds=0)

    assert collector.pending() == 3

    Tenant.objects.filter(schema_name="beta").update(is_active=False)
    assert collector.pending() == 2
    assert connection.schema_name == "public"  # the collector leaves the connection where it found it

    metrics.outbox_collector.cache_seconds = 0
    try:
        assert _value(scrape(), "webhook_deliveries_pending") == 2
    finally:
        metrics.outbox_collector.cache_seconds = None


def test_the_outbox_count_is_cached_between_scrapes(db, use_tenant):
    collector = metrics.OutboxCollector(cache_seconds=60)
    assert collector.pending() == 0

    _deliveries("alpha", use_tenant, "pending")

    assert collector.pending() == 0
    assert metrics.OutboxCollector(cache_seconds=0).pending() == 1


def test_the_outbox_skips_firm_schemas_without_the_table(db, use_tenant):
    _deliveries("alpha", use_tenant, "pending")
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA observe_bare")
    Tenant.objects.bulk_create([Tenant(schema_name="observe_bare", name="Sans tables")])  # no schema creation

    assert metrics.OutboxCollector(cache_seconds=0).pending() == 1
