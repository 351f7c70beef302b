"""The annual activity report's documents (R614-2): the PDF published on the firm's site, and an XLSX workbook.

Both are built from `figures.compute()` results the caller passes in (this
period and the previous one): nothing here queries the cases. The PDF is
rendered in the firm's language; the figures' breakdown labels are looked up
again from the choices in that language, since `compute()` ran in the
caller's (a staff member may browse in English while the firm publishes in
French). Every XLSX row carries the scope and value of its figure
(`figures.traced_cases(scope, period, value)` lists the cases behind it).

Charts are horizontal bar charts the template draws as inline SVG from the
geometry computed here; a table with the same numbers stands beside each
one, so the chart never carries a number alone.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from core.exports import safe_cell
from core.markup import render_markdown
from core.pdf import html_to_pdf
from mediation.cases.models import Case, InadmissibilityReason, Outcome, Subject
from mediation.members.models import Member
from mediation.reports import figures as report_figures
from mediation.reports.figures import STOP_REASONS, STOPPED, UNKNOWN, UNKNOWN_LABEL, Duration, Figures, Period, Row
from mediation.reports.models import AnnualReport

TEMPLATE = "reports/pdf/report.html"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DASH = "—"  # a share whose base is 0, a duration without any case

# The headline counts of `figures.compare()`, by name; a name added there without a label here prints its name.
HEADLINE_LABELS = {
    "received": gettext_lazy("Demandes reçues"),
    "refused": gettext_lazy("Demandes refusées"),
    "reoriented": gettext_lazy("Demandes réorientées"),
    "opened": gettext_lazy("Médiations engagées (saisine notifiée)"),
    STOPPED: gettext_lazy("Médiations interrompues"),
    "ended": gettext_lazy("Médiations terminées"),
    "proposals_accepted": gettext_lazy("Propositions acceptées"),
    "followed": gettext_lazy("Solutions suivies d'effet"),
}

COUNT, SHARE, DAYS = "count", "share", "days"

# Chart geometry, in SVG user units (CSS px): one row is its label above a bar.
CHART_WIDTH = 260
CHART_BAR_MAX = 180  # leaves room for the count and share written after the longest bar
CHART_ROW = 24
CHART_LABEL_CHARS = 50


# --- Numbers as the report prints them ---------------------------------------------------------------------


def _french() -> bool:
    return (translation.get_language() or settings.LANGUAGE_CODE).startswith("fr")


def _one_decimal(value: float) -> str:
    """`value` rounded half up to one decimal, localised (Django's number_format cuts a float's decimals)."""
    rounded = Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return str(number_format(rounded, 1, use_l10n=True))


def count_text(value: int) -> str:
    """1 234 in French (a no-break space between thousands), 1,234 in English."""
    return str(number_format(value, 0, use_l10n=True, force_grouping=True))


def percent_text(share: float | None, *, signed: bool = False) -> str:
    """0.125 → « 12,5 % » (a no-break space before % in French, none in English); None → « — »."""
    if share is None:
        return DASH
    number = _one_decimal(share * 100)
    if signed and share > 0:
        number = f"+{number}"
    return f"{number}\u00a0%" if _french() else f"{number}%"


def days_text(days: float | None, *, signed: bool = False) -> str:
    """Days with one decimal (« 12,5 »); None → « — »."""
    if days is None:
        return DASH
    number = _one_decimal(days)
    return f"+{number}" if signed and days > 0 else number


def _signed_count(value: int) -> str:
    text = count_text(abs(value))
    return f"+{text}" if value > 0 else f"\u2212{text}" if value < 0 else text


def _points_text(change: float) -> str:
    number = _one_decimal(change * 100)
    number = f"+{number}" if change > 0 else number.replace("-", "\u2212")
    return _("%(number)s pts") % {"number": number}


# --- Labels in the document's language ---------------------------------------------------------------------


def _choice_labels() -> dict[str, dict[str, Any]]:
    return {
        "subject": dict(Subject.choices),
        "source": dict(Case.Source.choices),
        "sector": {**dict(Member.Sector.choices), UNKNOWN: UNKNOWN_LABEL},
        "refusal_reason": dict(InadmissibilityReason.choices),
        "stop_reason": {key: label for key, (label, _condition) in STOP_REASONS.items()},
        "outcome": dict(Outcome.choices),
    }


def row_label(row: Row, labels: dict[str, dict[str, Any]] | None = None) -> str:
    """The row's label in the active language (a member's name as it is)."""
    label = (labels or _choice_labels()).get(row.scope, {}).get(row.value)
    return str(label) if label is not None else row.label


# --- Headline figures (the PDF's comparison table and the XLSX's summary) --------------------------------------


@dataclass(frozen=True)
class Headline:
    label: str
    kind: str  # COUNT, SHARE or DAYS
    current: float | None
    previous: float | None
    scope: str

    @property
    def change(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def relative_change(self) -> float | None:
        """The change as a share of the previous count (counts only; None when the previous count is 0)."""
        if self.kind != COUNT or self.change is None or not self.previous:
            return None
        return self.change / self.previous


def headlines(current: Figures, previous: Figures) -> list[Headline]:
    rows = [
        Headline(str(HEADLINE_LABELS.get(name, name)), COUNT, this, before, name)
        for name, (this, before) in report_figures.compare(current, previous).items()
    ]
    shares = (
        (_("Part des demandes refusées"), "refused_share", "refused"),
        (_("Part des médiations interrompues"), "stopped_share", STOPPED),
        (_("Part des propositions acceptées par les parties"), "accepted_share", "proposals_accepted"),
        (_("Part des solutions suivies d'effet (exécution connue)"), "followed_share", "followed"),
    )
    rows += [
        Headline(label, SHARE, getattr(current, attr), getattr(previous, attr), scope) for label, attr, scope in shares
    ]
    durations = (
        (_("Durée moyenne depuis la saisine (jours)"), "from_opening", "average_days"),
        (_("Durée médiane depuis la saisine (jours)"), "from_opening", "median_days"),
        (_("Durée moyenne depuis la réception (jours)"), "from_receipt", "average_days"),
        (_("Durée médiane depuis la réception (jours)"), "from_receipt", "median_days"),
    )
    rows += [
        Headline(label, DAYS, getattr(getattr(current, which), attr), getattr(getattr(previous, which), attr), "ended")
        for label, which, attr in durations
    ]
    return rows


def _headline_texts(row: Headline) -> dict[str, str]:
    change = row.change
    if row.kind == COUNT:
        return {
            "current": count_text(int(row.current or 0)),
            "previous": count_text(int(row.previous or 0)),
            "change": _signed_count(int(change or 0)),
            "relative": percent_text(row.relative_change, signed=True).replace("-", "\u2212"),
        }
    if row.kind == SHARE:
        return {
            "current": percent_text(row.current),
            "previous": percent_text(row.previous),
            "change": DASH if change is None else _points_text(change),
            "relative": "",
        }
    return {
        "current": days_text(row.current),
        "previous": days_text(row.previous),
        "change": DASH if change is None else days_text(round(change, 1), signed=True).replace("-", "\u2212"),
        "relative": "",
    }


# --- The PDF -----------------------------------------------------------------------------------------------


def _table_rows(rows: Iterable[Row], labels: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"label": row_label(row, labels), "count": count_text(row.count), "share": percent_text(row.share)}
        for row in rows
    ]


def chart(rows: Sequence[Row], labels: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The geometry of a horizontal bar chart of `rows`: bars scaled to the largest count."""
    largest = max((row.count for row in rows), default=0)
    bars = []
    for index, row in enumerate(rows):
        label = row_label(row, labels)
        if len(label) > CHART_LABEL_CHARS:
            label = label[: CHART_LABEL_CHARS - 1].rstrip() + "…"
        width = round(CHART_BAR_MAX * row.count / largest, 1) if largest else 0
        top = index * CHART_ROW
        bars.append(
            {
                "label": label,
                "label_y": top + 9,
                "bar_y": top + 12,
                "width": width,
                "value_x": width + 4,
                "value_y": top + 19,
                "value": f"{count_text(row.count)} ({percent_text(row.share)})",
            }
        )
    return {"bars": bars, "width": CHART_WIDTH, "height": max(len(bars), 1) * CHART_ROW, "bar_max": CHART_BAR_MAX}


def _duration(duration: Duration) -> dict[str, str]:
    return {
        "cases": count_text(duration.cases),
        "average": days_text(duration.average_days),
        "median": days_text(duration.median_days),
    }


def _period_text(period: Period) -> str:
    return _("du %(start)s au %(end)s") % {
        "start": date_format(period.start, "j F Y"),
        "end": date_format(period.end, "j F Y"),
    }


def _markdown(text: str) -> str:
    return render_markdown(text) if text.strip() else ""


def document_context(report: AnnualReport, figures: Figures, previous: Figures) -> dict[str, Any]:
    """What the PDF template prints (call it in the document's language)."""
    from firm.selectors import firm_profile
    from firm.site_selectors import site_mediators
    from mediation.cases.letters import branding

    profile = firm_profile()
    labels = _choice_labels()
    members = _table_rows(figures.by_member, labels)
    if figures.other_members:
        members.append(
            {
                "label": _("Autres adhérents"),
                "count": count_text(figures.other_members),
                "share": percent_text(Figures.share(figures.other_members, figures.received)),
            }
        )
    return {
        **branding(profile),
        "language": translation.get_language() or settings.LANGUAGE_CODE,
        "report": report,
        "title": _("Rapport d'activité %(year)s") % {"year": report.year},
        "period": _period_text(figures.period),
        "previous_period": _period_text(previous.period),
        "generated_on": date_format(timezone.localdate(), "j F Y"),
        "mediators": list(site_mediators()),
        "f": figures,
        "n": {
            name: count_text(getattr(figures, name))
            for name in (
                "received",
                "refused",
                "reoriented",
                "withdrawn_before_opening",
                "opened",
                "stopped",
                "pending",
                "ended",
                "proposals_answered",
                "proposals_accepted",
                "solutions",
                "execution_known",
                "followed",
            )
        },
        "shares": {
            "refused": percent_text(figures.refused_share),
            "stopped": percent_text(figures.stopped_share),
            "accepted": percent_text(figures.accepted_share),
            "followed": percent_text(figures.followed_share),
        },
        "subjects": _table_rows(figures.by_subject, labels),
        "subjects_chart": chart(figures.by_subject, labels),
        "sources": _table_rows(figures.by_source, labels),
        "refusal_reasons": _table_rows(figures.by_refusal_reason, labels),
        "refusal_chart": chart(figures.by_refusal_reason, labels),
        "stop_reasons": _table_rows(figures.by_stop_reason, labels),
        "outcomes": _table_rows(figures.by_outcome, labels),
        "outcomes_chart": chart(figures.by_outcome, labels),
        "sectors": _table_rows(figures.by_sector, labels),
        "sectors_chart": chart(figures.by_sector, labels),
        "members": members,
        "from_opening": _duration(figures.from_opening),
        "from_receipt": _duration(figures.from_receipt),
        "comparison": [{"label": row.label, **_headline_texts(row)} for row in headlines(figures, previous)],
        "texts": [
            (_("Problèmes récurrents et recommandations"), _markdown(report.recurring_problems)),
            (_("Coopération avec les réseaux de médiateurs"), _markdown(report.cooperation)),
            (_("Formation des médiateurs"), _markdown(report.training)),
        ],
    }


def document_language() -> str:
    from firm.selectors import firm_profile

    return firm_profile().default_language or settings.LANGUAGE_CODE


def report_html(report: AnnualReport, figures: Figures, previous: Figures) -> str:
    with translation.override(document_language()):
        return render_to_string(TEMPLATE, document_context(report, figures, previous))


def report_pdf(report: AnnualReport, figures: Figures, previous: Figures) -> bytes:
    """The report as a PDF in the firm's language and branding, ready to publish on its site."""
    return html_to_pdf(report_html(report, figures, previous))


# --- The XLSX ----------------------------------------------------------------------------------------------

PERCENT_FORMAT = "0.0%"
CHANGE_PERCENT_FORMAT = "+0.0%;-0.0%;0.0%"
COUNT_FORMAT = "#,##0"
CHANGE_COUNT_FORMAT = "+#,##0;-#,##0;0"
DAYS_FORMAT = "0.0"
CHANGE_DAYS_FORMAT = "+0.0;-0.0;0.0"
FORMATS = {COUNT: (COUNT_FORMAT, CHANGE_COUNT_FORMAT), SHARE: (PERCENT_FORMAT, CHANGE_PERCENT_FORMAT)}
FORBIDDEN_IN_TITLES = str.maketrans({character: " " for character in "[]:*?/\\"})


def _sheet(workbook: Workbook, title: str, header: Sequence[str], widths: Sequence[int]) -> Worksheet:
    sheet = workbook.create_sheet(title=title.translate(FORBIDDEN_IN_TITLES)[:31])
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    return sheet


def _trace_header() -> list[str]:
    return [_("Périmètre (scope)"), _("Valeur (value)")]


def _summary_sheet(workbook: Workbook, report: AnnualReport, figures: Figures, previous: Figures) -> None:
    header = [
        _("Indicateur"),
        _("Période du rapport"),
        _("Période précédente"),
        _("Évolution"),
        _("Évolution relative"),
        *_trace_header(),
    ]
    sheet = _sheet(workbook, _("Synthèse"), header, (52, 18, 18, 14, 14, 22, 16))
    for row in headlines(figures, previous):
        value_format, change_format = FORMATS.get(row.kind, (DAYS_FORMAT, CHANGE_DAYS_FORMAT))
        change = None if row.change is None else round(row.change, 4 if row.kind == SHARE else 1)
        sheet.append([row.label, row.current, row.previous, change, row.relative_change, row.scope, ""])
        line = sheet.max_row
        for column in (2, 3):
            sheet.cell(line, column).number_format = value_format
        sheet.cell(line, 4).number_format = change_format
        sheet.cell(line, 5).number_format = CHANGE_PERCENT_FORMAT
    sheet.append([])
    for label, value in (
        (_("Rapport"), _("Rapport d'activité %(year)s") % {"year": report.year}),
        (_("Période du rapport"), _period_text(figures.period)),
        (_("Période précédente"), _period_text(previous.period)),
    ):
        sheet.append([label, value])


def _breakdown_sheet(
    workbook: Workbook,
    title: str,
    rows: Sequence[Row],
    base: tuple[str, int, str],
    labels: dict[str, dict[str, Any]],
    extra: Sequence[tuple[str, int, float | None]] = (),
) -> None:
    """One row per line of the breakdown, then `extra` lines (no scope) and the base the shares divide."""
    header = [_("Libellé"), _("Nombre"), _("Part"), *_trace_header()]
    sheet = _sheet(workbook, title, header, (60, 12, 10, 22, 24))
    for row in rows:
        sheet.append([safe_cell(row_label(row, labels)), row.count, row.share, row.scope, row.value])
    for label, count, share in extra:
        sheet.append([label, count, share, "", ""])
    base_label, base_count, base_scope = base
    sheet.append([base_label, base_count, 1 if base_count else None, base_scope, ""])
    sheet.cell(sheet.max_row, 1).font = Font(bold=True)
    for line in range(2, sheet.max_row + 1):
        sheet.cell(line, 2).number_format = COUNT_FORMAT
        sheet.cell(line, 3).number_format = PERCENT_FORMAT


def _durations_sheet(workbook: Workbook, figures: Figures, previous: Figures) -> None:
    header = [
        _("Mesure"),
        _("Dossiers"),
        _("Durée moyenne (jours)"),
        _("Durée médiane (jours)"),
        _("Dossiers (période précédente)"),
        _("Durée moyenne, période précédente (jours)"),
        _("Durée médiane, période précédente (jours)"),
        *_trace_header(),
    ]
    sheet = _sheet(workbook, _("Délais"), header, (44, 12, 16, 16, 16, 20, 20, 22, 16))
    for label, which in (
        (_("Depuis la saisine (notification aux parties)"), "from_opening"),
        (_("Depuis la réception de la demande"), "from_receipt"),
    ):
        this, before = getattr(figures, which), getattr(previous, which)
        sheet.append(
            [
                label,
                this.cases,
                this.average_days,
                this.median_days,
                before.cases,
                before.average_days,
                before.median_days,
                "ended",
                "",
            ]
        )
        line = sheet.max_row
        for column in (2, 5):
            sheet.cell(line, column).number_format = COUNT_FORMAT
        for column in (3, 4, 6, 7):
            sheet.cell(line, column).number_format = DAYS_FORMAT


def report_xlsx(report: AnnualReport, figures: Figures, previous: Figures) -> bytes:
    """The report's figures as an XLSX workbook: a summary, one sheet per breakdown, the durations."""
    with translation.override(document_language()):
        labels = _choice_labels()
        workbook = Workbook()
        assert workbook.active is not None  # a new workbook has one empty sheet
        workbook.remove(workbook.active)
        _summary_sheet(workbook, report, figures, previous)
        received = (_("Base : demandes reçues"), figures.received, "received")
        breakdowns: list[tuple[str, list[Row], tuple[str, int, str]]] = [
            (_("Objets"), figures.by_subject, received),
            (_("Modes de saisine"), figures.by_source, received),
            (
                _("Motifs de refus"),
                figures.by_refusal_reason,
                (_("Base : demandes refusées"), figures.refused, "refused"),
            ),
            (
                _("Motifs d'interruption"),
                figures.by_stop_reason,
                (_("Base : médiations interrompues"), figures.stopped, STOPPED),
            ),
            (_("Issues"), figures.by_outcome, (_("Base : médiations terminées"), figures.ended, "ended")),
            (_("Secteurs"), figures.by_sector, received),
        ]
        for title, rows, base in breakdowns:
            _breakdown_sheet(workbook, title, rows, base, labels)
        others = (
            [(_("Autres adhérents"), figures.other_members, Figures.share(figures.other_members, figures.received))]
            if figures.other_members
            else []
        )
        _breakdown_sheet(workbook, _("Adhérents"), figures.by_member, received, labels, others)
        _durations_sheet(workbook, figures, previous)
        workbook.properties.title = _("Rapport d'activité %(year)s") % {"year": report.year}
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def filename(report: AnnualReport, extension: str) -> str:
    """« rapport-activite-2025.pdf »."""
    return f"rapport-activite-{report.year}.{extension.lstrip('.')}"
