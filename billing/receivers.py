"""Billing's receivers of mediation's domain signals (connected in BillingConfig.ready).

Both signals are sent after mediation's transaction commits: the receivers only
queue a task (retried on a transient error), so a billing failure never breaks
the acceptance that announced it. What a lost task leaves unbilled, the daily
catch-up (`billing.renewal_tasks.daily_billing_catch_up`) bills.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

# Celery's autodiscovery reads `tasks.py` only: the other task modules are registered here.
from billing import dunning_tasks, renewal_tasks  # noqa: F401
from billing.automatic import billed_by_caller
from mediation.cases.signals import business_accepted
from mediation.members.signals import membership_term_started


@receiver(membership_term_started, dispatch_uid="billing.bill_membership_term")
def bill_new_term(sender: Any, membership_id: int, **kwargs: Any) -> None:
    if billed_by_caller():  # the renewal run bills the terms it creates itself
        return
    renewal_tasks.queue(renewal_tasks.bill_membership_term, membership_id)


@receiver(business_accepted, dispatch_uid="billing.bill_case_fee")
def bill_case_fee(sender: Any, case_id: int, **kwargs: Any) -> None:
    renewal_tasks.queue(renewal_tasks.bill_case_fee, case_id)
