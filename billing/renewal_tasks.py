"""Celery tasks of automatic billing and the renewal run: they take ids, load, and call a service.

Not named `tasks.py`, so Celery's autodiscovery does not find this module:
`billing.receivers` imports it when Django starts (BillingConfig.ready).
Each task runs in its firm's schema (tenant-schemas-celery).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError
from django.utils.translation import gettext as _

from billing import automatic, renewals, services
from billing.errors import BillingError
from billing.models import RenewalRun

logger = logging.getLogger(__name__)

# A lost database connection or a deadlock victim: worth another try; a refusal (BillingError) is not.
TRANSIENT = (OperationalError, InterfaceError)


def queue(task: Task, *args: Any) -> None:
    """Enqueues `task`; a broker that does not answer is logged, never raised (the daily catch-up follows up)."""
    try:
        task.delay(*args)
    except Exception:
        logger.exception("could not queue %s%r", task.name, args)


@shared_task(
    name="billing.renewal_tasks.bill_membership_term",
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=5,
)
def bill_membership_term(membership_id: int) -> str:
    """A term started (convention accepted, renewal): its due invoices are issued."""
    try:
        issued = automatic.bill_membership(membership_id=membership_id)
    except BillingError as exc:
        # Incomplete identity, no tariff...: nothing is kept; the daily catch-up bills it once fixed.
        logger.warning("membership %s not billed: %s (%s)", membership_id, exc.code, exc.message)
        return exc.code
    return f"issued:{len(issued)}"


@shared_task(
    name="billing.renewal_tasks.bill_case_fee",
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=5,
)
def bill_case_fee(case_id: int) -> str:
    """A business accepted to take part in a case: the per-case fee is invoiced once."""
    try:
        invoice = automatic.bill_case_fee(case_id=case_id)
    except BillingError as exc:
        logger.warning("case %s fee not billed: %s (%s)", case_id, exc.code, exc.message)
        return exc.code
    return (invoice.number or "") if invoice is not None else "nothing"


@shared_task(
    name="billing.renewal_tasks.collect_with_mandate",
    acks_late=True,
    autoretry_for=(*TRANSIENT, OSError),
    retry_backoff=True,
    max_retries=5,
)
def collect_with_mandate(invoice_id: int) -> bool:
    """Debits the member's SEPA mandate for a membership invoice the system issued (billing.payments)."""
    try:
        return automatic.collect_with_mandate(invoice_id=invoice_id)
    except BillingError as exc:
        logger.warning("invoice %s not collected: %s (%s)", invoice_id, exc.code, exc.message)
        return False


@shared_task(name="billing.renewal_tasks.daily_billing_catch_up", acks_late=True)
def daily_billing_catch_up() -> dict[str, Any]:
    """Once a day in each firm (beat fan-out): every due membership period and recent case fee left unbilled,
    and the PDF of any issued invoice whose rendering failed."""
    result = automatic.catch_up()
    pdfs = services.render_missing_pdfs()
    resent = services.resend_unsent()
    return {
        "issued": result.issued,
        "failed": result.failed,
        "case_fees": result.case_fees,
        "stopped": result.stopped,
        "pdfs": pdfs,
        "resent": resent,
    }


@shared_task(name="billing.renewal_tasks.plan_renewal_run", acks_late=True)
def plan_renewal_run(run_id: int) -> int:
    """Counts the run's members and fans the work out in chunks (one task each)."""
    run = RenewalRun.objects.filter(pk=run_id).first()
    if run is None:
        return 0
    try:
        chunks = renewals.plan(run)
    except Exception:
        logger.exception("renewal run %s could not be planned", run_id)
        renewals.fail(run_id, _("Le traitement n'a pas pu démarrer : réessayez plus tard."))
        return 0
    for chunk in chunks:
        run_renewal_chunk.delay(run_id, chunk)
    return len(chunks)


@shared_task(name="billing.renewal_tasks.run_renewal_chunk", acks_late=True)
def run_renewal_chunk(run_id: int, member_ids: list[int]) -> int:
    """One chunk of a run: each member renewed and billed in its own transaction (idempotent)."""
    return renewals.run_chunk(run_id=run_id, member_ids=member_ids)
