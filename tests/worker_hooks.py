"""Test-only hooks for a real Celery worker: a journal of task runs, and a pause at a chosen point to kill it there.

Never imported by the product: tests/core/test_worker_kill.py starts its workers with
`--include tests.worker_hooks`. Everything is driven by the worker's environment:

    KILLTEST_JOURNAL  a file: one JSON line per task start and end (task id, name, pid, redelivered flag, state)
    KILLTEST_PAUSE    where the first run stops, forever, until the test kills the process:
                        "in:<module>:<function>"  right after that function returned, inside the task (so inside
                                                  whatever transaction its caller holds);
                        "after:<task name>"       when the task's body returned (its transactions committed)
                                                  but before the message is acknowledged (task_postrun)
    KILLTEST_MARKER   a file written (with the pid) when a process pauses; when it exists nobody pauses again,
                      so a redelivered run goes to the end.
    KILLTEST_MAIL_DIR with EMAIL_BACKEND=tests.worker_hooks.FolderMailBackend: one file per message sent.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from celery.signals import task_postrun, task_prerun
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

JOURNAL = "KILLTEST_JOURNAL"
PAUSE = "KILLTEST_PAUSE"
MARKER = "KILLTEST_MARKER"
MAIL_DIR = "KILLTEST_MAIL_DIR"


def _journal(**entry: Any) -> None:
    path = os.environ.get(JOURNAL)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:  # one short append per line: atomic enough across processes
        handle.write(json.dumps({"pid": os.getpid(), "at": time.time(), **entry}) + "\n")
        handle.flush()


def _pause_here(point: str) -> None:
    """Stops this process here, once: the test SIGKILLs it (or its whole worker) while it sleeps."""
    marker = os.environ.get(MARKER)
    if not marker:
        return
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return  # paused once already: this run goes to the end
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps({"pid": os.getpid(), "point": point, "at": time.time()}))
    while True:
        time.sleep(3600)


@task_prerun.connect
def _journal_start(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    delivery = getattr(task.request, "delivery_info", None) or {}
    _journal(event="start", id=task_id, task=task.name, redelivered=bool(delivery.get("redelivered")))


@task_postrun.connect
def _journal_end_then_maybe_pause(
    task_id: str | None = None, task: Any = None, state: str | None = None, retval: Any = None, **_: Any
) -> None:
    _journal(event="end", id=task_id, task=task.name, state=state, retval=repr(retval))
    if os.environ.get(PAUSE, "") == f"after:{task.name}":
        _pause_here(os.environ[PAUSE])


def _pause_after_returning(function: Callable[..., Any], point: str) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        _pause_here(point)
        return result

    return wrapper


def _install_pause_in_function() -> None:
    point = os.environ.get(PAUSE, "")
    if not point.startswith("in:"):
        return
    module_name, function_name = point.removeprefix("in:").split(":")
    module = importlib.import_module(module_name)
    setattr(module, function_name, _pause_after_returning(getattr(module, function_name), point))


# Imported by the worker's main process before it forks its pool: the children inherit the wrapper.
_install_pause_in_function()


class FolderMailBackend(BaseEmailBackend):
    """Writes each message to KILLTEST_MAIL_DIR (one file each), so the test counts what every worker sent."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        folder = Path(os.environ[MAIL_DIR])
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            (folder / f"{time.time_ns()}-{uuid.uuid4().hex}.eml").write_bytes(message.message().as_bytes())
            sent += 1
        return sent
