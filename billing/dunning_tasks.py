"""The daily dunning task (fanned out to every firm by beat): it calls `billing.dunning`, nothing more.

Not named `tasks.py`: `billing.receivers` imports it when Django starts.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="billing.dunning_tasks.daily_dunning", acks_late=True)
def daily_dunning() -> dict[str, int]:
    """Reminders at due date + 7 and + 30 days, then coverage suspended, each once per invoice."""
    from billing import dunning

    return dunning.daily_dunning().as_dict()
