"""/api/v1/exports/: the staff's downloads as API files (finance: billing.export; members: members.view).

Each export takes the same parameters as its staff download and builds the
same file (billing.exports, billing.fec, mediation.members.exports): CSV for
French Excel (UTF-8 with a BOM, `;`), XLSX, or the FEC text file. Every
export is synchronous and streamed (no export job exists in the staff area
either): rows are read with a server-side cursor, so a long export costs
memory of one batch. A refused parameter is a 400 `invalid_filter` with the
field's message, never a half-written file; errors are JSON whatever the
client accepts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import FileResponse, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.api.views import ErrorSerializer
from accounts.permissions import HasPerm, Perm
from billing import exports, fec
from billing.export_views import export_filename, send_sheets
from billing.forms_exports import AgedForm, FecForm, InvoiceExportForm, PaymentExportForm
from billing.models import Invoice, Payment
from billing.services import billing_settings
from core.api import InvalidFilter
from firm.selectors import firm_profile
from mediation.members import exports as member_exports
from mediation.members import selectors as member_selectors
from mediation.members.api.views import FILTER_PARAMETERS as MEMBER_FILTER_PARAMETERS
from mediation.members.forms import MemberFilterForm

CSV, XLSX, TXT = "csv", "xlsx", "txt"
MEDIA_TYPES = {CSV: "text/csv", XLSX: exports.XLSX_TYPE, TXT: "text/plain"}


class FileNegotiation(BaseContentNegotiation):
    """An export has one representation, its file: the `Accept` header is not held against the client.

    Errors (and the schema) stay JSON; a client that asks for `text/csv`,
    `*/*` or anything else gets the file, never a 406.
    """

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: Any, format_suffix: str | None = None) -> Any:
        return renderers[0], renderers[0].media_type


ERRORS: dict[int, Any] = {
    400: OpenApiResponse(ErrorSerializer, description="A refused parameter (`code` invalid_filter)."),
    401: OpenApiResponse(ErrorSerializer, description="Not authenticated (`code` not_authenticated)."),
    403: OpenApiResponse(
        ErrorSerializer, description="The role, or the token's scopes, do not allow it (`code` permission_denied)."
    ),
    409: OpenApiResponse(
        ErrorSerializer, description="The firm's SIREN is not set (`code` siren_missing): it names the FEC file."
    ),
}


class SirenMissing(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "siren_missing"


def _valid(form: forms.Form) -> forms.Form:
    if not form.is_valid():
        raise InvalidFilter({name: [str(error) for error in errors] for name, errors in form.errors.items()})
    return form


# --- What each export does ----------------------------------------------------------------------------------

Build = Callable[[Request, str], HttpResponseBase]


def _documents(kind: str, stem: str) -> Build:
    def build(request: Request, fmt: str) -> HttpResponseBase:
        form = _valid(InvoiceExportForm(request.query_params))
        assert isinstance(form, InvoiceExportForm)
        period = form.period()
        return send_sheets([exports.invoices_sheet(period, kind=kind)], fmt, export_filename(stem, period, fmt))

    return build


def _payments(request: Request, fmt: str) -> HttpResponseBase:
    form = _valid(PaymentExportForm(request.query_params))
    assert isinstance(form, PaymentExportForm)
    period = form.period()
    return send_sheets([exports.payments_sheet(period)], fmt, export_filename("paiements", period, fmt))


def _aged(request: Request, fmt: str) -> HttpResponseBase:
    form = _valid(AgedForm(request.query_params))
    at = form.cleaned_data["at"]
    sheets = exports.aged_sheets(at)
    if fmt == CSV and form.cleaned_data.get("detail") == "invoice":
        sheets = sheets[1:]
    return send_sheets(sheets, fmt, f"balance-agee-{at.isoformat()}.{fmt}")


def _fec(request: Request, fmt: str) -> HttpResponseBase:
    form = _valid(FecForm(request.query_params))
    siren = firm_profile().siren
    if not siren:
        raise SirenMissing(
            _("Renseignez le SIREN du cabinet (paramètres du cabinet) : il donne son nom au fichier FEC.")
        )
    start, end, encoding = form.cleaned_data["start"], form.cleaned_data["end"], form.cleaned_data["encoding"]
    response = StreamingHttpResponse(
        fec.chunks(config=billing_settings(), start=start, end=end, encoding=encoding),
        content_type=f"text/plain; charset={encoding}",
    )
    response["Content-Disposition"] = f'attachment; filename="{fec.filename(siren, end)}"'
    return response


def _members(request: Request, fmt: str) -> HttpResponseBase:
    params = request.query_params.copy()
    params["q"] = params.get("search", "")
    form = _valid(MemberFilterForm(params))
    assert isinstance(form, MemberFilterForm)
    queryset = member_selectors.members(form.filters())
    filename = f"adherents-{timezone.localdate().isoformat()}.{fmt}"
    if fmt == CSV:
        response = StreamingHttpResponse(member_exports.csv_chunks(queryset), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    return FileResponse(
        member_exports.xlsx_file(queryset), as_attachment=True, filename=filename, content_type=exports.XLSX_TYPE
    )


# --- Parameters (as the staff forms read them) ---------------------------------------------------------------

PERIOD_PARAMETERS = [
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="First day (inclusive); open when left out."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Last day (inclusive), not before date_from."),
]
DOCUMENT_STATUSES = [value for value, _label in InvoiceExportForm.STATUS_CHOICES if value]
DOCUMENT_PARAMETERS = [
    *PERIOD_PARAMETERS,
    OpenApiParameter(
        "status", OpenApiTypes.STR, enum=DOCUMENT_STATUSES, description="Only this status (overdue: past due, unpaid)."
    ),
]
PAYMENT_PARAMETERS = [
    *PERIOD_PARAMETERS,
    OpenApiParameter("method", OpenApiTypes.STR, enum=Payment.Method.values, description="Only this payment method."),
]
AGED_PARAMETERS = [
    OpenApiParameter(
        "at", OpenApiTypes.DATE, description="The day of the situation (default today; not in the future)."
    ),
    OpenApiParameter(
        "detail",
        OpenApiTypes.STR,
        enum=[value for value, _label in AgedForm.DETAIL_CHOICES],
        description="CSV only: one line per member (default) or per invoice; the XLSX has both sheets.",
    ),
]
FEC_PARAMETERS = [
    OpenApiParameter("start", OpenApiTypes.DATE, required=True, description="First day of the financial year."),
    OpenApiParameter(
        "end", OpenApiTypes.DATE, required=True, description="Closing day of the financial year (24 months at most)."
    ),
    OpenApiParameter(
        "encoding", OpenApiTypes.STR, enum=list(fec.ENCODINGS), description="utf-8 (default) or iso-8859-15."
    ),
]


@dataclass(frozen=True)
class ExportSpec:
    perm: Perm
    build: Build
    parameters: list[OpenApiParameter]
    description: str
    formats: tuple[str, ...] = (CSV, XLSX)
    conflicts: tuple[int, ...] = ()


EXPORTS: dict[str, ExportSpec] = {
    "invoices": ExportSpec(
        Perm.BILLING_EXPORT,
        _documents(Invoice.Kind.INVOICE, "factures"),
        DOCUMENT_PARAMETERS,
        "Issued invoices of a period (by issue date), with their amounts, payments and balance.",
    ),
    "credit-notes": ExportSpec(
        Perm.BILLING_EXPORT,
        _documents(Invoice.Kind.CREDIT_NOTE, "avoirs"),
        DOCUMENT_PARAMETERS,
        "Issued credit notes of a period (by issue date).",
    ),
    "payments": ExportSpec(
        Perm.BILLING_EXPORT,
        _payments,
        PAYMENT_PARAMETERS,
        "Payments received in a period (by date of receipt).",
    ),
    "aged-receivables": ExportSpec(
        Perm.BILLING_EXPORT,
        _aged,
        AGED_PARAMETERS,
        "Aged receivables at a date, from what was known then (payments and credit notes up to that day).",
    ),
    "fec": ExportSpec(
        Perm.BILLING_EXPORT,
        _fec,
        FEC_PARAMETERS,
        "The FEC (fichier des écritures comptables) of a financial year: `<SIREN>FEC<YYYYMMDD>.txt`, "
        "tab-separated, in the encoding asked.",
        formats=(TXT,),
        conflicts=(409,),
    ),
    "members": ExportSpec(
        Perm.MEMBERS_VIEW,
        _members,
        MEMBER_FILTER_PARAMETERS,
        "The member list with the filters of GET /api/v1/members/ (members.view).",
    ),
}


def _export_view(name: str, fmt: str) -> type[APIView]:
    spec = EXPORTS[name]
    media_type = MEDIA_TYPES[fmt]

    class ExportView(APIView):
        renderer_classes = [JSONRenderer]
        content_negotiation_class = FileNegotiation

        def get_permissions(self) -> list[BasePermission]:
            return [IsAuthenticated(), HasPerm(spec.perm)()]

        @extend_schema(
            parameters=spec.parameters,
            responses={
                (200, media_type): OpenApiResponse(OpenApiTypes.BINARY, description="The file, as an attachment."),
                **{(code, "application/json"): ERRORS[code] for code in (400, 401, 403, *spec.conflicts)},
            },
            operation_id=f"exports_{name.replace('-', '_')}_{fmt}",
            description=f"{spec.description} Needs {spec.perm.value}.",
        )
        def get(self, request: Request) -> HttpResponseBase:
            return spec.build(request, fmt)

    class_name = "".join(part.title() for part in name.split("-")) + fmt.title() + "ExportView"
    ExportView.__name__ = ExportView.__qualname__ = class_name
    return ExportView


EXPORT_VIEWS: dict[str, type[APIView]] = {
    f"{name}.{fmt}": _export_view(name, fmt) for name, spec in EXPORTS.items() for fmt in spec.formats
}
