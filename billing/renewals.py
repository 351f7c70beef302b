"""The yearly renewal run: the next term of every member due for renewal, and every due invoice, issued.

Staff start a run from /staff/facturation/renouvellements/ for a date (today
by default): it renews every member whose last term ends by that date plus the
firm's renewal lead (`BillingSettings.renewal_lead_days`), the member being
active or due for renewal and its last term paid, with the same commitment
(`mediation.members.membership.renew_term`), and issues the new term's
invoice; it also issues every due invoice not issued yet (the next year of a
3-year commitment billed yearly, at each anniversary within the window).

The work is split in chunks of member ids, one Celery task each, so several
workers share it. Each member is one transaction (the renewal and its invoices
together, or nothing) after locking the member, and a member already renewed
or billed is skipped: a chunk delivered twice, a run re-started after a crash,
or two runs at once never renew or bill twice. Progress is written in batches
with atomic increments; the chunk that completes the count closes the run.
"""

from __future__ import annotations

import datetime
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import Perm, ensure_perm
from billing import automatic, services
from billing.errors import BillingError
from billing.models import BillingSettings, RenewalRun
from core import audit
from mediation.members import membership as memberships
from mediation.members.coverage import COVERED_STATUSES
from mediation.members.models import Member, Membership

logger = logging.getLogger(__name__)

R = RenewalRun.Status
CHUNK_SIZE = 100
PROGRESS_EVERY = 10
MAX_ERRORS = 500
# A run that has not finished this long after it started is taken as interrupted (worker lost).
STALE_AFTER = datetime.timedelta(hours=2)
RUNNING = (R.QUEUED, R.RUNNING)


def window_end(run_on: datetime.date, config: BillingSettings | None = None) -> datetime.date:
    """Terms ending by this date are renewed, invoices of periods starting by it are issued."""
    return automatic.horizon(run_on, config)


# --- Who is due ------------------------------------------------------------------------------------


def _last_terms(until: datetime.date) -> list[tuple[int, datetime.date, datetime.datetime | None]]:
    """(member id, start, paid at) of the last unterminated term of the members active or due for renewal
    whose last term ends by `until`."""
    last = Membership.objects.filter(member_id=OuterRef("pk"), terminated_at__isnull=True).order_by("-ends_on", "-pk")
    return list(
        Member.objects.filter(status__in=COVERED_STATUSES)
        .annotate(
            last_start=Subquery(last.values("starts_on")[:1]),
            last_end=Subquery(last.values("ends_on")[:1]),
            last_paid=Subquery(last.values("paid_at")[:1]),
        )
        .filter(last_end__lte=until)
        .values_list("pk", "last_start", "last_paid")
    )


@dataclass(frozen=True)
class Preview:
    run_on: datetime.date
    until: datetime.date
    renewals: int
    unpaid: int
    invoices: int
    member_ids: tuple[int, ...] = field(repr=False)

    @property
    def total(self) -> int:
        return len(self.member_ids)


def preview(*, run_on: datetime.date | None = None) -> Preview:
    """What a run on `run_on` would do: members to renew, members whose last term is unpaid (left out),
    invoices due on terms that exist; `member_ids` are the members the run goes through."""
    today = timezone.localdate()
    run_on = run_on or today
    until = window_end(run_on)
    due = [(pk, paid) for pk, start, paid in _last_terms(until) if start <= today]
    renew = {pk for pk, paid in due if paid is not None}
    unpaid = len(due) - len(renew)
    unbilled = automatic.unbilled_periods(automatic.live_terms(today=min(today, run_on)), horizon=until)
    billed_ids = {term.member_id for term, _period in unbilled}
    return Preview(
        run_on=run_on,
        until=until,
        renewals=len(renew),
        unpaid=unpaid,
        invoices=len(unbilled),
        member_ids=tuple(sorted(renew | billed_ids)),
    )


# --- Starting and following a run --------------------------------------------------------------------


def _interrupt_stale(now: datetime.datetime) -> None:
    stale = RenewalRun.objects.filter(status__in=RUNNING, created_at__lt=now - STALE_AFTER)
    for run in stale:
        _record_errors(run.pk, [{"member": None, "code": "interrupted", "message": _("Traitement interrompu.")}])
    stale.update(status=R.FAILED, finished_at=now)


def check_seller() -> None:
    """Raises the refusal every invoice of the run would meet when the firm's identity is incomplete."""
    services.check_seller_identity()


def running_run() -> RenewalRun | None:
    return RenewalRun.objects.filter(status__in=RUNNING).order_by("-created_at").first()


@transaction.atomic
def start_run(*, by: Any, run_on: datetime.date | None = None) -> RenewalRun:
    """Queues a renewal run (after commit); refused while another runs or when no invoice could be issued."""
    ensure_perm(by, Perm.BILLING_EDIT)
    today = timezone.localdate()
    run_on = run_on or today
    if run_on < today:
        raise BillingError(_("La date du traitement ne peut pas être passée."), "invalid_date", field="run_on")
    if run_on > today + datetime.timedelta(days=366):
        raise BillingError(_("Choisissez une date dans l'année qui vient."), "invalid_date", field="run_on")
    # The settings row serialises the starts: two clicks make one run.
    BillingSettings.objects.select_for_update().filter(pk=services.billing_settings().pk).first()
    _interrupt_stale(timezone.now())
    if running_run() is not None:
        raise BillingError(_("Un traitement des renouvellements est déjà en cours."), "run_in_progress")
    check_seller()
    run = RenewalRun.objects.create(run_on=run_on, started_by=by)
    audit.record(
        actor=by,
        action="billing.renewal_run_started",
        obj=run,
        changes={"run_on": [None, run_on.isoformat()], "until": [None, window_end(run_on).isoformat()]},
    )
    from billing import renewal_tasks

    pk = run.pk
    transaction.on_commit(lambda: renewal_tasks.queue(renewal_tasks.plan_renewal_run, pk))
    return run


def plan(run: RenewalRun) -> list[list[int]]:
    """Marks the run running with its total; returns the chunks of member ids to process."""
    ids = list(preview(run_on=run.run_on).member_ids)
    now = timezone.now()
    updated = RenewalRun.objects.filter(pk=run.pk, status=R.QUEUED).update(
        status=R.RUNNING if ids else R.DONE,
        total=len(ids),
        started_at=now,
        finished_at=None if ids else now,
    )
    if not updated:  # planned already (a redelivered task) or interrupted
        return []
    return [ids[n : n + CHUNK_SIZE] for n in range(0, len(ids), CHUNK_SIZE)]


def fail(run_id: int, message: str) -> None:
    _record_errors(run_id, [{"member": None, "code": "failed", "message": message}])
    RenewalRun.objects.filter(pk=run_id, status__in=RUNNING).update(status=R.FAILED, finished_at=timezone.now())


def progress(run: RenewalRun) -> dict[str, Any]:
    return {
        "status": run.status,
        "status_label": str(run.get_status_display()),
        "total": run.total,
        "done": run.done,
        "issued": run.issued,
        "skipped": run.skipped,
        "failed": run.failed,
        "percent": run.percent,
        "running": run.status in RUNNING,
    }


def runs() -> Any:
    return RenewalRun.objects.select_related("started_by").order_by("-created_at", "-pk")


# --- Processing members -------------------------------------------------------------------------------


@dataclass
class Outcome:
    renewed: bool = False
    issued: int = 0
    error: dict[str, Any] | None = None

    @property
    def skipped(self) -> bool:
        return not self.renewed and not self.issued and self.error is None


def process_member(
    *, member_id: int, run_on: datetime.date, send: bool = True, outbox: list[tuple[int, str]] | None = None
) -> Outcome:
    """Renews one member when due and issues its due invoices, in one transaction; never twice."""
    today = timezone.localdate()
    until = window_end(run_on)
    outcome = Outcome()
    try:
        with automatic.billing_here(), transaction.atomic():
            member = Member.objects.select_for_update().get(pk=member_id)
            last = (
                Membership.objects.filter(member=member, terminated_at__isnull=True).order_by("-ends_on", "-pk").first()
            )
            if (
                member.status in COVERED_STATUSES
                and last is not None
                and last.ends_on <= until
                and last.paid_at is not None
                and last.starts_on <= today
            ):
                memberships.renew_term(member=member, term_years=last.term_years)
                outcome.renewed = True
            terms = automatic.live_terms(today=min(today, run_on), member_ids=[member.pk])
            for term, period in automatic.unbilled_periods(terms, horizon=until):
                invoice = automatic.bill_membership_period(membership=term, period=period, send=send, outbox=outbox)
                if invoice is not None:
                    outcome.issued += 1
    except (BillingError, memberships.MembershipError) as exc:
        outcome = Outcome(error={"member": member_id, "code": exc.code, "message": str(exc.message)})
    except Exception:
        logger.exception("renewal of member %s failed", member_id)
        outcome = Outcome(
            error={"member": member_id, "code": "unexpected", "message": _("Erreur inattendue (consignée).")}
        )
    return outcome


def _record_errors(run_id: int, errors: list[dict[str, Any]]) -> None:
    if not errors:
        return
    RenewalRun.objects.filter(pk=run_id).update(
        errors=RawSQL(
            "CASE WHEN jsonb_array_length(errors) < %s THEN errors || %s::jsonb ELSE errors END",
            (MAX_ERRORS, json.dumps(errors)),
        )
    )


@dataclass
class _Batch:
    done: int = 0
    issued: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.done += 1
        self.issued += outcome.issued
        if outcome.error is not None:
            self.failed += 1
            self.errors.append(outcome.error)
        elif outcome.skipped:
            self.skipped += 1

    def flush(self, run_id: int) -> None:
        if not self.done:
            return
        RenewalRun.objects.filter(pk=run_id).update(
            done=F("done") + self.done,
            issued=F("issued") + self.issued,
            skipped=F("skipped") + self.skipped,
            failed=F("failed") + self.failed,
        )
        _record_errors(run_id, self.errors)
        self.done = self.issued = self.skipped = self.failed = 0
        self.errors = []


def run_chunk(*, run_id: int, member_ids: list[int], send: bool = True) -> int:
    """Processes a chunk of a run; returns how many members it went through. Closes the run when complete."""
    run = RenewalRun.objects.filter(pk=run_id).only("pk", "status", "run_on").first()
    if run is None or run.status != R.RUNNING:
        return 0
    batch = _Batch()
    # The chunk's invoices are e-mailed together at its end: one task, one mail connection.
    outbox: list[tuple[int, str]] = []
    for n, member_id in enumerate(member_ids, start=1):
        batch.add(process_member(member_id=member_id, run_on=run.run_on, send=send, outbox=outbox))
        if n % PROGRESS_EVERY == 0:
            batch.flush(run_id)
    batch.flush(run_id)
    if outbox:
        from billing import tasks

        tasks.send_invoices.delay(outbox)
    RenewalRun.objects.filter(pk=run_id, status=R.RUNNING, done__gte=F("total")).update(
        status=R.DONE, finished_at=timezone.now()
    )
    return len(member_ids)


def run_now(*, run: RenewalRun, send: bool = True) -> RenewalRun:
    """The whole run in this process (tests, the shell): plan, then every chunk in turn."""
    for chunk in plan(run):
        run_chunk(run_id=run.pk, member_ids=chunk, send=send)
    run.refresh_from_db()
    return run
