"""Reads for the staff statistics dashboard (/staff/rapports/tableau-de-bord/): monthly series and counts.

Every figure is one SQL aggregate (GROUP BY month with TruncMonth, or COUNT ... FILTER), so the page makes the
same number of queries whatever the number of cases. The cohorts reuse the annual report's definitions
(`figures.scope`) where they exist, so that the dashboard and the report agree on what a "mediation ended" is.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Avg, Count, DateTimeField, DurationField, ExpressionWrapper, F, Q
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.permissions import ROLE_PERMISSIONS, Perm
from mediation.cases import selectors as case_selectors
from mediation.cases.models import (
    FINAL_STATUSES,
    OPEN_STATUSES,
    Case,
    InadmissibilityReason,
    Outcome,
    SatisfactionSurvey,
    Status,
)
from mediation.compliance.models import DysfunctionAlert
from mediation.reports.figures import Median, Period, scope

# The period choices of the page (GET `periode`).
LAST_12_MONTHS = "12-mois"
THIS_YEAR = "annee"
LAST_YEAR = "annee-precedente"
PERIOD_CHOICES: list[tuple[str, Promise]] = [
    (LAST_12_MONTHS, _("Les 12 derniers mois")),
    (THIS_YEAR, _("Cette année")),
    (LAST_YEAR, _("L'année dernière")),
]


def _month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _add_months(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + count
    return datetime.date(index // 12, index % 12 + 1, 1)


def _month_end(month: datetime.date) -> datetime.date:
    return _add_months(month, 1) - datetime.timedelta(days=1)


@dataclass(frozen=True)
class DashboardPeriod:
    """The months shown, ending today at the latest (the last month may be incomplete)."""

    choice: str
    period: Period

    @classmethod
    def of(cls, choice: str, today: datetime.date | None = None) -> DashboardPeriod:
        today = today or timezone.localdate()
        if choice == THIS_YEAR:
            return cls(choice, Period(datetime.date(today.year, 1, 1), today))
        if choice == LAST_YEAR:
            return cls(choice, Period.year(today.year - 1))
        return cls(LAST_12_MONTHS, Period(_add_months(_month_start(today), -11), today))

    @property
    def months(self) -> list[datetime.date]:
        first, last = _month_start(self.period.start), _month_start(self.period.end)
        months = [first]
        while months[-1] < last:
            months.append(_add_months(months[-1], 1))
        return months

    @property
    def previous_year(self) -> Period:
        """The same months one year earlier, whole months (the comparison series)."""
        months = self.months
        return Period(_add_months(months[0], -12), _month_end(_add_months(months[-1], -12)))


def _month_of(value: datetime.datetime | datetime.date) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).date().replace(day=1)
    return value.replace(day=1)


def _received_between(period: Period) -> Q:
    first, after = period.bounds()
    return Q(received_at__gte=first, received_at__lt=after)


# --- Requests received per month, with the previous year's -----------------------------------------------------


@dataclass(frozen=True)
class MonthCount:
    month: datetime.date
    count: int
    previous: int  # the same month one year earlier


def received_per_month(dashboard: DashboardPeriod) -> list[MonthCount]:
    """Requests received (drafts left out) per month of the period and per same month a year earlier; one query."""
    previous = dashboard.previous_year
    rows = (
        Case.objects.exclude(status=Status.DRAFT)
        .filter(_received_between(dashboard.period) | _received_between(previous))
        .annotate(month=TruncMonth("received_at", output_field=DateTimeField()))
        .values("month")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {_month_of(row["month"]): row["n"] for row in rows}
    return [
        MonthCount(month, counts.get(month, 0), counts.get(_add_months(month, -12), 0)) for month in dashboard.months
    ]


# --- Cases by current state --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StateCount:
    status: str
    label: str
    count: int
    is_open: bool


def cases_by_state() -> list[StateCount]:
    """Every status but the draft, in the workflow's order, now (the inbox's cached grouped count)."""
    counts = case_selectors.state_counts()
    return [
        StateCount(status, str(label), counts.get(status, 0), status in OPEN_STATUSES)
        for status, label in Status.choices
        if status != Status.DRAFT
    ]


# --- Time to close, per month of closing ------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthDuration:
    month: datetime.date
    cases: int
    average_days: float | None  # from receipt to the end
    median_days: float | None
    average_from_opening: float | None  # from the referral (the 90-day clock) to the end
    median_from_opening: float | None


def _days(value: datetime.timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 86400, 1)


def durations_per_month(dashboard: DashboardPeriod) -> list[MonthDuration]:
    """Average and median days of the mediations ended each month (the report's "ended" cohort); one query."""
    from_receipt = ExpressionWrapper(
        F("closed_at") - Coalesce(F("received_at"), F("opened_at")), output_field=DurationField()
    )
    from_opening = ExpressionWrapper(F("closed_at") - F("opened_at"), output_field=DurationField())
    rows = (
        Case.objects.filter(scope("ended", dashboard.period))
        .annotate(month=TruncMonth("closed_at", output_field=DateTimeField()))
        .values("month")
        .annotate(
            cases=Count("pk"),
            average=Avg(from_receipt),
            median=Median(from_receipt),
            average_opening=Avg(from_opening),
            median_opening=Median(from_opening),
        )
        .order_by()
    )
    by_month = {_month_of(row["month"]): row for row in rows}
    result = []
    for month in dashboard.months:
        row = by_month.get(month)
        if row is None:
            result.append(MonthDuration(month, 0, None, None, None, None))
            continue
        result.append(
            MonthDuration(
                month,
                row["cases"],
                _days(row["average"]),
                _days(row["median"]),
                _days(row["average_opening"]),
                _days(row["median_opening"]),
            )
        )
    return result


# --- Open cases: deadlines and workload -------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    assignee_id: int | None  # None: not assigned
    name: str
    open_cases: int
    overdue: int
    due_this_week: int
    in_inbox_filter: bool  # the inbox's assignee filter offers this person (an active case handler)


@dataclass
class OpenCases:
    workload: list[Workload] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(row.open_cases for row in self.workload)

    @property
    def overdue(self) -> int:
        return sum(row.overdue for row in self.workload)

    @property
    def due_this_week(self) -> int:
        return sum(row.due_this_week for row in self.workload)


def _person(first_name: str | None, last_name: str | None, email: str | None) -> str:
    return f"{first_name or ''} {last_name or ''}".strip() or email or ""


def open_cases(today: datetime.date | None = None) -> OpenCases:
    """Open cases per assignee (unassigned last), with the overdue ones and those due within the week; one query.

    "Due this week" is the inbox's window (`cases.selectors.week_end`), so the counts equal the lists behind them.
    """
    today = today or timezone.localdate()
    handler_roles = _handler_roles()
    rows = (
        Case.objects.filter(status__in=OPEN_STATUSES)
        .values(
            "assignee_id",
            "assignee__first_name",
            "assignee__last_name",
            "assignee__email",
            "assignee__is_active",
            "assignee__role",
        )
        .annotate(
            n=Count("pk"),
            overdue=Count("pk", filter=Q(next_due_on__lt=today)),
            soon=Count("pk", filter=Q(next_due_on__gte=today, next_due_on__lte=case_selectors.week_end(today))),
        )
        .order_by()
    )
    workload = [
        Workload(
            assignee_id=row["assignee_id"],
            name=_person(row["assignee__first_name"], row["assignee__last_name"], row["assignee__email"])
            if row["assignee_id"]
            else str(_("Non attribués")),
            open_cases=row["n"],
            overdue=row["overdue"],
            due_this_week=row["soon"],
            in_inbox_filter=row["assignee_id"] is None
            or (bool(row["assignee__is_active"]) and row["assignee__role"] in handler_roles),
        )
        for row in rows
    ]
    # The busiest first; the unassigned cases after the people, whatever their number.
    workload.sort(key=lambda row: (row.assignee_id is None, -row.open_cases, row.name.lower()))
    return OpenCases(workload)


def _handler_roles() -> set[str]:
    """The roles `cases.selectors.case_handlers` offers in the inbox's assignee filter."""
    return {str(role) for role, perms in ROLE_PERMISSIONS.items() if Perm.CASES_HANDLE in perms}


# --- How the cases closed in the period ended -------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    key: str
    label: str
    count: int


@dataclass
class Endings:
    total: int = 0
    outcomes: list[Tally] = field(default_factory=list)  # the closed mediations, by outcome, then other endings
    refusals: list[Tally] = field(default_factory=list)  # the requests refused (L612-2), by reason
    refused: int = 0


# How a case that is over ended, besides a closed mediation's outcome.
OTHER_ENDINGS: list[tuple[str, Promise, Q]] = [
    ("withdrawn", _("Retrait d'une partie"), Q(status=Status.WITHDRAWN)),
    ("interrupted", _("Interruption par le médiateur"), Q(status=Status.INTERRUPTED)),
    ("reoriented", _("Demande réorientée"), Q(status=Status.REORIENTED)),
    ("inadmissible", _("Demande refusée (irrecevable)"), Q(status=Status.INADMISSIBLE)),
]


def endings(dashboard: DashboardPeriod) -> Endings:
    """The cases that reached a final status in the period (`closed_at`): how they ended; one query."""
    first, after = dashboard.period.bounds()
    closed = Q(closed_at__gte=first, closed_at__lt=after, status__in=FINAL_STATUSES)
    counted: dict[str, Count] = {"total": Count("pk")}
    for value, _label in Outcome.choices:
        counted[f"outcome:{value}"] = Count("pk", filter=Q(status=Status.CLOSED, outcome=value))
    counted["outcome:"] = Count("pk", filter=Q(status=Status.CLOSED, outcome=""))
    for key, _ending, condition in OTHER_ENDINGS:
        counted[f"other:{key}"] = Count("pk", filter=condition)
    for value, _label in InadmissibilityReason.choices:
        counted[f"reason:{value}"] = Count("pk", filter=Q(status=Status.INADMISSIBLE, inadmissibility_reason=value))
    counted["reason:"] = Count("pk", filter=Q(status=Status.INADMISSIBLE, inadmissibility_reason=""))
    totals = Case.objects.filter(closed).aggregate(**counted)
    outcomes = [Tally(value, str(label), totals[f"outcome:{value}"]) for value, label in Outcome.choices]
    if totals["outcome:"]:
        outcomes.append(Tally("", str(_("Médiation close sans issue renseignée")), totals["outcome:"]))
    outcomes += [Tally(key, str(label), totals[f"other:{key}"]) for key, label, _condition in OTHER_ENDINGS]
    refusals = [Tally(value, str(label), totals[f"reason:{value}"]) for value, label in InadmissibilityReason.choices]
    if totals["reason:"]:
        refusals.append(Tally("", str(_("Motif non renseigné")), totals["reason:"]))
    return Endings(
        total=totals["total"],
        outcomes=outcomes,
        refusals=refusals,
        refused=totals["other:inadmissible"],
    )


# --- Satisfaction -----------------------------------------------------------------------------------------------


@dataclass
class Satisfaction:
    sent: int = 0  # surveys sent in the period
    answered: int = 0  # surveys answered in the period
    rated: int = 0  # answers with a rating
    average: float | None = None  # of the ratings, 1 to 5
    distribution: list[Tally] = field(default_factory=list)  # per rating, 5 first
    clear_information: tuple[int, int] = (0, 0)  # (yes, answered the question)
    reasonable_duration: tuple[int, int] = (0, 0)
    would_recommend: tuple[int, int] = (0, 0)


YES_NO_QUESTIONS = ("clear_information", "reasonable_duration", "would_recommend")


def satisfaction(dashboard: DashboardPeriod) -> Satisfaction:
    """The consumers' answers to the satisfaction survey in the period (by date of answer); one query."""
    first, after = dashboard.period.bounds()
    answered = Q(answered_at__gte=first, answered_at__lt=after)
    counted: dict[str, Count | Avg] = {
        "sent": Count("pk", filter=Q(sent_at__gte=first, sent_at__lt=after)),
        "answered": Count("pk", filter=answered),
        "rated": Count("pk", filter=answered & Q(rating__isnull=False)),
        "average": Avg("rating", filter=answered),
    }
    for value, _label in SatisfactionSurvey.Rating.choices:
        counted[f"rating:{value}"] = Count("pk", filter=answered & Q(rating=value))
    for question in YES_NO_QUESTIONS:
        counted[f"{question}:yes"] = Count("pk", filter=answered & Q(**{question: True}))
        counted[f"{question}:known"] = Count("pk", filter=answered & Q(**{f"{question}__isnull": False}))
    either = Q(sent_at__gte=first, sent_at__lt=after) | answered
    totals = SatisfactionSurvey.objects.filter(either).aggregate(**counted)
    result = Satisfaction(
        sent=totals["sent"],
        answered=totals["answered"],
        rated=totals["rated"],
        average=None if totals["average"] is None else round(float(totals["average"]), 2),
        distribution=[
            Tally(str(value), str(label), totals[f"rating:{value}"])
            for value, label in reversed(SatisfactionSurvey.Rating.choices)
        ],
    )
    for question in YES_NO_QUESTIONS:
        setattr(result, question, (totals[f"{question}:yes"], totals[f"{question}:known"]))
    return result


# --- Recurring dysfunctions -------------------------------------------------------------------------------------


def open_dysfunction_alerts() -> int:
    """Recurring-dysfunction alerts not dealt with yet."""
    return DysfunctionAlert.objects.filter(closed_at__isnull=True).count()
