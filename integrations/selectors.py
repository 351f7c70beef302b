"""Reads of the webhooks: endpoints with their last delivery, the delivery log and what is due."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from integrations.models import WebhookDelivery, WebhookEndpoint

DUE_BATCH = 500


def endpoints() -> QuerySet[WebhookEndpoint]:
    """Every endpoint, annotated with its last delivery's status, event type and date (None when none yet)."""
    last = WebhookDelivery.objects.filter(endpoint=OuterRef("pk")).order_by("-created_at", "-pk")
    return WebhookEndpoint.objects.annotate(
        last_delivery_status=Subquery(last.values("status")[:1]),
        last_delivery_type=Subquery(last.values("event_type")[:1]),
        last_delivery_at=Subquery(last.values("created_at")[:1]),
    ).order_by("-created_at", "-pk")


def endpoint(pk: int) -> WebhookEndpoint | None:
    return WebhookEndpoint.objects.filter(pk=pk).first()


def deliveries(*, endpoint: WebhookEndpoint | None = None, **filters: Any) -> QuerySet[WebhookDelivery]:
    """The log, newest first; `filters` are `status` and `event_type` (empty values ignored)."""
    queryset = WebhookDelivery.objects.select_related("endpoint").order_by("-created_at", "-pk")
    if endpoint is not None:
        queryset = queryset.filter(endpoint=endpoint)
    for name in ("status", "event_type"):
        if filters.get(name):
            queryset = queryset.filter(**{name: filters[name]})
    return queryset


def delivery(pk: int) -> WebhookDelivery | None:
    return WebhookDelivery.objects.select_related("endpoint").filter(pk=pk).first()


def due_delivery_ids(*, now: datetime.datetime, limit: int = DUE_BATCH) -> list[int]:
    return list(
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
