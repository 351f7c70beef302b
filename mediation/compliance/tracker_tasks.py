"""The filing tracker's daily task (fanned out to every firm from beat): sync the obligations, then remind."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="mediation.compliance.tracker_tasks.daily_obligations", acks_late=True)
def daily_obligations() -> dict[str, int]:
    """Creates the obligations the firm's records call for, closes those they settle, then sends the reminders."""
    from mediation.compliance import tracker

    return tracker.daily()
