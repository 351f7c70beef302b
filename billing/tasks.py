"""Billing's Celery tasks (each runs in its firm's schema: tenant-schemas-celery)."""

from __future__ import annotations

import logging

from celery import shared_task

from billing.models import Invoice

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invoice(invoice_id: int, token: str = "") -> bool:
    """E-mails an issued invoice or credit note with its PDF (and the payment link, when given)."""
    from billing.mail import send_invoice_email
    from billing.services import ensure_pdf

    invoice = Invoice.objects.select_related("credited_invoice").filter(pk=invoice_id).first()
    if invoice is None or invoice.is_draft:
        return False
    return send_invoice_email(ensure_pdf(invoice), token)  # a PDF that failed at issue is made now


@shared_task(acks_late=True, ignore_result=True)
def send_invoices(batch: list[tuple[int, str]]) -> int:
    """E-mails a batch of issued invoices (a renewal run's chunk) over one mail connection; returns how many left.

    An invoice whose e-mail fails is retried alone (`send_invoice`), the others go on.
    """
    from django.core.mail import get_connection

    from billing.mail import send_invoice_email
    from billing.services import ensure_pdf

    sent = 0
    with get_connection() as connection:
        for invoice_id, token in batch:
            invoice = Invoice.objects.select_related("credited_invoice").filter(pk=invoice_id).first()
            if invoice is None or invoice.is_draft:
                continue
            try:
                sent += send_invoice_email(ensure_pdf(invoice), token, connection=connection)
            except Exception:
                logger.exception("invoice %s not e-mailed with its batch: retried alone", invoice_id)
                send_invoice.delay(invoice_id, token)
    return sent
