"""Processing a stored Stripe webhook event exactly once (the platform's own events and the firms' Connect events).

Both apps keep their events in a model with `stripe_id`, `type`, `status`
(received / processed / failed / ignored), `attempts`, `processed_at` and
`error`; this module imports neither of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

logger = logging.getLogger(__name__)

PROCESSED, IGNORED, FAILED = "processed", "ignored", "failed"
E = TypeVar("E", bound=models.Model)


def process_once(event: E, handle: Callable[[Any], str]) -> E:
    """Runs `handle(event)` (which returns the new status) under the event's row lock, unless done already.

    A failure is kept on the event (status failed, the error, one more
    attempt) for Stripe's redelivery or an operator's retry; it never raises.
    """
    model = type(event)
    try:
        with transaction.atomic():
            locked: Any = model.objects.select_for_update().get(pk=event.pk)  # type: ignore[attr-defined]
            if locked.status in (PROCESSED, IGNORED):
                return locked  # a concurrent delivery got there first
            locked.status = handle(locked)
            locked.attempts += 1
            locked.processed_at = timezone.now()
            locked.error = ""
            locked.save(update_fields=["status", "attempts", "processed_at", "error"])
            return locked
    except Exception as exc:
        ref: Any = event
        logger.exception("Stripe event %s (%s) failed", ref.stripe_id, ref.type)
        model.objects.filter(pk=event.pk).update(  # type: ignore[attr-defined]
            status=FAILED, error=f"{type(exc).__name__}: {exc}"[:2000], attempts=F("attempts") + 1
        )
        event.refresh_from_db()
        return event
