"""The domain signals that become webhook events (connected in IntegrationsConfig.ready).

Every signal here is sent after its transaction committed: a receiver only
writes the deliveries (the attempts go after that commit), and never lets a
failure reach the business operation that announced the event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.dispatch import receiver

from billing.signals import invoice_issued, invoice_paid
from integrations import payloads, services
from integrations.events import EventType
from mediation.cases.signals import case_created, case_status_changed
from mediation.members.signals import membership_changed

logger = logging.getLogger(__name__)


def _emit(event_type: str, build: Callable[[], dict[str, Any] | None]) -> None:
    try:
        with transaction.atomic():  # a failed query must not break a caller's enclosing transaction
            data = build()
            if data is not None:
                services.emit(event_type=event_type, data=data)
    except Exception:
        logger.exception("webhook event %s not emitted", event_type)


@receiver(case_created, dispatch_uid="integrations.case_created")
def on_case_created(sender: Any, case_id: int, **kwargs: Any) -> None:
    _emit(EventType.CASE_CREATED, lambda: payloads.case(case_id))


@receiver(case_status_changed, dispatch_uid="integrations.case_status_changed")
def on_case_status_changed(sender: Any, case_id: int, before: str, after: str, **kwargs: Any) -> None:
    _emit(EventType.CASE_STATUS_CHANGED, lambda: payloads.case(case_id, before=before, after=after))


@receiver(membership_changed, dispatch_uid="integrations.membership_changed")
def on_membership_changed(sender: Any, member_id: int, before: str, after: str, **kwargs: Any) -> None:
    _emit(EventType.MEMBERSHIP_CHANGED, lambda: payloads.member(member_id, before=before, after=after))


@receiver(invoice_issued, dispatch_uid="integrations.invoice_issued")
def on_invoice_issued(sender: Any, invoice_id: int, **kwargs: Any) -> None:
    _emit(EventType.INVOICE_ISSUED, lambda: payloads.invoice(invoice_id))


@receiver(invoice_paid, dispatch_uid="integrations.invoice_paid")
def on_invoice_paid(sender: Any, invoice_id: int, **kwargs: Any) -> None:
    _emit(EventType.INVOICE_PAID, lambda: payloads.invoice(invoice_id))
