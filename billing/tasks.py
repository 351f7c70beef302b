"""Billing's Celery tasks (each runs in its firm's schema: tenant-schemas-celery)."""

from __future__ import annotations

from celery import shared_task

from billing.models import Invoice


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invoice(invoice_id: int, token: str = "") -> bool:
    """E-mails an issued invoice or credit note with its PDF (and the payment link, when given)."""
    from billing.mail import send_invoice_email
    from billing.services import ensure_pdf

    invoice = Invoice.objects.select_related("credited_invoice").filter(pk=invoice_id).first()
    if invoice is None or invoice.is_draft:
        return False
    return send_invoice_email(ensure_pdf(invoice), token)  # a PDF that failed at issue is made now
