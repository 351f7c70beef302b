"""Celery on RabbitMQ: a real worker consumes a tenant task from an AMQP broker and writes in the firm's schema.

The broker is the machine's RabbitMQ (127.0.0.1:5672, guest/guest, vhost
`/`). Each test uses its own queue and worker name, so nothing collides with
other workers on the broker. Locally the tests skip when nothing listens on
5672; with CI=true they fail instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.db import connection
from kombu import Connection, Exchange, Producer, Queue
from prometheus_client.parser import text_string_to_metric_families

from config.celery import app
from core import metrics, request_id
from core.models import PeriodicRun
from core.observability import connect_celery
from core.tasks import tenant_heartbeat
from tests.conftest import database_url_for_current_test_db

AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
ROOT = Path(__file__).resolve().parents[2]


def _rabbitmq_listening() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _needs_rabbitmq() -> None:
    if not _rabbitmq_listening():
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("RabbitMQ is not listening on 127.0.0.1:5672 (CI=true: this test must run)")
        pytest.skip("RabbitMQ is not listening on 127.0.0.1:5672")


@pytest.fixture
def amqp() -> Iterator[Connection]:
    with app.connection_for_write(AMQP_URL) as conn:
        conn.ensure_connection(max_retries=3)
        yield conn


@pytest.fixture
def queue_name(amqp: Connection) -> Iterator[str]:
    name = f"observe-rabbitmq-{uuid.uuid4().hex[:10]}"
    yield name
    channel = amqp.channel()
    try:
        channel.queue_delete(name)
    finally:
        channel.close()


@pytest.fixture
def rabbitmq_worker(
    django_db_blocker: Any, amqp: Connection, queue_name: str, tmp_path: Path
) -> Iterator[tuple[str, Path]]:
    """A real `celery worker` on RabbitMQ, consuming only `queue_name`; yields its metrics URL and its log file.

    The worker gets the production settings path: CELERY_BROKER_URL=amqp://…
    and no CELERY_RESULT_BACKEND (the default must suit an AMQP broker too).
    """
    with django_db_blocker.unblock():
        database_url = database_url_for_current_test_db()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TESTING": "1",
        "CELERY_BROKER_URL": AMQP_URL,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
    }
    env.pop("CELERY_RESULT_BACKEND", None)
    # The worker serves its task counters (summed over its prefork children) on a port of its own.
    metrics_port = _free_port()
    (tmp_path / "prometheus").mkdir()
    env.update(CELERY_METRICS_PORT=str(metrics_port), PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"))
    worker = f"observe-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork", "--concurrency=1"),
                *("-Q", queue_name, "-n", worker, "--without-gossip", "--without-mingle", "-l", "info"),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        # Ready when it consumes its queue (a control ping over a second broker gets no reply in Celery 5.7).
        while _consumers(amqp, queue_name) < 1:
            time.sleep(0.2)
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the Celery worker on RabbitMQ did not start (exit {proc.poll()}):\n{log_path.read_text()[-3000:]}"
                )
        yield f"http://127.0.0.1:{metrics_port}/", log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _consumers(conn: Connection, queue: str) -> int:
    channel = conn.channel()
    try:
        return int(channel.queue_declare(queue=queue, passive=True).consumer_count)
    except conn.channel_errors:  # not declared by the worker yet
        return 0
    finally:
        with contextlib.suppress(Exception):  # already closed by the broker's 404
            channel.close()


def _wait_for_run(use_tenant: Any, schema: str, timeout: float = 30) -> list[tuple[str, int]]:
    deadline = time.monotonic() + timeout
    found: list[tuple[str, int]] = []
    while time.monotonic() < deadline:
        use_tenant(schema)
        found = list(PeriodicRun.objects.values_list("schema_name", "runs"))
        connection.set_schema_to_public()
        if found:
            break
        time.sleep(0.2)
    return found


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_on_rabbitmq_runs_a_tenant_task_in_its_firm_schema(rabbitmq_worker, amqp, queue_name, use_tenant):
    metrics_url, log_path = rabbitmq_worker
    for schema in ("alpha", "beta"):  # committed rows of an interrupted earlier run
        use_tenant(schema)
        PeriodicRun.objects.all().delete()
    connect_celery()

    use_tenant("beta")  # tenant-schemas-celery puts the connection's schema in the message
    with request_id.bind_request_id("rabbit-0123456789"):
        tenant_heartbeat.apply_async(connection=amqp, queue=queue_name)
    connection.set_schema_to_public()

    assert _wait_for_run(use_tenant, "beta") == [("beta", 1)]
    assert _wait_for_run(use_tenant, "alpha", timeout=0.5) == []  # the other firm's schema is untouched

    # The worker's log lines are JSON and the task's lines carry the publishing request's id and the firm.
    deadline = time.monotonic() + 10
    task_lines: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not task_lines:
        lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
        task_lines = [line for line in lines if line.get("request_id") == "rabbit-0123456789"]
        time.sleep(0.2)
    assert task_lines, log_path.read_text()[-3000:]
    assert {line["schema"] for line in task_lines} == {"beta"}
    assert any("core.tasks.tenant_heartbeat" in line["message"] for line in task_lines)

    # The prefork child counted the task; the worker's main process serves the count.
    scraped = requests.get(metrics_url, timeout=5).text
    succeeded = [
        sample.value
        for family in text_string_to_metric_families(scraped)
        for sample in family.samples
        if sample.name == "celery_tasks_total"
        and sample.labels == {"task": "core.tasks.tenant_heartbeat", "state": "succeeded"}
    ]
    assert succeeded == [1.0], scraped


def test_the_queue_length_collector_reads_a_rabbitmq_queue(amqp, queue_name):
    exchange = Exchange(queue_name, type="direct")
    queue = Queue(queue_name, exchange, routing_key=queue_name)
    producer = Producer(amqp.default_channel)
    for n in range(4):
        producer.publish({"n": n}, exchange=exchange, routing_key=queue_name, declare=[queue])
    missing = f"observe-rabbitmq-missing-{uuid.uuid4().hex[:8]}"

    collector = metrics.CeleryQueueCollector(queues=[queue_name, missing], url=AMQP_URL)

    deadline = time.monotonic() + 5  # RabbitMQ's count may lag a publish by a few milliseconds
    while collector.lengths()[queue_name] < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert collector.lengths() == {queue_name: 4, missing: 0}


def test_settings_accept_a_rabbitmq_broker_without_a_result_backend():
    env = {k: v for k, v in os.environ.items() if k != "CELERY_RESULT_BACKEND"}
    env.update(CELERY_BROKER_URL=AMQP_URL, DJANGO_SETTINGS_MODULE="config.settings")
    snippet = (
        "import json, django\ndjango.setup()\nfrom config.celery import app\n"
        "print(json.dumps({'backend': type(app.backend).__name__, 'broker': app.conf.broker_url.split(':')[0]}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", snippet], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr[-2000:]
    state = json.loads(result.stdout.strip().splitlines()[-1])
    assert state["broker"] == "amqp"
    assert state["backend"] in {"RPCBackend", "RedisBackend", "DatabaseBackend"}
