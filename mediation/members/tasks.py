"""Celery tasks of the member businesses: they load and call a service, nothing more."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="mediation.members.tasks.daily_membership_run", acks_late=True)
def daily_membership_run() -> dict[str, int]:
    """Once a day in each firm (fanned out from beat): renewal reminders, renewal due, lapse."""
    from mediation.members import membership

    return membership.daily_membership_run()
