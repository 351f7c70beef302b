"""The figures of the annual activity report (R614-2), computed in SQL from the cases of one firm.

Every figure is the size of a set of cases defined once, as a `Q`, in
`scope()`: the report counts with that filter and the staff "cases behind this
figure" page lists `traced_cases(...)` with the same one, so a figure can
always be traced to its cases. Three cohorts:

- requests *received* in the period (`received_at`): totals, subjects,
  channels, sectors, members, refusals (L612-2 reasons), reorientations,
  mediations opened and stopped, requests still open;
- cases *ended* in the period after the referral (`closed_at`, `opened_at`
  set): outcomes, time to resolve, proposals and whether they were followed.

Three queries whatever the volume: one pass over the period's cases with a filtered count
per figure and per row, one for the members, one for the times (see bench_reports).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Aggregate, Avg, Count, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from mediation.cases.models import (
    Case,
    InadmissibilityReason,
    Outcome,
    Party,
    Status,
    Subject,
)
from mediation.members.models import Member

TOP_MEMBERS = 20
UNKNOWN = "unknown"  # a case whose business is not (or no longer) a member: no sector
UNKNOWN_LABEL = _("Professionnel non adhérent ou non identifié")


@dataclass(frozen=True)
class Period:
    start: datetime.date
    end: datetime.date  # inclusive

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(datetime.date(year, 1, 1), datetime.date(year, 12, 31))

    def previous(self) -> Period:
        """The period of the same length just before (the previous year for a calendar year)."""
        if (self.start.month, self.start.day, self.end.month, self.end.day) == (1, 1, 12, 31):
            return Period(self.start.replace(year=self.start.year - 1), self.end.replace(year=self.end.year - 1))
        length = self.end - self.start
        end = self.start - datetime.timedelta(days=1)
        return Period(end - length, end)

    def bounds(self) -> tuple[datetime.datetime, datetime.datetime]:
        """[start, end) as aware datetimes at local midnight: the whole of the first and last days."""
        tz = timezone.get_current_timezone()
        first = datetime.datetime.combine(self.start, datetime.time.min, tzinfo=tz)
        after = datetime.datetime.combine(self.end + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
        return first, after


# --- The sets of cases ------------------------------------------------------------------------------------

STOPPED = "stopped"
# Why a mediation that had started ended without an outcome on the merits (R614-2: "médiations interrompues").
STOP_REASONS: dict[str, tuple[Promise, Q]] = {
    "withdrawn_consumer": (
        _("Retrait du consommateur"),
        Q(status=Status.WITHDRAWN) & ~Q(closed_by_party=Party.BUSINESS),
    ),
    "withdrawn_business": (_("Retrait du professionnel"), Q(status=Status.WITHDRAWN, closed_by_party=Party.BUSINESS)),
    "business_refused": (
        _("Refus du professionnel d'entrer en médiation"),
        Q(status=Status.CLOSED, outcome=Outcome.BUSINESS_REFUSED),
    ),
    "interrupted": (_("Interruption par le médiateur"), Q(status=Status.INTERRUPTED)),
}
FOLLOWED_OUTCOMES = (Outcome.AGREEMENT, Outcome.PROPOSAL_ACCEPTED)
ANSWERED_PROPOSALS = (Outcome.PROPOSAL_ACCEPTED, Outcome.PROPOSAL_REFUSED)


def scope(name: str, period: Period, value: str | None = None) -> Q:
    """The cases behind figure `name` (with `value` for one row of a breakdown) in `period`."""
    first, after = period.bounds()
    received = Q(received_at__gte=first, received_at__lt=after) & ~Q(status=Status.DRAFT)
    opened = received & Q(opened_at__isnull=False)
    ended = Q(closed_at__gte=first, closed_at__lt=after, opened_at__isnull=False) & Q(
        status__in=[Status.CLOSED, Status.WITHDRAWN, Status.INTERRUPTED]
    )
    stopped = Q(pk__in=[])
    for _label, condition in STOP_REASONS.values():
        stopped |= condition
    stopped = opened & stopped
    scopes: dict[str, Q] = {
        "received": received,
        "subject": received & Q(subject=value or ""),
        "source": received & Q(source=value),
        "sector": received & (Q(member__isnull=True) if value == UNKNOWN else Q(member__sector=value)),
        "member": received & Q(member_id=value),
        "refused": received & Q(status=Status.INADMISSIBLE),
        "refusal_reason": received & Q(status=Status.INADMISSIBLE, inadmissibility_reason=value),
        "reoriented": received & Q(status=Status.REORIENTED),
        "withdrawn_before_opening": received & Q(status=Status.WITHDRAWN, opened_at__isnull=True),
        "opened": opened,
        STOPPED: stopped,
        "stop_reason": opened & STOP_REASONS[value][1] if value in STOP_REASONS else Q(pk__in=[]),
        # Open at the end of the period: not ended then (a case ended later was still open).
        "pending": received & (Q(closed_at__isnull=True) | Q(closed_at__gte=after)),
        "ended": ended,
        "outcome": ended & Q(status=Status.CLOSED, outcome=value),
        "proposals_answered": ended & Q(outcome__in=ANSWERED_PROPOSALS),
        "proposals_accepted": ended & Q(outcome=Outcome.PROPOSAL_ACCEPTED),
        "solutions": ended & Q(outcome__in=FOLLOWED_OUTCOMES),
        "execution_known": ended
        & Q(outcome__in=FOLLOWED_OUTCOMES, execution__in=[Case.Execution.CARRIED_OUT, Case.Execution.NOT_CARRIED_OUT]),
        "followed": ended & Q(outcome__in=FOLLOWED_OUTCOMES, execution=Case.Execution.CARRIED_OUT),
    }
    if name not in scopes:
        raise KeyError(name)
    return scopes[name]


def traced_cases(name: str, period: Period, value: str | None = None) -> QuerySet[Case]:
    """The cases a figure counts, oldest receipt first."""
    return Case.objects.filter(scope(name, period, value)).select_related("member").order_by("received_at", "pk")


# --- The figures ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of a breakdown: a count, its share of the breakdown's base, and how to find its cases."""

    scope: str
    value: str
    label: str
    count: int
    share: float | None


@dataclass(frozen=True)
class Duration:
    cases: int
    average_days: float | None
    median_days: float | None


@dataclass
class Figures:
    period: Period
    received: int = 0
    by_subject: list[Row] = field(default_factory=list)
    by_source: list[Row] = field(default_factory=list)
    by_sector: list[Row] = field(default_factory=list)
    by_member: list[Row] = field(default_factory=list)
    other_members: int = 0  # received for members beyond the TOP_MEMBERS listed
    refused: int = 0
    by_refusal_reason: list[Row] = field(default_factory=list)
    reoriented: int = 0
    withdrawn_before_opening: int = 0
    opened: int = 0
    stopped: int = 0
    by_stop_reason: list[Row] = field(default_factory=list)
    pending: int = 0
    ended: int = 0
    by_outcome: list[Row] = field(default_factory=list)
    from_opening: Duration = Duration(0, None, None)
    from_receipt: Duration = Duration(0, None, None)
    proposals_answered: int = 0
    proposals_accepted: int = 0
    solutions: int = 0
    execution_known: int = 0
    followed: int = 0

    @staticmethod
    def share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def refused_share(self) -> float | None:
        return self.share(self.refused, self.received)

    @property
    def stopped_share(self) -> float | None:
        return self.share(self.stopped, self.opened)

    @property
    def accepted_share(self) -> float | None:
        return self.share(self.proposals_accepted, self.proposals_answered)

    @property
    def followed_share(self) -> float | None:
        return self.share(self.followed, self.execution_known)


class Median(Aggregate):
    """PostgreSQL's exact median (percentile_cont), here of an interval."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


def _days(value: datetime.timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 86400, 1)


SCALARS = (
    "received",
    "refused",
    "reoriented",
    "withdrawn_before_opening",
    "opened",
    STOPPED,
    "pending",
    "ended",
    "proposals_answered",
    "proposals_accepted",
    "solutions",
    "execution_known",
    "followed",
)


def _breakdowns() -> dict[str, list[tuple[str, Any]]]:
    """Each breakdown's rows (value, label), in the order the report prints them."""
    return {
        "subject": list(Subject.choices),
        "source": list(Case.Source.choices),
        "sector": [*Member.Sector.choices, (UNKNOWN, UNKNOWN_LABEL)],
        "refusal_reason": list(InadmissibilityReason.choices),
        "stop_reason": [(key, label) for key, (label, _condition) in STOP_REASONS.items()],
        "outcome": list(Outcome.choices),
    }


def compute(period: Period) -> Figures:
    """Every R614-2 figure of `period`: one pass over the period's cases, one for the members, one for times."""
    figures = Figures(period=period)
    breakdowns = _breakdowns()
    counted = {name: Count("pk", filter=scope(name, period)) for name in SCALARS}
    for name, rows in breakdowns.items():
        for value, _label in rows:
            counted[f"{name}:{value}"] = Count("pk", filter=scope(name, period, value))
    first, after = period.bounds()
    # The two cohorts' rows only: the index on received_at and a bounded scan on closed_at.
    either = Q(received_at__gte=first, received_at__lt=after) | Q(closed_at__gte=first, closed_at__lt=after)
    totals = {key: value or 0 for key, value in Case.objects.filter(either).aggregate(**counted).items()}
    for name in SCALARS:
        setattr(figures, name, totals[name])
    bases = {
        "subject": figures.received,
        "source": figures.received,
        "sector": figures.received,
        "refusal_reason": figures.refused,
        "stop_reason": figures.stopped,
        "outcome": figures.ended,
    }
    rows_of = {
        name: [
            Row(
                name,
                value,
                str(label),
                totals[f"{name}:{value}"],
                Figures.share(totals[f"{name}:{value}"], bases[name]),
            )
            for value, label in rows
            # A sector no case is in is left out (eleven of them would mostly be zeros).
            if name != "sector" or totals[f"{name}:{value}"]
        ]
        for name, rows in breakdowns.items()
    }
    figures.by_subject, figures.by_source, figures.by_sector = rows_of["subject"], rows_of["source"], rows_of["sector"]
    figures.by_refusal_reason, figures.by_stop_reason = rows_of["refusal_reason"], rows_of["stop_reason"]
    figures.by_outcome = rows_of["outcome"]

    received = scope("received", period)
    per_member = list(
        Case.objects.filter(received & Q(member__isnull=False))
        .values("member_id", "member__legal_name")
        .annotate(n=Count("pk"))
        .order_by("-n", "member__legal_name")
    )
    figures.by_member = [
        Row(
            "member",
            str(row["member_id"]),
            row["member__legal_name"],
            row["n"],
            Figures.share(row["n"], figures.received),
        )
        for row in per_member[:TOP_MEMBERS]
    ]
    figures.other_members = sum(row["n"] for row in per_member[TOP_MEMBERS:])

    durations = Case.objects.filter(scope("ended", period)).aggregate(
        cases=Count("pk"),
        avg_opening=_avg("opened_at"),
        med_opening=Median(_elapsed("opened_at")),
        avg_receipt=_avg("received_at"),
        med_receipt=Median(_elapsed("received_at")),
    )
    figures.from_opening = Duration(
        durations["cases"], _days(durations["avg_opening"]), _days(durations["med_opening"])
    )
    figures.from_receipt = Duration(
        durations["cases"], _days(durations["avg_receipt"]), _days(durations["med_receipt"])
    )
    return figures


def _elapsed(start: str) -> ExpressionWrapper:
    return ExpressionWrapper(F("closed_at") - Coalesce(F(start), F("opened_at")), output_field=DurationField())


def _avg(start: str) -> Aggregate:
    return Avg(_elapsed(start))


def compare(current: Figures, previous: Figures) -> dict[str, tuple[int, int]]:
    """(this period, the previous one) for the headline figures, for the report's comparison table."""
    names = ("received", "refused", "reoriented", "opened", STOPPED, "ended", "proposals_accepted", "followed")
    return {name: (getattr(current, name), getattr(previous, name)) for name in names}
