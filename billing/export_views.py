"""Finance exports (/staff/facturation/exports/): billing.export only.

Every export reads its filters from the query string; invalid filters show
the exports page again with the errors (400), never a half-written file.
"""

from __future__ import annotations

import datetime
from typing import Any, cast

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.permissions import Perm, require_perm
from billing import exports, fec
from billing.forms_exports import AgedForm, FecForm, InvoiceExportForm, PaymentExportForm
from billing.models import Invoice
from billing.services import billing_settings
from firm.selectors import firm_profile

AGED_MEMBERS_SHOWN = 200
CSV_TYPE = "text/csv; charset=utf-8"


def _forms(**bound: Any) -> dict[str, Any]:
    """The page's forms, each with its own ids (they share field names); `bound` replaces some with bound ones."""
    forms = {
        "invoice_form": InvoiceExportForm(auto_id="inv_%s"),
        "credit_form": InvoiceExportForm(auto_id="cn_%s"),
        "payment_form": PaymentExportForm(auto_id="pay_%s"),
        "aged_form": AgedForm(auto_id="aged_%s"),
        "fec_form": FecForm(auto_id="fec_%s"),
    }
    forms.update(bound)
    return forms


def _index(request: HttpRequest, status: int = 200, **bound: Any) -> HttpResponse:
    return render(request, "billing/exports/index.html", _forms(**bound), status=status)


@require_perm(Perm.BILLING_EXPORT)
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return _index(request)


def export_filename(stem: str, period: exports.Period, extension: str) -> str:
    if period.start or period.end:
        bounds = f"{period.start or 'debut'}-{period.end or timezone.localdate()}"
    else:
        bounds = timezone.localdate().isoformat()
    return f"{stem}-{bounds}.{extension}"


def send_sheets(sheets: list[exports.Sheet], fmt: str, filename: str) -> HttpResponse:
    if fmt == "csv":
        response = StreamingHttpResponse(exports.csv_chunks(sheets[0]), content_type=CSV_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return cast(HttpResponse, response)  # require_perm is typed for HttpResponse; Django serves both alike
    return cast(
        HttpResponse,
        FileResponse(exports.xlsx_file(sheets), as_attachment=True, filename=filename, content_type=exports.XLSX_TYPE),
    )


def _documents(request: HttpRequest, fmt: str, kind: str) -> HttpResponse:
    prefix = "inv" if kind == Invoice.Kind.INVOICE else "cn"
    form = InvoiceExportForm(request.GET, auto_id=f"{prefix}_%s")
    if not form.is_valid():
        return _index(request, 400, **{"invoice_form" if prefix == "inv" else "credit_form": form})
    period = form.period()
    stem = "factures" if kind == Invoice.Kind.INVOICE else "avoirs"
    return send_sheets([exports.invoices_sheet(period, kind=kind)], fmt, export_filename(stem, period, fmt))


@require_perm(Perm.BILLING_EXPORT)
@require_GET
def invoices_export(request: HttpRequest, fmt: str) -> HttpResponse:
    return _documents(request, fmt, Invoice.Kind.INVOICE)


@require_perm(Perm.BILLING_EXPORT)
@require_GET
def credit_notes_export(request: HttpRequest, fmt: str) -> HttpResponse:
    return _documents(request, fmt, Invoice.Kind.CREDIT_NOTE)


@require_perm(Perm.BILLING_EXPORT)
@require_GET
def payments_export(request: HttpRequest, fmt: str) -> HttpResponse:
    form = PaymentExportForm(request.GET, auto_id="pay_%s")
    if not form.is_valid():
        return _index(request, 400, payment_form=form)
    period = form.period()
    return send_sheets([exports.payments_sheet(period)], fmt, export_filename("paiements", period, fmt))


def _aged_form(request: HttpRequest) -> AgedForm:
    return AgedForm(request.GET or {"at": timezone.localdate().isoformat()}, auto_id="aged_%s")


@require_perm(Perm.BILLING_EXPORT)
@require_GET
def aged(request: HttpRequest) -> HttpResponse:
    """The aged receivables at a date, per member (the first ones), with the totals over all."""
    form = _aged_form(request)
    context: dict[str, Any] = {"form": form, "buckets": [label for _key, label in exports.BUCKETS]}
    if not form.is_valid():
        return render(request, "billing/exports/aged.html", context, status=400)
    at: datetime.date = form.cleaned_data["at"]
    members, totals = exports.aged_summary(at, keep=AGED_MEMBERS_SHOWN)
    context.update({"at": at, "members": members, "totals": totals, "truncated": totals.members > len(members)})
    return render(request, "billing/exports/aged.html", context)


@require_perm(Perm.BILLING_EXPORT)
@require_GET
def aged_export(request: HttpRequest, fmt: str) -> HttpResponse:
    form = _aged_form(request)
    if not form.is_valid():
        return _index(request, 400, aged_form=form)
    at: datetime.date = form.cleaned_data["at"]
    sheets = exports.aged_sheets(at)
    if fmt == "csv" and form.cleaned_data.get("detail") == "invoice":
        sheets = sheets[1:]
    return send_sheets(sheets, fmt, f"balance-agee-{at.isoformat()}.{fmt}")


@require_perm(Perm.BILLING_EXPORT)
@require_GET
def fec_export(request: HttpRequest) -> HttpResponse:
    """The FEC of a financial year, streamed as `<SIREN>FEC<YYYYMMDD>.txt`."""
    form = FecForm(request.GET, auto_id="fec_%s")
    if form.is_valid():
        siren = firm_profile().siren
        if not siren:
            form.add_error(
                None, _("Renseignez le SIREN du cabinet (paramètres du cabinet) : il donne son nom au fichier FEC.")
            )
    if not form.is_valid():
        return _index(request, 400, fec_form=form)
    start, end, encoding = form.cleaned_data["start"], form.cleaned_data["end"], form.cleaned_data["encoding"]
    response = StreamingHttpResponse(
        fec.chunks(config=billing_settings(), start=start, end=end, encoding=encoding),
        content_type=f"text/plain; charset={encoding}",
    )
    response["Content-Disposition"] = f'attachment; filename="{fec.filename(siren, end)}"'
    return cast(HttpResponse, response)
