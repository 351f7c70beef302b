"""/api/v1/reports/: the annual activity reports (one per year) and the R614-2 figures of any period.

reports.view reads; nothing here writes (the texts and the publication stay on the staff pages).
Every figure comes from `mediation.reports.figures.compute()`: three queries whatever the volume.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.views import ErrorSerializer
from accounts.permissions import HasPerm, Perm
from core.api import InvalidFilter
from core.links import firm_site_url
from mediation.reports import figures as report_figures
from mediation.reports import selectors
from mediation.reports.api import serializers as s
from mediation.reports.figures import Period
from mediation.reports.models import AnnualReport
from mediation.reports.services import FIRST_YEAR

ERRORS: dict[int, Any] = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid parameters (`code` invalid_filter)."),
    401: OpenApiResponse(ErrorSerializer, description="Not authenticated (`code` not_authenticated)."),
    403: OpenApiResponse(
        ErrorSerializer, description="The role, or the token's scopes, do not allow it (`code` permission_denied)."
    ),
    404: OpenApiResponse(ErrorSerializer, description="A year before 2016 or after this one."),
}


def _errors(*codes: int) -> dict[int, Any]:
    return {code: ERRORS[code] for code in sorted({401, 403, *codes})}


class ReportsAPIView(APIView):
    def get_permissions(self) -> list[BasePermission]:
        return [IsAuthenticated(), HasPerm(Perm.REPORTS_VIEW)()]


def _summary(year: int, report: AnnualReport | None, site: str) -> dict[str, Any]:
    period = selectors.period_of(year, report)
    published = report is not None and report.status == AnnualReport.Status.PUBLISHED
    data: dict[str, Any] = {
        "year": year,
        "status": report.status if report is not None else s.NOT_STARTED,
        "period": {"start": period.start, "end": period.end},
        "published_at": report.published_at if report is not None else None,
        "public_url": site + reverse("site:report_file", args=[year]) if published else None,
    }
    return data


class ReportListView(ReportsAPIView):
    @extend_schema(
        responses={200: s.ReportSummarySerializer(many=True), **_errors()},
        operation_id="reports_list",
        description=(
            "The years that received requests or have a report, latest first (one entry a year since 2016: "
            "a short list, not paginated)."
        ),
    )
    def get(self, request: Request) -> Response:
        site = firm_site_url()
        entries = [_summary(entry.year, entry.report, site) for entry in selectors.report_years()]
        return Response(s.ReportSummarySerializer(entries, many=True).data)


class ReportDetailView(ReportsAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "year", {"type": "integer", "minimum": 0}, OpenApiParameter.PATH, description="2016 to this year."
            )
        ],
        responses={200: s.ReportSerializer, **_errors(404)},
        operation_id="reports_retrieve",
        description="The report of a year (status not_started and empty texts while nobody has written it).",
    )
    def get(self, request: Request, year: int) -> Response:
        if year not in selectors.year_range():
            raise Http404
        report = selectors.report_of(year)
        data = _summary(year, report, firm_site_url())
        for name in ("recurring_problems", "cooperation", "training"):
            data[name] = getattr(report, name) if report is not None else ""
        data["updated_at"] = report.updated_at if report is not None else None
        return Response(s.ReportSerializer(data).data)


# --- Figures -----------------------------------------------------------------------------------------------


DATE_FORMATS = ["%Y-%m-%d"]
YES_NO = [("true", _("oui")), ("false", _("non"))]


class FiguresQueryForm(forms.Form):
    """`year`, or `from` and `to` (inclusive, within 2016 – 31 December of this year), or neither (this year).

    `compare` adds the previous period.
    """

    year = forms.IntegerField(required=False)
    compare = forms.ChoiceField(choices=YES_NO, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # `from` is a Python keyword: the two date fields are added by name.
        self.fields["from"] = forms.DateField(required=False, input_formats=DATE_FORMATS)
        self.fields["to"] = forms.DateField(required=False, input_formats=DATE_FORMATS)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        year, start, end = data.get("year"), data.get("from"), data.get("to")
        first_day = datetime.date(FIRST_YEAR, 1, 1)
        last_day = datetime.date(timezone.localdate().year, 12, 31)
        if year is not None:
            if start or end:
                raise forms.ValidationError(_("Indiquez soit une année, soit une période (from et to), pas les deux."))
            if not FIRST_YEAR <= year <= last_day.year:
                self.add_error(
                    "year", _("Année entre %(first)s et %(last)s.") % {"first": FIRST_YEAR, "last": last_day.year}
                )
            return data
        if not start and not end:
            data["year"] = timezone.localdate().year  # neither: this year so far
            return data
        if not start or not end:
            raise forms.ValidationError(_("Indiquez les deux bornes de la période (from et to)."))
        if end < start:
            self.add_error("to", _("La fin de la période précède son début."))
        elif start < first_day or end > last_day:
            self.add_error(
                "to" if end > last_day else "from",
                _("La période doit être comprise entre le %(first)s et le %(last)s.")
                % {"first": first_day.isoformat(), "last": last_day.isoformat()},
            )
        return data

    def period(self) -> Period:
        year = self.cleaned_data.get("year")
        if year is not None:
            return selectors.period_of(year, selectors.report_of(year))
        return Period(self.cleaned_data["from"], self.cleaned_data["to"])


def _figures(figures: report_figures.Figures) -> dict[str, Any]:
    return dict(s.FiguresSerializer(figures).data)


class FiguresView(ReportsAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "year",
                OpenApiTypes.INT,
                description="A report's year: its period (the calendar year unless the report says otherwise).",
            ),
            OpenApiParameter("from", OpenApiTypes.DATE, description="First day of the period (with `to`)."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last day of the period, inclusive (with `from`)."),
            OpenApiParameter(
                "compare",
                OpenApiTypes.STR,
                enum=["true", "false"],
                description="true: also the figures of the period just before, under `previous`.",
            ),
        ],
        responses={200: s.FiguresResponseSerializer, **_errors(400)},
        operation_id="reports_figures",
        description=(
            "The R614-2 figures of a period: either `year` or both `from` and `to` (between 1 January 2016 "
            "and 31 December of this year); neither: this year. Requests are counted by their receipt, "
            "ended mediations by their end; each breakdown row's `scope` and `value` name the cases it counts."
        ),
    )
    def get(self, request: Request) -> Response:
        form = FiguresQueryForm(request.query_params)
        if not form.is_valid():
            raise InvalidFilter({name: [str(error) for error in errors] for name, errors in form.errors.items()})
        period = form.period()
        data = _figures(report_figures.compute(period))
        if form.cleaned_data.get("compare") == "true":
            data["previous"] = _figures(report_figures.compute(period.previous()))
        return Response(data)
