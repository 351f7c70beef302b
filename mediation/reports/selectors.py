"""Reads for the annual report's staff pages: which years have a report to write, and what a figure is."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import IntegerField, Value
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mediation.cases.models import Case, InadmissibilityReason, Outcome, Status, Subject
from mediation.members.models import Member
from mediation.reports.figures import STOP_REASONS, STOPPED, UNKNOWN, UNKNOWN_LABEL, Period
from mediation.reports.models import AnnualReport
from mediation.reports.services import FIRST_YEAR

# The figures that are a single count (no `value`), as the pages name them.
TOTAL_LABELS = {
    "received": _("Demandes reçues"),
    "refused": _("Demandes refusées (irrecevables)"),
    "reoriented": _("Demandes réorientées vers un autre médiateur ou service"),
    "withdrawn_before_opening": _("Demandes retirées avant l'engagement de la médiation"),
    "opened": _("Médiations engagées (saisine notifiée aux parties)"),
    STOPPED: _("Médiations interrompues"),
    "pending": _("Demandes encore en cours à la fin de la période"),
    "ended": _("Médiations terminées dans la période"),
    "proposals_answered": _("Propositions de solution ayant reçu la réponse des parties"),
    "proposals_accepted": _("Propositions de solution acceptées par les parties"),
    "solutions": _("Solutions trouvées (accord des parties ou proposition acceptée)"),
    "execution_known": _("Solutions dont on sait si elles ont été exécutées"),
    "followed": _("Solutions exécutées par les parties"),
}
# The breakdowns (one row per `value`), and the title of their column.
BREAKDOWN_LABELS = {
    "subject": _("Objet du litige"),
    "source": _("Mode de saisine"),
    "sector": _("Secteur du professionnel"),
    "member": _("Professionnel"),
    "refusal_reason": _("Motif du refus (L612-2)"),
    "stop_reason": _("Motif de l'interruption"),
    "outcome": _("Issue de la médiation"),
}


def year_range() -> range:
    """The years a report may be written for: from the first year of consumer mediation to this one."""
    return range(FIRST_YEAR, timezone.localdate().year + 1)


def report_of(year: int) -> AnnualReport | None:
    return AnnualReport.objects.filter(year=year).first()


def period_of(year: int, report: AnnualReport | None) -> Period:
    """The report's period, or the calendar year while the report has no row yet."""
    if report is None:
        return Period.year(year)
    return Period(report.period_start, report.period_end)


def years_with_cases(years: Iterable[int]) -> set[int]:
    """Which of `years` received at least one request: one query, one index probe (LIMIT 1) per year."""
    probes = []
    for year in years:
        first, after = Period.year(year).bounds()
        probes.append(
            Case.objects.filter(received_at__gte=first, received_at__lt=after)
            .exclude(status=Status.DRAFT)
            .annotate(year=Value(year, output_field=IntegerField()))
            .order_by("-received_at")
            .values_list("year", flat=True)[:1]
        )
    if not probes:
        return set()
    head, *rest = probes
    return set(head.union(*rest, all=True) if rest else head)


@dataclass(frozen=True)
class YearEntry:
    year: int
    report: AnnualReport | None


def report_years() -> list[YearEntry]:
    """The years that have requests or a report, latest first, each with its report when it has one."""
    years = year_range()
    reports = {report.year: report for report in AnnualReport.objects.filter(year__in=years)}
    found = years_with_cases(years) | set(reports)
    return [YearEntry(year, reports.get(year)) for year in sorted(found, reverse=True)]


def value_label(scope: str, value: str) -> str | None:
    """The name of one row of breakdown `scope` (e.g. a subject, a member); None when there is no such row."""
    choices: dict[str, object]
    if scope == "member":
        if not value.isdigit():
            return None
        return Member.objects.filter(pk=int(value)).values_list("legal_name", flat=True).first()
    if scope == "subject":
        choices = dict(Subject.choices)
    elif scope == "source":
        choices = dict(Case.Source.choices)
    elif scope == "sector":
        choices = {**dict(Member.Sector.choices), UNKNOWN: UNKNOWN_LABEL}
    elif scope == "refusal_reason":
        choices = dict(InadmissibilityReason.choices)
    elif scope == "stop_reason":
        choices = {key: label for key, (label, _condition) in STOP_REASONS.items()}
    elif scope == "outcome":
        choices = dict(Outcome.choices)
    else:
        return None
    label = choices.get(value)
    return None if label is None else str(label)
