"""Celery tasks of the cases: they take ids, load, and call the letters module."""

from __future__ import annotations

from celery import shared_task

from mediation.cases import letters
from mediation.cases.models import CaseEvent


@shared_task(acks_late=True)
def send_letters(event_id: int) -> int:
    """Sends the letters an event calls for (at most once each: `Letter` is unique per event, kind and recipient)."""
    event = CaseEvent.objects.select_related("case", "case__member").filter(pk=event_id).first()
    if event is None:
        return 0
    return len(letters.send_for_event(event))


@shared_task(name="mediation.cases.tasks.daily_reminders", acks_late=True)
def daily_reminders() -> dict[str, int]:
    """Once a day in each firm (fanned out from beat): deadline reminders, then the execution follow-up."""
    from mediation.cases import reminders

    reminded = reminders.send_deadline_reminders()
    asked, unanswered = reminders.execution_followup()
    return {"reminders": reminded, "execution_asked": asked, "execution_unanswered": unanswered}
