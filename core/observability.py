"""Sentry, initialised only when SENTRY_DSN is set; events carry the tenant schema."""

from __future__ import annotations

import sentry_sdk


def init_sentry(*, dsn: str, environment: str, release: str = "") -> None:
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        traces_sample_rate=0.0,
    )


def tag_tenant(schema_name: str) -> None:
    # A no-op when Sentry was not initialised.
    sentry_sdk.set_tag("tenant", schema_name)
