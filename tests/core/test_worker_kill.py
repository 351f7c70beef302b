"""A worker killed in the middle of a task (a real process, SIGKILL): the task runs again, its effect happens once.

Tasks are `acks_late` (settings.CELERY_TASK_ACKS_LATE): the broker keeps the message until the task returned.
Two ways back:
- the whole worker dies (main process and prefork child): nobody is left to acknowledge or reject; the Redis
  transport hands the message out again once it has been unacknowledged longer than the visibility timeout
  (CELERY_VISIBILITY_TIMEOUT, 5 s here), when a worker starts or at its periodic sweep;
- only the prefork child dies: the main process rejects the message back to the queue
  (CELERY_TASK_REJECT_ON_WORKER_LOST) and a new child runs it.

The task is stopped at a chosen point by tests/worker_hooks.py (test-only, loaded with `--include`), which also
journals every run. The broker is the configured one (settings.CELERY_BROKER_URL): the embedded Valkey under
`make pytest`, the real Redis in CI's second pass.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from billing.models import Invoice
from billing.renewal_tasks import bill_membership_term
from mediation.members.membership import term_end
from mediation.members.models import Member, Membership
from tests.billing.helpers import billable_member, firm_identity
from tests.conftest import database_url_for_current_test_db
from tests.members.membership_helpers import tariffs
from tests.worker_hooks import JOURNAL, MAIL_DIR, MARKER, PAUSE

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY_TIMEOUT = 5
IN_BILLING_TRANSACTION = "in:billing.services:issue_automatically"  # issued, not committed (bill_membership_period)
AFTER_BILLING_TASK = f"after:{bill_membership_term.name}"  # committed, result stored, message not acknowledged


class Workers:
    """Real `celery worker` processes, each in its own process group so that one signal kills it and its child."""

    def __init__(self, folder: Path, django_db_blocker: Any) -> None:
        self.folder = folder
        self.journal = folder / "journal.jsonl"
        self.marker = folder / "paused.json"
        self.mail = folder / "mail"
        self.mail.mkdir()
        self.media = folder / "media"
        self.media.mkdir()
        self.procs: list[subprocess.Popen[bytes]] = []
        with django_db_blocker.unblock():
            self.database_url = database_url_for_current_test_db()

    def start(self, **extra: str) -> subprocess.Popen[bytes]:
        from config.celery import app

        name = f"killtest{len(self.procs) + 1}@{socket.gethostname()}"
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND,
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
            "TESTING": "1",
            "EMAIL_BACKEND": "tests.worker_hooks.FolderMailBackend",
            "MEDIA_ROOT": str(self.media),
            JOURNAL: str(self.journal),
            MARKER: str(self.marker),
            MAIL_DIR: str(self.mail),
            **extra,
        }
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork", "--concurrency=1"]
        command += ["--include=tests.worker_hooks", "-l", "warning", "-n", name, "--without-heartbeat"]
        command += ["--without-gossip", "--without-mingle"]
        proc = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
        self.procs.append(proc)
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[name], timeout=0.5):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker {name} did not start (exit code {proc.poll()})")
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL to the worker's process group: the main process and its prefork child, no goodbye."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
            with contextlib.suppress(ProcessLookupError):  # a prefork child left behind by its main process
                os.killpg(proc.pid, signal.SIGKILL)

    def entries(self, task_id: str | None = None, event: str | None = None, task: str | None = None) -> list[dict]:
        if not self.journal.exists():
            return []
        found = [json.loads(line) for line in self.journal.read_text().splitlines() if line.strip()]
        return [
            e
            for e in found
            if (task_id is None or e["id"] == task_id)
            and (event is None or e["event"] == event)
            and (task is None or e["task"] == task)
        ]

    def paused(self, timeout: float = 60) -> dict:
        wait_for(lambda: self.marker.exists() and self.marker.read_text(), timeout, "the task to pause")
        return json.loads(self.marker.read_text())

    def mails(self) -> list[Path]:
        return sorted(self.mail.iterdir())


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def workers(tmp_path: Path, django_db_blocker: Any, tenant_a: Any) -> Iterator[Workers]:
    from config.celery import app

    app.control.purge()  # tasks queued by earlier tests and never run (as celery_worker_process does)
    started = Workers(tmp_path, django_db_blocker)
    yield started
    started.stop_all()
    connection.set_tenant(tenant_a)


def unbilled_term() -> Membership:
    """A member's new, unpaid one-year term: its first period is due now (committed, the worker reads it)."""
    firm_identity()
    tariffs()
    member = billable_member(status=Member.Status.ACTIVE, legal_name="Entreprise Tuée SARL")
    today = timezone.localdate()
    return Membership.objects.create(member=member, term_years=1, starts_on=today, ends_on=term_end(today, 1))


def membership_invoices(membership: Membership) -> list[tuple[str | None, str]]:
    return list(
        Invoice.objects.filter(membership=membership, kind=Invoice.Kind.INVOICE, purpose=Invoice.Purpose.MEMBERSHIP)
        .order_by("pk")
        .values_list("number", "status")
    )


def wait_until_visible_again(start: dict) -> None:
    """The Redis transport restores a message unacknowledged for longer than the visibility timeout."""
    time.sleep(max(0.0, start["at"] + VISIBILITY_TIMEOUT + 1 - time.time()))


def run_of(workers: Workers, task_id: str, n: int, timeout: float = 150) -> dict:
    """The n-th (1-based) end of that task in the journal; the periodic sweep may take ~100 s when a start misses."""
    return wait_for(
        lambda: len(workers.entries(task_id, "end")) >= n and workers.entries(task_id, "end")[n - 1],
        timeout,
        f"run {n} of task {task_id} to end",
    )


def one_invoice_mailed(workers: Workers) -> list[Path]:
    """The invoice's e-mail task (queued after commit) ran; what every worker sent."""
    wait_for(lambda: workers.entries(event="end", task="billing.tasks.send_invoice"), 60, "the invoice e-mail task")
    return workers.mails()


def test_a_worker_killed_inside_the_billing_transaction_bills_the_term_once_when_the_task_comes_back(workers):
    membership = unbilled_term()
    first = workers.start(**{PAUSE: IN_BILLING_TRANSACTION})

    result = bill_membership_term.delay(membership.pk)
    paused = workers.paused()
    assert paused["pid"] != first.pid  # the prefork child runs the task
    workers.kill(first)

    assert membership_invoices(membership) == []  # its transaction died with it: nothing was kept
    [start] = workers.entries(result.id, "start")
    wait_until_visible_again(start)
    second = workers.start()

    end = run_of(workers, result.id, 1)  # the first run never ended
    assert end["state"] == "SUCCESS" and end["retval"] == "'issued:1'"
    assert result.get(timeout=30) == "issued:1"
    starts = workers.entries(result.id, "start")
    assert [s["redelivered"] for s in starts] == [False, True]
    assert starts[0]["pid"] == paused["pid"] and starts[1]["pid"] not in (first.pid, second.pid, paused["pid"])
    [(number, status)] = membership_invoices(membership)
    assert number and status == Invoice.Status.ISSUED
    assert len(one_invoice_mailed(workers)) == 1


def test_a_worker_killed_after_the_invoice_committed_runs_the_task_again_and_bills_nothing_more(workers):
    membership = unbilled_term()
    first = workers.start(**{PAUSE: AFTER_BILLING_TASK})

    result = bill_membership_term.delay(membership.pk)
    workers.paused()
    workers.kill(first)  # its body returned and its result is stored: the message was never acknowledged

    [(number, _)] = membership_invoices(membership)
    [start] = workers.entries(result.id, "start")
    wait_until_visible_again(start)
    workers.start()

    rerun = run_of(workers, result.id, 2)
    assert (rerun["state"], rerun["retval"]) == ("SUCCESS", "'issued:0'")
    assert [s["redelivered"] for s in workers.entries(result.id, "start")] == [False, True]
    assert membership_invoices(membership) == [(number, Invoice.Status.ISSUED)]
    assert len(one_invoice_mailed(workers)) == 1  # queued by the first run, sent by the second worker


def test_a_prefork_child_killed_inside_the_transaction_is_replaced_and_the_task_requeued_at_once(workers):
    membership = unbilled_term()
    worker = workers.start(**{PAUSE: IN_BILLING_TRANSACTION})

    result = bill_membership_term.delay(membership.pk)
    paused = workers.paused()
    os.kill(paused["pid"], signal.SIGKILL)  # the child only: the main process sees it lost

    # No visibility timeout: the main process rejects the message back to the queue, a new child runs it.
    assert result.get(timeout=60) == "issued:1"
    starts = workers.entries(result.id, "start")
    assert [s["redelivered"] for s in starts] == [False, True]
    assert starts[1]["pid"] not in (paused["pid"], worker.pid)
    assert worker.poll() is None
    [(number, status)] = membership_invoices(membership)
    assert number and status == Invoice.Status.ISSUED
    assert len(one_invoice_mailed(workers)) == 1


def test_a_worker_killed_after_sending_the_acknowledgement_of_a_filing_sends_it_once(workers):
    from mediation.cases.models import Letter
    from mediation.cases.tasks import send_letters
    from tests.factories import MemberFactory, received_case

    first = workers.start(**{PAUSE: f"after:{send_letters.name}"})
    case = received_case(MemberFactory(legal_name="Boutique Exemple SARL"))  # queues its letters after commit

    workers.paused()
    workers.kill(first)  # the letter stored and e-mailed, the message never acknowledged
    [start] = workers.entries(event="start", task=send_letters.name)
    sent = list(Letter.objects.filter(case=case).values_list("kind", "recipient", "sent_at"))
    assert [(kind, recipient) for kind, recipient, _ in sent] == [("acknowledgement", "consumer")]
    wait_until_visible_again(start)
    workers.start()

    rerun = run_of(workers, start["id"], 2)
    assert (rerun["state"], rerun["retval"]) == ("SUCCESS", "0")  # nothing left to send
    assert [s["redelivered"] for s in workers.entries(start["id"], "start")] == [False, True]
    assert list(Letter.objects.filter(case=case).values_list("kind", "recipient", "sent_at")) == sent
    assert len(workers.mails()) == 1
