"""Webhook tasks (each runs in its firm's schema: tenant-schemas-celery). They take ids and call the services."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from integrations import selectors, services


@shared_task(name="integrations.tasks.deliver", acks_late=True, ignore_result=True)
def deliver(delivery_id: int) -> bool:
    """One attempt of a delivery; its retries are scheduled in the row (backoff), not by Celery."""
    return services.attempt(delivery_id=delivery_id) is not None


@shared_task(name="integrations.tasks.send_due_deliveries", acks_late=True, ignore_result=True)
def send_due_deliveries() -> int:
    """Every minute, per firm (core.tasks.fan_out): queues the deliveries whose attempt is due.

    What a lost task or a broker outage left pending is sent here; a row queued
    twice is sent once (the attempt claims and leases it).
    """
    ids = selectors.due_delivery_ids(now=timezone.now())
    for pk in ids:
        deliver.delay(pk)
    return len(ids)
