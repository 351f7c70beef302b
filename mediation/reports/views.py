"""The annual activity report's staff pages (/staff/rapports/): the years, one year's figures, the cases behind
a figure, the period and texts, the documents, and the publication on the firm's site.

reports.view reads (finance included: it sees the numbers, not the cases, unless it holds cases.view);
reports.edit writes the texts and publishes. Every figure comes from figures.compute() and every count links
to figures.traced_cases() with the same scope, so what the page shows is what the list behind it holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import Perm, require_perm, user_has_perm
from core.links import firm_site_url
from firm import site_selectors
from firm.site_forms import add_service_error
from mediation.cases.models import Status, Subject
from mediation.reports import documents, selectors, services
from mediation.reports import figures as report_figures
from mediation.reports.documents import XLSX_TYPE, count_text, days_text, percent_text
from mediation.reports.figures import STOPPED, Duration, Figures, Period, Row
from mediation.reports.forms import ReportForm
from mediation.reports.models import AnnualReport

PAGE_SIZE = 50
# The figures compared with the previous period (the names compare() gives).
HEADLINES = frozenset(report_figures.compare(Figures(Period.year(2016)), Figures(Period.year(2016))))
# The totals shown with their share (of received, of opened, of answered proposals, of known executions).
SHARES = {
    "refused": "refused_share",
    STOPPED: "stopped_share",
    "proposals_accepted": "accepted_share",
    "followed": "followed_share",
}


def _acting_user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # require_perm let only staff users through
    return request.user


def _check_year(year: int) -> None:
    if year not in selectors.year_range():
        raise Http404


# --- How numbers read -----------------------------------------------------------------------------------------


def change(current: int, previous: int) -> str:
    """The difference with the previous period, and its rate when the previous period had any."""
    diff = current - previous
    sign = "+" if diff > 0 else "−" if diff < 0 else ""
    text = f"{sign}{count_text(abs(diff))}"
    if previous and diff:
        text += f" ({sign}{percent_text(abs(diff) / previous)})"
    return text


# --- The page's model: sections of lines, each line a count that links to its cases ---------------------------


@dataclass(frozen=True)
class Line:
    label: str
    count: str
    url: str  # the cases behind the count; "" when the reader may not see cases or there is no such list
    share: str = ""
    bar: int = 0  # width of the bar, in % of the breakdown's base
    previous: str = ""
    change: str = ""


@dataclass(frozen=True)
class Breakdown:
    caption: str
    column: str
    share_column: str  # the header of the shares: what they are shares of
    lines: list[Line]
    footer: Line | None = None


@dataclass(frozen=True)
class DurationLine:
    label: str
    cases: str
    url: str
    average: str
    median: str


@dataclass
class Section:
    slug: str
    title: str
    lines: list[Line] = field(default_factory=list)
    breakdowns: list[Breakdown] = field(default_factory=list)
    durations: list[DurationLine] = field(default_factory=list)
    text: str | None = None  # the mediator's Markdown text, for the sections that are written


Linker = Callable[..., str]


def _linker(year: int, can_trace: bool) -> Linker:
    def link(scope: str, value: str | None = None) -> str:
        if not can_trace:
            return ""
        url = reverse("reports:cases", args=[year, scope])
        return f"{url}?{urlencode({'value': value})}" if value is not None else url

    return link


def _total(name: str, current: Figures, previous: Figures, link: Linker) -> Line:
    count = getattr(current, name)
    line = Line(
        label=str(selectors.TOTAL_LABELS[name]),
        count=count_text(count),
        url=link(name) if count else "",
        share=percent_text(getattr(current, SHARES[name])) if name in SHARES else "",
    )
    if name in HEADLINES:
        before = getattr(previous, name)
        return replace(line, previous=count_text(before), change=change(count, before))
    return line


def _breakdown(rows: list[Row], scope: str, share_column: str, link: Linker, caption: str) -> Breakdown:
    lines = [
        Line(
            label=row.label,
            count=count_text(row.count),
            url=link(scope, row.value) if row.count else "",
            share=percent_text(row.share),
            bar=round((row.share or 0) * 100),
        )
        for row in rows
    ]
    return Breakdown(
        caption=caption, column=str(selectors.BREAKDOWN_LABELS[scope]), share_column=share_column, lines=lines
    )


def _duration(label: str, duration: Duration, link: Linker) -> DurationLine:
    return DurationLine(
        label=label,
        cases=count_text(duration.cases),
        url=link("ended") if duration.cases else "",
        average=days_text(duration.average_days),
        median=days_text(duration.median_days),
    )


def build_sections(report: AnnualReport | None, current: Figures, previous: Figures, link: Linker) -> list[Section]:
    """The year page's content in the order of R614-2."""
    received = _("Part des demandes reçues")
    members = _breakdown(
        current.by_member, "member", received, link, _("Les %(n)s professionnels les plus concernés") % {"n": 20}
    )
    if current.other_members:
        share = Figures.share(current.other_members, current.received)
        other = Line(_("Autres professionnels"), count_text(current.other_members), "", percent_text(share))
        members = replace(members, footer=other)
    return [
        Section(
            "received",
            _("Demandes reçues et leur objet"),
            lines=[_total("received", current, previous, link)],
            breakdowns=[
                _breakdown(current.by_subject, "subject", received, link, _("Objet des demandes")),
                _breakdown(current.by_source, "source", received, link, _("Mode de saisine")),
                _breakdown(current.by_sector, "sector", received, link, _("Secteur des professionnels")),
                members,
            ],
        ),
        Section(
            "recurring-problems",
            _("Problèmes récurrents et recommandations"),
            text=report.recurring_problems if report else "",
        ),
        Section(
            "refused",
            _("Demandes refusées et motifs"),
            lines=[
                _total("refused", current, previous, link),
                _total("reoriented", current, previous, link),
                _total("withdrawn_before_opening", current, previous, link),
            ],
            breakdowns=[
                _breakdown(
                    current.by_refusal_reason,
                    "refusal_reason",
                    _("Part des demandes refusées"),
                    link,
                    _("Motifs de refus"),
                )
            ],
        ),
        Section(
            "stopped",
            _("Médiations engagées et interrompues"),
            lines=[
                _total("opened", current, previous, link),
                _total(STOPPED, current, previous, link),
                _total("pending", current, previous, link),
            ],
            breakdowns=[
                _breakdown(
                    current.by_stop_reason,
                    "stop_reason",
                    _("Part des médiations interrompues"),
                    link,
                    _("Motifs d'interruption"),
                )
            ],
        ),
        Section(
            "ended",
            _("Issue des médiations et durée"),
            lines=[_total("ended", current, previous, link)],
            breakdowns=[
                _breakdown(
                    current.by_outcome, "outcome", _("Part des médiations terminées"), link, _("Issue des médiations")
                )
            ],
            durations=[
                _duration(_("Depuis la saisine (notification aux parties)"), current.from_opening, link),
                _duration(_("Depuis la réception de la demande"), current.from_receipt, link),
            ],
        ),
        Section(
            "followed",
            _("Solutions proposées et suivies"),
            lines=[
                _total("proposals_answered", current, previous, link),
                _total("proposals_accepted", current, previous, link),
                _total("solutions", current, previous, link),
                _total("execution_known", current, previous, link),
                _total("followed", current, previous, link),
            ],
        ),
        Section(
            "cooperation", _("Coopération avec les réseaux de médiateurs"), text=report.cooperation if report else ""
        ),
        Section("training", _("Formation des médiateurs"), text=report.training if report else ""),
    ]


# --- The pages ------------------------------------------------------------------------------------------------


def _state(report: AnnualReport | None) -> str:
    if report is None:
        return _("Pas commencé")
    if report.status == AnnualReport.Status.PUBLISHED and report.published_at:
        date = formats.date_format(timezone.localtime(report.published_at), "DATE_FORMAT")
        return _("Publié le %(date)s") % {"date": date}
    return str(AnnualReport.Status(report.status).label)


@require_perm(Perm.REPORTS_VIEW)
def report_list(request: HttpRequest) -> HttpResponse:
    years = selectors.year_range()
    wanted = request.GET.get("annee")
    error = ""
    if wanted is not None:
        if wanted.strip().isdigit() and int(wanted) in years:
            return redirect("reports:year", int(wanted))
        error = _("Indiquez une année entre %(first)s et %(last)s.") % {"first": years[0], "last": years[-1]}
    entries = [(entry, _state(entry.report)) for entry in selectors.report_years()]
    context = {"entries": entries, "first_year": years[0], "last_year": years[-1], "error": error, "wanted": wanted}
    return render(request, "reports/list.html", context, status=400 if error else 200)


def _period_text(period: Period) -> str:
    return _("du %(start)s au %(end)s") % {
        "start": formats.date_format(period.start, "DATE_FORMAT"),
        "end": formats.date_format(period.end, "DATE_FORMAT"),
    }


def _public_url(year: int) -> str:
    return firm_site_url() + reverse("site:report_file", args=[year])


@require_perm(Perm.REPORTS_VIEW)
def year_detail(request: HttpRequest, year: int) -> HttpResponse:
    _check_year(year)
    report = selectors.report_of(year)
    period = selectors.period_of(year, report)
    current = report_figures.compute(period)
    previous = report_figures.compute(period.previous())
    link = _linker(year, user_has_perm(request.user, Perm.CASES_VIEW))
    published = report is not None and report.status == AnnualReport.Status.PUBLISHED
    context = {
        "year": year,
        "report": report,
        "state": _state(report),
        "period": _period_text(period),
        "previous_period": _period_text(period.previous()),
        "sections": build_sections(report, current, previous, link),
        "can_edit": user_has_perm(request.user, Perm.REPORTS_EDIT),
        "public_url": _public_url(year) if published else "",
    }
    return render(request, "reports/year.html", context)


@dataclass(frozen=True)
class CaseLine:
    reference: str
    url: str
    received: str
    status: str
    subject: str
    business: str
    closed: str


def _date(value: Any) -> str:
    return formats.date_format(timezone.localtime(value), "SHORT_DATE_FORMAT") if value else ""


@require_perm(Perm.CASES_VIEW)
def traced_cases(request: HttpRequest, year: int, scope: str) -> HttpResponse:
    _check_year(year)
    value = request.GET.get("value")
    if scope in selectors.TOTAL_LABELS:
        label = str(selectors.TOTAL_LABELS[scope])
        value = None
    elif scope in selectors.BREAKDOWN_LABELS:
        row_label = selectors.value_label(scope, value or "")
        if row_label is None:
            raise Http404
        label = f"{selectors.BREAKDOWN_LABELS[scope]} : {row_label}"
    else:
        raise Http404
    period = selectors.period_of(year, selectors.report_of(year))
    page = Paginator(report_figures.traced_cases(scope, period, value), PAGE_SIZE).get_page(request.GET.get("page"))
    statuses, subjects = dict(Status.choices), dict(Subject.choices)
    detail = reverse("cases:detail", args=["REFERENCE"])
    lines = [
        CaseLine(
            reference=str(case),
            url=detail.replace("REFERENCE", case.reference) if case.reference else "",
            received=_date(case.received_at),
            status=str(statuses.get(case.status, case.status)),
            subject=str(subjects.get(case.subject, "—")),
            business=(case.member.legal_name if case.member else case.business_name) or "—",
            closed=_date(case.closed_at),
        )
        for case in page.object_list
    ]
    context = {
        "year": year,
        "label": label,
        "period": _period_text(period),
        "page": page,
        "lines": lines,
        "query": urlencode({"value": value}) if value is not None else "",
    }
    return render(request, "reports/cases.html", context)


@require_perm(Perm.REPORTS_EDIT)
def report_edit(request: HttpRequest, year: int) -> HttpResponse:
    _check_year(year)
    report = selectors.report_of(year)
    start, end = AnnualReport.default_period(year)
    initial = ReportForm.initial_for(report) if report else {"period_start": start, "period_end": end}
    form = ReportForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        user = _acting_user(request)
        try:
            # One transaction: a refused change does not leave a new, empty report behind.
            with transaction.atomic():
                saved = services.ensure_report(by=user, year=year)
                services.update_report(by=user, report=saved, **form.cleaned_data)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Le rapport %(year)s est enregistré.") % {"year": year})
            return redirect("reports:year", year)
    return render(request, "reports/edit.html", {"year": year, "form": form}, status=400 if form.errors else 200)


def _documents_input(year: int) -> tuple[AnnualReport, Figures, Figures]:
    """The report (unsaved, with the calendar year, while nobody has written it) and its two periods' figures."""
    report = selectors.report_of(year)
    if report is None:
        start, end = AnnualReport.default_period(year)
        report = AnnualReport(year=year, period_start=start, period_end=end)
    period = selectors.period_of(year, report)
    return report, report_figures.compute(period), report_figures.compute(period.previous())


def _attachment(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_perm(Perm.REPORTS_VIEW)
def report_pdf(request: HttpRequest, year: int) -> HttpResponse:
    _check_year(year)
    report, current, previous = _documents_input(year)
    return _attachment(
        documents.report_pdf(report, current, previous), "application/pdf", documents.filename(report, "pdf")
    )


@require_perm(Perm.REPORTS_VIEW)
def report_xlsx(request: HttpRequest, year: int) -> HttpResponse:
    _check_year(year)
    report, current, previous = _documents_input(year)
    return _attachment(documents.report_xlsx(report, current, previous), XLSX_TYPE, documents.filename(report, "xlsx"))


@require_perm(Perm.REPORTS_EDIT)
def report_publish(request: HttpRequest, year: int) -> HttpResponse:
    """GET: what publishing does (and that it replaces an earlier PDF); POST: renders the PDF and publishes it."""
    _check_year(year)
    if request.method != "POST":
        replaces = site_selectors.published_report(year=year) is not None
        return render(request, "reports/publish.html", {"year": year, "replaces": replaces})
    user = _acting_user(request)
    try:
        report = services.ensure_report(by=user, year=year)
        period = selectors.period_of(year, report)
        pdf = documents.report_pdf(report, report_figures.compute(period), report_figures.compute(period.previous()))
        services.publish(by=user, report=report, pdf=pdf)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Le rapport %(year)s est publié sur le site : %(url)s") % {"year": year, "url": _public_url(year)},
        )
    return redirect("reports:year", year)
