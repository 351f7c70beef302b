"""Automatic billing: the invoices of a membership term and the per-case fee, issued by the system.

Membership terms (mediation's `Membership`) are billed period by period:

- a term billed yearly has one period per year of the term, starting on the
  term's start and on each anniversary (a 3-year commitment: three invoices,
  without any new acceptance); a term billed upfront has one period, the whole
  term. A term follows its accepted proposal (`proposal.upfront`); a renewal,
  which has no proposal, keeps the rhythm of the term it renews (billed upfront
  when that one had a single invoice for its whole term);
- the lines are the accepted proposal's (the devis: the yearly price, or the
  whole term's when upfront), else the membership tariff of the member's band
  and commitment in force on the term's start, replaced by the group's own
  price on the membership product (`billing.Price` with a group) when the
  member's group has one. The membership product (created at 20 % when the
  catalogue has none) gives the VAT rate and the sales account;
- proration (`BillingSettings.proration`) applies to a period shorter than
  its nominal length (a year, or the term when upfront): a term whose end is
  not on an anniversary, e.g. aligned on a fixed renewal date. "none" bills
  the full price, "monthly" the months begun, "daily" the days. Terms made by
  the membership flow today always last whole years, so their periods are
  full and the full price is billed.

A period that starts before its term was marked paid is left alone (paid
outside billing: staff's "mark paid", terms from before billing).

A period is billed once: the member and the term are locked, an existing
invoice for (term, period start) means nothing to do, and the unique
constraint on (membership, period_start) backs it up. Billing happens in one
transaction: when issuing is refused (the firm's identity or the member's
address is incomplete) nothing is kept, and the daily catch-up bills the
period once the identity is complete.

The per-case fee: when a business accepts to take part in a case, the
catalogue's active `case_fee` product, at its price in force that day (the
member's group price when there is one), is invoiced once per case.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing import services
from billing.errors import BillingError
from billing.models import BillingSettings, Invoice, Product, SepaMandate
from core import audit
from firm.selectors import firm_profile
from mediation.members import membership as memberships
from mediation.members.models import Member, Membership

logger = logging.getLogger(__name__)

P = Invoice.Purpose
# Members whose terms are billed: the convention is accepted (first term) or they are members.
BILLABLE_STATUSES = (Member.Status.CONVENTION_ACCEPTED, Member.Status.ACTIVE, Member.Status.RENEWAL_DUE)
MEMBERSHIP_PRODUCT_CODE = "adhesion"
# The catch-up bills a case fee missed (identity incomplete, worker down) for cases accepted this recently.
CASE_FEE_CATCH_UP_DAYS = 90
ONE_DAY = datetime.timedelta(days=1)

# Terms whose first invoice the caller bills itself (the renewal run): the term_started receiver leaves them.
_billed_by_caller: ContextVar[bool] = ContextVar("billed_by_caller", default=False)


@contextmanager
def billing_here() -> Iterator[None]:
    """Inside this block, terms announced by mediation are billed by the caller, not by a queued task."""
    token = _billed_by_caller.set(True)
    try:
        yield
    finally:
        _billed_by_caller.reset(token)


def billed_by_caller() -> bool:
    return _billed_by_caller.get()


# --- Periods and proration ---------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A stretch of a term billed by one invoice: `years` is its nominal length (1, or the term when upfront)."""

    start: datetime.date
    end: datetime.date
    years: int
    index: int = 0

    @property
    def full_end(self) -> datetime.date:
        return memberships.add_years(self.start, self.years) - ONE_DAY

    @property
    def is_full(self) -> bool:
        return self.end >= self.full_end


def add_months(day: datetime.date, months: int) -> datetime.date:
    """`day` moved by `months` months, on the month's last day when it is shorter (31 January → 28 February)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for last in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # unreachable: every month has 28 days


def months_begun(start: datetime.date, end: datetime.date) -> int:
    """How many months are begun from `start` to `end` (both included): 15/03 → 31/12 is 10."""
    months = 0
    while add_months(start, months) <= end:
        months += 1
    return months


@dataclass(frozen=True)
class Share:
    """The part of a period billed: `part` months (or days) of `whole`."""

    part: int
    whole: int
    unit: str  # "months" or "days"


def proration(period: Period, mode: str) -> Share | None:
    """The share of the full price a period bills, or None for the full price."""
    if period.is_full or mode == BillingSettings.Proration.NONE:
        return None
    if mode == BillingSettings.Proration.MONTHLY:
        whole = 12 * period.years
        return Share(min(months_begun(period.start, period.end), whole), whole, "months")
    days = (period.end - period.start).days + 1
    return Share(days, (period.full_end - period.start).days + 1, "days")


def prorated(cents: int, share: Share | None) -> int:
    """`cents` × the share, rounded half up (away from zero, so a discount line stays symmetrical)."""
    if share is None:
        return cents
    value = Decimal(cents) * Decimal(share.part) / Decimal(share.whole)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def is_upfront(membership: Membership) -> bool:
    """Whether the term is billed once for its whole length (see the module's docstring)."""
    if membership.term_years <= 1:
        return False
    if membership.proposal_id is not None and membership.proposal is not None:
        return bool(membership.proposal.upfront)
    previous = (
        Membership.objects.filter(
            member_id=membership.member_id,
            ends_on=membership.starts_on - ONE_DAY,
            term_years=membership.term_years,
        )
        .order_by("-pk")
        .first()
    )
    if previous is None:
        return False
    return Invoice.objects.filter(
        membership=previous,
        kind=Invoice.Kind.INVOICE,
        purpose=P.MEMBERSHIP,
        period_start=previous.starts_on,
        period_end=previous.ends_on,
    ).exists()


def periods_of(membership: Membership, *, upfront: bool | None = None) -> list[Period]:
    """The billing periods of a term, in order."""
    if upfront is None:
        upfront = is_upfront(membership)
    if upfront:
        return [Period(start=membership.starts_on, end=membership.ends_on, years=membership.term_years)]
    periods = []
    for index in range(membership.term_years):
        start = memberships.add_years(membership.starts_on, index)
        if start > membership.ends_on:
            break
        end = min(memberships.add_years(membership.starts_on, index + 1) - ONE_DAY, membership.ends_on)
        periods.append(Period(start=start, end=end, years=1, index=index))
    return periods


def due_periods(membership: Membership, *, horizon: datetime.date, upfront: bool | None = None) -> list[Period]:
    """The periods to bill by `horizon`: the first one as soon as the term exists, the others from their start
    minus the firm's renewal lead (`horizon` = today + lead).

    A period that starts on or before the day the term was marked paid was settled outside billing (staff's
    "mark paid", terms from before billing): it is never billed automatically.
    """
    paid_on = timezone.localdate(membership.paid_at) if membership.paid_at is not None else None
    return [
        period
        for n, period in enumerate(periods_of(membership, upfront=upfront))
        if (n == 0 or period.start <= horizon) and (paid_on is None or period.start > paid_on)
    ]


def horizon(today: datetime.date, config: BillingSettings | None = None) -> datetime.date:
    config = config or services.billing_settings()
    return today + datetime.timedelta(days=config.renewal_lead_days)


# --- Lines ---------------------------------------------------------------------------------------


def membership_product() -> Product:
    """The catalogue's membership product (VAT rate, account); created at 20 % when there is none."""
    product = services.product_of_kind(Product.Kind.MEMBERSHIP)
    if product is not None:
        return product
    code, n = MEMBERSHIP_PRODUCT_CODE, 1
    while Product.objects.filter(code=code).exists():
        n += 1
        code = f"{MEMBERSHIP_PRODUCT_CODE}-{n}"
    try:
        with transaction.atomic():
            product = Product.objects.create(
                code=code, name=_("Adhésion au service de médiation"), kind=Product.Kind.MEMBERSHIP
            )
            audit.record(
                actor=None,
                action="billing.product_saved",
                obj=product,
                changes={"name": [None, product.name], "vat_rate": [None, str(product.vat_rate)]},
            )
    except IntegrityError:  # created meanwhile by a concurrent biller
        product = services.product_of_kind(Product.Kind.MEMBERSHIP)
        if product is None:
            raise
    return product


def _period_text(period: Period, share: Share | None) -> str:
    text = _("période du %(start)s au %(end)s") % {
        "start": period.start.strftime("%d/%m/%Y"),
        "end": period.end.strftime("%d/%m/%Y"),
    }
    if share is not None and share.unit == "months":
        text += " " + _("(prorata : %(part)s mois sur %(whole)s)") % {"part": share.part, "whole": share.whole}
    elif share is not None:
        text += " " + _("(prorata : %(part)s jours sur %(whole)s)") % {"part": share.part, "whole": share.whole}
    return text


def _yearly_price(membership: Membership, product: Product) -> int:
    """The list or group price of a term without a proposal, in force on the term's start."""
    member = membership.member
    if member.group_id is not None:
        price = services.price_of(product=product, on=membership.starts_on, group_id=member.group_id)
        if price is not None and price.group_id == member.group_id:
            return int(price.unit_price_cents)
    tariff = memberships.current_tariff(
        headcount_band=member.headcount_band, term_years=membership.term_years, on=membership.starts_on
    )
    if tariff is None:
        raise BillingError(
            _(
                "Aucun tarif d'adhésion n'est en vigueur le %(date)s pour l'effectif et l'engagement de "
                "%(member)s : créez-le, puis relancez la facturation."
            )
            % {"date": membership.starts_on.strftime("%d/%m/%Y"), "member": member.legal_name},
            "no_tariff",
        )
    return int(tariff.yearly_price_cents)


def membership_lines(membership: Membership, period: Period, *, mode: str) -> list[dict[str, Any]]:
    """The invoice lines of a period: the accepted proposal's, else the tariff's (or group price's), prorated."""
    product = membership_product()
    share = proration(period, mode)
    when = _period_text(period, share)
    proposal = membership.proposal if membership.proposal_id is not None else None
    if proposal is not None and proposal.lines:
        return [
            {
                "label": f"{line.get('label', '')} — {when}",
                "quantity": line.get("quantity", 1),
                "unit_price_cents": prorated(int(line.get("unit_price_cents", 0)), share),
                "vat_rate": line.get("vat_rate", product.vat_rate),
                "product": product,
                "account": product.account,
            }
            for line in proposal.lines
        ]
    member = membership.member
    band = Member.HeadcountBand(member.headcount_band).label if member.headcount_band else ""
    yearly = _yearly_price(membership, product)
    if period.years > 1:
        label = _("Adhésion de %(years)s ans, payée d'avance") % {"years": period.years}
    else:
        label = _("Adhésion annuelle (engagement de %(years)s an(s))") % {"years": membership.term_years}
    if band:
        label = f"{label} — {band}"
    return [
        {
            "label": f"{label} — {when}",
            "quantity": 1,
            "unit_price_cents": prorated(yearly * period.years, share),
            "vat_rate": product.vat_rate,
            "product": product,
            "account": product.account,
        }
    ]


# --- Billing a membership period -------------------------------------------------------------------


def _firm_language() -> str:
    return firm_profile().default_language or "fr"


def membership_invoice_exists(membership_id: int, period_start: datetime.date) -> bool:
    return Invoice.objects.filter(
        membership_id=membership_id, period_start=period_start, kind=Invoice.Kind.INVOICE, purpose=P.MEMBERSHIP
    ).exists()


@transaction.atomic
def bill_membership_period(
    *,
    membership: Membership,
    period: Period,
    send: bool = True,
    today: datetime.date | None = None,
    outbox: list[tuple[int, str]] | None = None,
) -> Invoice | None:
    """Issues the invoice of one period of a term; None when it exists already or the term is terminated.

    Raises BillingError when it cannot be issued (identity incomplete, no tariff): nothing is kept.
    """
    Member.objects.select_for_update().get(pk=membership.member_id)
    membership = (
        Membership.objects.select_for_update(of=("self",)).select_related("member", "proposal").get(pk=membership.pk)
    )
    if membership.terminated_at is not None or membership_invoice_exists(membership.pk, period.start):
        return None
    if membership.paid_at is not None and period.start <= timezone.localdate(membership.paid_at):
        return None  # settled outside billing (see due_periods)
    with translation.override(_firm_language()):
        lines = membership_lines(membership, period, mode=services.billing_settings().proration)
    try:
        with transaction.atomic():
            draft = services.new_system_draft(
                by=None,
                member=membership.member,
                lines=lines,
                purpose=P.MEMBERSHIP,
                membership=membership,
                period_start=period.start,
                period_end=period.end,
            )
    except IntegrityError:  # billed by a concurrent caller between the check and the insert
        return None
    invoice = services.issue_automatically(invoice=draft, send=send, today=today, outbox=outbox)
    _collect_after_commit(invoice)
    return invoice


def bill_membership(*, membership_id: int, today: datetime.date | None = None, send: bool = True) -> list[Invoice]:
    """Issues every due, unbilled invoice of a term (the first period at once, later ones from their start
    minus the renewal lead). Each period is its own transaction."""
    membership = Membership.objects.select_related("member", "proposal").filter(pk=membership_id).first()
    if membership is None or membership.terminated_at is not None:
        return []
    today = today or timezone.localdate()
    issued = []
    for period in due_periods(membership, horizon=horizon(today)):
        if membership_invoice_exists(membership.pk, period.start):
            continue
        invoice = bill_membership_period(membership=membership, period=period, send=send, today=today)
        if invoice is not None:
            issued.append(invoice)
    return issued


def _collect_after_commit(invoice: Invoice) -> None:
    """A member with an active SEPA mandate is debited for its membership invoice (after commit, in a task)."""
    if not SepaMandate.objects.filter(member_id=invoice.member_id, status=SepaMandate.Status.ACTIVE).exists():
        return
    from billing import renewal_tasks

    pk = invoice.pk
    transaction.on_commit(lambda: renewal_tasks.queue(renewal_tasks.collect_with_mandate, pk))


def collect_with_mandate(*, invoice_id: int) -> bool:
    """Asks Stripe to debit the member's kept SEPA mandate for an unpaid invoice (billing.payments)."""
    from billing import payments

    invoice = Invoice.objects.select_related("member").filter(pk=invoice_id).first()
    if invoice is None or invoice.balance_cents <= 0:
        return False
    if not SepaMandate.objects.filter(member_id=invoice.member_id, status=SepaMandate.Status.ACTIVE).exists():
        return False
    return bool(payments.collect_with_mandate(invoice))


# --- Unbilled periods (the renewal run and the daily catch-up) ---------------------------------------


def live_terms(*, today: datetime.date, member_ids: Iterable[int] | None = None) -> QuerySet[Membership]:
    """The terms that may still need an invoice: unterminated, not over, of a member being billed."""
    terms = Membership.objects.filter(
        terminated_at__isnull=True, ends_on__gte=today, member__status__in=BILLABLE_STATUSES
    ).select_related("member", "proposal")
    if member_ids is not None:
        terms = terms.filter(member_id__in=list(member_ids))
    return terms.order_by("member_id", "starts_on", "pk")


def unbilled_periods(terms: Iterable[Membership], *, horizon: datetime.date) -> list[tuple[Membership, Period]]:
    """The due periods of `terms` that have no invoice yet (one query for the invoices)."""
    terms = list(terms)
    billed = set(
        Invoice.objects.filter(
            membership_id__in=[t.pk for t in terms], kind=Invoice.Kind.INVOICE, purpose=P.MEMBERSHIP
        ).values_list("membership_id", "period_start")
    )
    due = []
    for term in terms:
        for period in due_periods(term, horizon=horizon):
            if (term.pk, period.start) not in billed:
                due.append((term, period))
    return due


@dataclass
class CatchUp:
    issued: int = 0
    failed: int = 0
    case_fees: int = 0
    stopped: str = ""


def catch_up(*, today: datetime.date | None = None, send: bool = True) -> CatchUp:
    """Bills every due period left unbilled and every recent case fee left unbilled (the daily safety net).

    Stops at the first refusal that every other invoice would meet too (the firm's identity incomplete).
    """
    today = today or timezone.localdate()
    result = CatchUp()
    for term, period in unbilled_periods(live_terms(today=today), horizon=horizon(today)):
        try:
            if bill_membership_period(membership=term, period=period, send=send, today=today) is not None:
                result.issued += 1
        except BillingError as exc:
            if exc.code == "seller_incomplete":
                result.stopped = exc.code
                return result
            result.failed += 1
            logger.warning("membership %s period %s not billed: %s", term.pk, period.start, exc.code)
    since = today - datetime.timedelta(days=CASE_FEE_CATCH_UP_DAYS)
    for case_id in _cases_without_fee(since):
        try:
            if bill_case_fee(case_id=case_id, send=send, today=today) is not None:
                result.case_fees += 1
        except BillingError as exc:
            if exc.code == "seller_incomplete":
                result.stopped = exc.code
                return result
            result.failed += 1
            logger.warning("case %s fee not billed: %s", case_id, exc.code)
    return result


# --- The per-case fee ------------------------------------------------------------------------------


def _cases_without_fee(since: datetime.date) -> list[int]:
    from mediation.cases.models import Case

    if services.product_of_kind(Product.Kind.CASE_FEE) is None:
        return []
    billed = Invoice.objects.filter(case_id__isnull=False, kind=Invoice.Kind.INVOICE, purpose=P.CASE_FEE).values_list(
        "case_id", flat=True
    )
    start = timezone.make_aware(datetime.datetime.combine(since, datetime.time.min))
    return list(
        Case.objects.filter(business_accepted_at__gte=start, member__isnull=False)
        .exclude(pk__in=billed)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def bill_case_fee(*, case_id: int, send: bool = True, today: datetime.date | None = None) -> Invoice | None:
    """Invoices the per-case fee of a case the business accepted, once; None when there is nothing to bill
    (no such case, no member, no active fee product or no price on the day it accepted, billed already)."""
    from mediation.cases.models import Case

    case = Case.objects.filter(pk=case_id).only("pk", "reference", "member_id", "business_accepted_at").first()
    if case is None or case.member_id is None:
        return None
    product = services.product_of_kind(Product.Kind.CASE_FEE)
    if product is None:
        return None
    member = Member.objects.select_for_update().get(pk=case.member_id)
    accepted_on = timezone.localdate(case.business_accepted_at) if case.business_accepted_at else timezone.localdate()
    price = services.price_of(product=product, on=accepted_on, group_id=member.group_id)
    if price is None:
        return None
    if Invoice.objects.filter(case_id=case.pk, kind=Invoice.Kind.INVOICE, purpose=P.CASE_FEE).exists():
        return None
    with translation.override(_firm_language()):
        label = _("%(product)s — dossier %(reference)s") % {
            "product": product.name,
            "reference": case.reference or f"#{case.pk}",
        }
    line = {
        "label": label,
        "quantity": 1,
        "unit_price_cents": price.unit_price_cents,
        "vat_rate": product.vat_rate,
        "product": product,
        "account": product.account,
    }
    try:
        with transaction.atomic():
            draft = services.new_system_draft(by=None, member=member, lines=[line], purpose=P.CASE_FEE, case_id=case.pk)
    except IntegrityError:  # billed by a concurrent caller
        return None
    return services.issue_automatically(invoice=draft, send=send, today=today)
