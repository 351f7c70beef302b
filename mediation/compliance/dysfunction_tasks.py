"""Celery task of the recurring dysfunctions: run once a day in each firm (fanned out from beat)."""

from __future__ import annotations

from celery import shared_task

from mediation.compliance import dysfunctions


@shared_task(name="mediation.compliance.dysfunction_tasks.daily_dysfunction_watch", acks_late=True)
def daily_dysfunction_watch() -> int:
    """Detects the businesses, sectors and subjects over their thresholds; the new alerts are e-mailed to the firm's
    mediators and admins. Returns how many alerts were opened."""
    return len(dysfunctions.detect_and_notify())
