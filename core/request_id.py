"""Request ids: one id per request, in the logs, the response, Sentry and the tasks the request enqueues.

The id comes from the client's `X-Request-ID` when it is a sane token (a
proxy or load balancer usually sets one), else a new uuid4 hex. It is kept in
a context variable that `core.logging.RequestContextFilter` reads, so every
log line written while the request runs carries it; Celery tasks published
meanwhile carry it in a message header and their worker-side log lines carry
it too (`connect_celery_signals`).

The middleware also writes the access log: one line per request on the
`core.access` logger at INFO (method, path, status, duration, user id), in
place of the development server's own lines. Probes (/health/, /metrics) are
logged at DEBUG only.

This module imports nothing from Django at import time: `config.settings`
imports `core.logging`, which reads the context variables defined here.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
META_KEY = "HTTP_X_REQUEST_ID"
# The Celery message header carrying the id from the publishing request to the task.
TASK_HEADER = "request_id"
# Letters, digits and `._:-`, 8 to 128 characters: a UUID (with or without hyphens), a ULID, a trace id.
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
QUIET_PATHS = frozenset({"/health/", "/metrics"})

access_logger = logging.getLogger("core.access")

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
# The request being served, so that a log filter can read its user once authentication has run.
_current_request: ContextVar[Any] = ContextVar("current_request", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def sanitize(candidate: str | None) -> str | None:
    """The client's id when it is a sane token, else None (and a new id is made)."""
    if candidate and _SANE.fullmatch(candidate):
        return candidate
    return None


def get_request_id() -> str | None:
    return _request_id.get()


def current_request() -> Any:
    return _current_request.get()


@contextmanager
def bind_request_id(value: str | None) -> Iterator[None]:
    """Log lines (and tasks published) inside the block carry this request id."""
    token = _request_id.set(value)
    try:
        yield
    finally:
        _request_id.reset(token)


def user_id_of(request: Any) -> Any:
    """The authenticated user's id when authentication already ran for this request, else None.

    Never evaluates a lazy `request.user`: that would read the session (a query, and a
    `Vary: Cookie` on pages that must stay cacheable) for a log line.
    """
    from django.utils.functional import empty

    if request is None:
        return None
    user = request.__dict__.get("user")
    if user is None:
        return None
    wrapped = getattr(user, "_wrapped", user)  # a SimpleLazyObject until someone reads it
    if wrapped is empty:
        wrapped = request.__dict__.get("_cached_user")
    if wrapped is None or not getattr(wrapped, "is_authenticated", False):
        return None
    return getattr(wrapped, "pk", None)


def _tag_sentry(request_id: str) -> None:
    import sentry_sdk

    sentry_sdk.set_tag("request_id", request_id)  # a no-op when Sentry is off


class RequestIdMiddleware:
    """First in MIDDLEWARE: gives the request its id and writes the access log line."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = sanitize(request.META.get(META_KEY)) or new_request_id()
        request.request_id = request_id  # type: ignore[attr-defined]
        started = time.perf_counter()
        id_token = _request_id.set(request_id)
        request_token = _current_request.set(request)
        status = 500
        try:
            _tag_sentry(request_id)
            response = self.get_response(request)
            status = response.status_code
            response[HEADER] = request_id
            return response
        finally:
            self._log(request, status, (time.perf_counter() - started) * 1000)
            _current_request.reset(request_token)
            _request_id.reset(id_token)

    @staticmethod
    def _log(request: HttpRequest, status: int, duration_ms: float) -> None:
        level = logging.DEBUG if request.path in QUIET_PATHS else logging.INFO
        if not access_logger.isEnabledFor(level):
            return
        path = request.path
        access_logger.log(
            level,
            "%s %s %s %.1fms",
            request.method,
            path,
            status,
            duration_ms,
            extra={
                "method": request.method,
                "path": path,
                "status": status,
                "duration_ms": round(duration_ms, 1),
            },
        )


# --- Celery: the id travels with the tasks a request enqueues ---------------


def add_request_id_header(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """`before_task_publish`: the publishing request's id goes into the message headers."""
    request_id = _request_id.get()
    if request_id and headers is not None and TASK_HEADER not in headers:
        headers[TASK_HEADER] = request_id


def _task_request_id(task: Any) -> str | None:
    request = getattr(task, "request", None)
    if request is None:
        return None
    headers = getattr(request, "headers", None) or {}
    # Depending on the transport, custom headers land in `request.headers` or on the request itself.
    value = headers.get(TASK_HEADER) if isinstance(headers, dict) else None
    return sanitize(value or getattr(request, TASK_HEADER, None))


def restore_request_id(task: Any = None, **_: Any) -> None:
    """`task_prerun`: the task's log lines carry the id of the request that enqueued it."""
    request_id = _task_request_id(task)
    _request_id.set(request_id)
    if request_id:
        _tag_sentry(request_id)


def clear_request_id(**_: Any) -> None:
    """`task_postrun`: the next task in this worker process starts without an id."""
    _request_id.set(None)


def connect_celery_signals() -> None:
    """Connect the handlers above (idempotent). Called by config/celery.py in every process."""
    from celery.signals import before_task_publish, task_postrun, task_prerun

    before_task_publish.connect(add_request_id_header, weak=False, dispatch_uid="core.request_id.publish")
    task_prerun.connect(restore_request_id, weak=False, dispatch_uid="core.request_id.prerun")
    task_postrun.connect(clear_request_id, weak=False, dispatch_uid="core.request_id.postrun")
