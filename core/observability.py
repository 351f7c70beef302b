"""Sentry, initialised only when SENTRY_DSN is set.

Events carry the tenant schema (`tenant` tag, set per request by
core.middleware.TenantContextMiddleware and per task in config/celery.py), the
request id (`request_id` tag, core.request_id) and the release: SENTRY_RELEASE,
else the git sha the image was built from (GIT_SHA).
"""

from __future__ import annotations

import os
from typing import Any

import sentry_sdk


def release_from_environment(environ: Any = None) -> str | None:
    environ = os.environ if environ is None else environ
    return environ.get("SENTRY_RELEASE") or environ.get("GIT_SHA") or None


def init_sentry(*, dsn: str, environment: str, release: str = "", transport: Any = None) -> None:
    """`transport`: a sentry_sdk Transport (tests collect envelopes with one; None = HTTP to the DSN)."""
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    options: dict[str, Any] = {}
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or release_from_environment(),
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        traces_sample_rate=0.0,
        **options,
    )


def connect_celery() -> None:
    """Called once by config/celery.py (web and worker processes): tasks carry the publishing request's
    id, workers count tasks by state, and keep settings.LOGGING (JSON in production) instead of Celery's
    own log format."""
    from celery.signals import setup_logging

    from core import metrics, request_id
    from core.logging import keep_django_logging

    request_id.connect_celery_signals()
    metrics.connect_celery_signals()
    setup_logging.connect(keep_django_logging, weak=False, dispatch_uid="core.logging.keep_django_logging")


def tag_tenant(schema_name: str) -> None:
    # A no-op when Sentry was not initialised.
    sentry_sdk.set_tag("tenant", schema_name)
