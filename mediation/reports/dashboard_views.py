"""The staff statistics dashboard (/staff/rapports/tableau-de-bord/, reports.view).

The view reads the period (GET), calls the selectors of `dashboard` and turns their numbers into what the
templates draw: the geometry of each inline SVG chart is computed here, so the templates only place shapes, and
every chart is followed by a table of the same numbers (the accessible reading of the chart).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.permissions import Perm, require_perm, user_has_perm
from mediation.cases import selectors as case_selectors
from mediation.cases.models import OPEN_STATUSES
from mediation.reports import dashboard
from mediation.reports.documents import count_text, days_text, percent_text

# --- The period (GET) -------------------------------------------------------------------------------------------


class PeriodForm(forms.Form):
    periode = forms.ChoiceField(
        label=gettext_lazy("Période"),
        choices=dashboard.PERIOD_CHOICES,
        required=False,
        initial=dashboard.LAST_12_MONTHS,
    )


# --- Chart geometry (SVG user units; the SVG scales to the page's width) ----------------------------------------

WIDTH = 720
COLUMN_HEIGHT = 240
MARGIN_LEFT = 48
MARGIN_TOP = 12
MARGIN_BOTTOM = 28
ROW_HEIGHT = 36  # horizontal bars: a label line and a bar
BAR_THICKNESS = 14


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str  # the bar's tooltip: what and how many


@dataclass(frozen=True)
class Series:
    name: str
    css: str  # series-1 (solid) or series-2 (hatched): never told apart by colour alone
    bars: list[Bar]


@dataclass(frozen=True)
class Tick:
    position: float
    text: str


@dataclass(frozen=True)
class ColumnChart:
    slug: str
    title: str
    width: int
    height: int
    left: int
    baseline: float
    series: list[Series]
    x_labels: list[Tick]
    y_ticks: list[Tick]


@dataclass(frozen=True)
class HBar:
    label: str
    value_text: str
    label_y: int
    bar_y: int
    value_y: int
    width: float
    value_x: float


@dataclass(frozen=True)
class HBarChart:
    slug: str
    title: str
    width: int
    height: int
    thickness: int
    bars: list[HBar]


def nice_max(value: float) -> float:
    """The top of the axis: the value rounded up to 1, 2 or 5 times a power of ten (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def column_chart(
    *,
    slug: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None], Sequence[str]]],
) -> ColumnChart:
    """Grouped vertical bars: one group per label, one bar per series (name, values, each value's text)."""
    plot_width = WIDTH - MARGIN_LEFT - 8
    plot_height = COLUMN_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    baseline = MARGIN_TOP + plot_height
    top = nice_max(max((value or 0 for _name, values, _texts in series for value in values), default=0))
    group = plot_width / max(len(labels), 1)
    bar_width = group * 0.8 / max(len(series), 1)
    drawn = []
    for index, (name, values, texts) in enumerate(series):
        bars = []
        for position, (label, value, text) in enumerate(zip(labels, values, texts, strict=True)):
            height = (value or 0) / top * plot_height
            x = MARGIN_LEFT + position * group + group * 0.1 + index * bar_width
            bars.append(
                Bar(
                    round(x, 1),
                    round(baseline - height, 1),
                    round(bar_width, 1),
                    round(height, 1),
                    f"{label} — {name} : {text}",
                )
            )
        drawn.append(Series(name, f"series-{index + 1}", bars))
    x_labels = [Tick(round(MARGIN_LEFT + (i + 0.5) * group, 1), label) for i, label in enumerate(labels)]
    y_ticks = [Tick(round(baseline - plot_height * part / 4, 1), _number(top * part / 4)) for part in range(5)]
    return ColumnChart(slug, title, WIDTH, COLUMN_HEIGHT, MARGIN_LEFT, baseline, drawn, x_labels, y_ticks)


def _number(value: float) -> str:
    return count_text(int(value)) if float(value).is_integer() else days_text(value)


def hbar_chart(*, slug: str, title: str, rows: Sequence[tuple[str, int]]) -> HBarChart:
    """Horizontal bars, the label above each bar and the count after it."""
    top = max((count for _label, count in rows), default=0) or 1
    plot_width = WIDTH - 80
    bars = []
    for index, (label, count) in enumerate(rows):
        y = index * ROW_HEIGHT
        width = round(count / top * plot_width, 1)
        bars.append(HBar(label, count_text(count), y + 13, y + 18, y + 29, width, width + 6))
    return HBarChart(slug, title, WIDTH, max(len(rows) * ROW_HEIGHT, ROW_HEIGHT), BAR_THICKNESS, bars)


# --- Links to the inbox ---------------------------------------------------------------------------------------


def inbox_link(**params: str) -> str:
    """The inbox filtered on the open cases and `params`: the list holding exactly the cases counted here."""
    query = [*params.items(), *(("status", status) for status in sorted(OPEN_STATUSES))]
    return f"{reverse('cases:inbox')}?{urlencode(query)}"


def _alerts_url() -> str:
    # The alerts' pages are built separately; until they are mounted the count is shown without a link.
    try:
        return reverse("dysfunctions:list")
    except NoReverseMatch:
        return ""


def _month_label(month: datetime.date, fmt: str) -> str:
    return str(formats.date_format(month, fmt))


def _yes_share(answer: tuple[int, int]) -> str:
    yes, known = answer
    return percent_text(yes / known if known else None)


# --- The page ---------------------------------------------------------------------------------------------------


@require_perm(Perm.REPORTS_VIEW)
def dashboard_page(request: HttpRequest) -> HttpResponse:
    form = PeriodForm(request.GET or None)
    choice = dashboard.LAST_12_MONTHS
    if form.is_bound and form.is_valid():
        choice = form.cleaned_data["periode"] or dashboard.LAST_12_MONTHS
    period = dashboard.DashboardPeriod.of(choice)
    can_trace = user_has_perm(request.user, Perm.CASES_VIEW)

    received = dashboard.received_per_month(period)
    durations = dashboard.durations_per_month(period)
    states = dashboard.cases_by_state()
    open_cases = dashboard.open_cases()
    endings = dashboard.endings(period)
    satisfaction = dashboard.satisfaction(period)
    alerts = dashboard.open_dysfunction_alerts()

    short = [_month_label(row.month, "M y") for row in received]
    this_label, previous_label = _("Période"), _("Un an plus tôt")
    received_chart = column_chart(
        slug="received",
        title=_("Demandes reçues par mois, comparées aux mêmes mois un an plus tôt"),
        labels=short,
        series=[
            (this_label, [row.count for row in received], [count_text(row.count) for row in received]),
            (previous_label, [row.previous for row in received], [count_text(row.previous) for row in received]),
        ],
    )
    durations_chart = column_chart(
        slug="durations",
        title=_("Délai de clôture des médiations terminées, en jours depuis la réception, par mois"),
        labels=short,
        series=[
            (
                _("Durée moyenne"),
                [row.average_days for row in durations],
                [days_text(row.average_days) for row in durations],
            ),
            (
                _("Durée médiane"),
                [row.median_days for row in durations],
                [days_text(row.median_days) for row in durations],
            ),
        ],
    )
    workload_rows = [
        {
            "row": row,
            "url": inbox_link(assignee=str(row.assignee_id) if row.assignee_id else case_selectors.ASSIGNEE_NONE)
            if can_trace and row.in_inbox_filter
            else "",
        }
        for row in open_cases.workload
    ]
    context = {
        "form": form,
        "period": period.period,
        "months": [
            {"label": _month_label(row.month, "YEAR_MONTH_FORMAT"), "received": row, "duration": duration}
            for row, duration in zip(received, durations, strict=True)
        ],
        "received_total": sum(row.count for row in received),
        "previous_total": sum(row.previous for row in received),
        "received_chart": received_chart,
        "durations_chart": durations_chart,
        "states": states,
        "states_chart": hbar_chart(
            slug="states", title=_("Dossiers par état"), rows=[(row.label, row.count) for row in states]
        ),
        "open_cases": open_cases,
        "workload_rows": workload_rows,
        "workload_chart": hbar_chart(
            slug="workload",
            title=_("Dossiers en cours par chargé de dossier"),
            rows=[(row.name, row.open_cases) for row in open_cases.workload],
        ),
        "overdue_url": inbox_link(overdue="on") if can_trace else "",
        "due_this_week_url": inbox_link(due_this_week="on") if can_trace else "",
        "can_trace": can_trace,
        "endings": endings,
        "outcomes_chart": hbar_chart(
            slug="outcomes",
            title=_("Issue des dossiers terminés dans la période"),
            rows=[(row.label, row.count) for row in endings.outcomes],
        ),
        "refusals_chart": hbar_chart(
            slug="refusals",
            title=_("Demandes refusées dans la période, par motif"),
            rows=[(row.label, row.count) for row in endings.refusals],
        ),
        "satisfaction": satisfaction,
        "satisfaction_chart": hbar_chart(
            slug="satisfaction",
            title=_("Réponses au questionnaire de satisfaction, par note"),
            rows=[(row.label, row.count) for row in satisfaction.distribution],
        ),
        "yes_no": [
            (label, yes, known, _yes_share((yes, known)))
            for label, (yes, known) in (
                (_("Les informations reçues étaient claires"), satisfaction.clear_information),
                (_("La durée de traitement était raisonnable"), satisfaction.reasonable_duration),
                (_("Recommanderait la médiation"), satisfaction.would_recommend),
            )
        ],
        "average_rating": "—" if satisfaction.average is None else formats.number_format(satisfaction.average, 1),
        "alerts": alerts,
        "alerts_url": _alerts_url(),
    }
    return render(request, "reports/dashboard.html", context, status=200 if not form.errors else 400)
