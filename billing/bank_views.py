"""Bank statements (/staff/facturation/banque/): upload, review the proposed matches, record payments. billing.edit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.permissions import Perm, require_perm
from billing import bank_import
from billing.errors import BillingError
from billing.forms_exports import AssignForm, BankUploadForm
from billing.models import BankLine, BankStatement

S = BankLine.Status
STATEMENTS_SHOWN = 50
LINES_PER_PAGE = 200


def _acting_user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # require_perm let only staff users through
    return request.user


def _statements() -> QuerySet[BankStatement]:
    counts = {f"n_{status}": Count("lines", filter=Q(lines__status=status)) for status in S.values}
    return BankStatement.objects.select_related("uploaded_by").annotate(n_lines=Count("lines"), **counts)


def _get_statement(pk: int) -> BankStatement:
    statement = _statements().filter(pk=pk).first()
    if statement is None:
        raise Http404
    return statement


def _get_line(pk: int) -> BankLine:
    line = BankLine.objects.select_related("statement").filter(pk=pk).first()
    if line is None:
        raise Http404
    return line


@require_perm(Perm.BILLING_EDIT)
def index(request: HttpRequest) -> HttpResponse:
    form = BankUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = bank_import.import_statement(
                by=_acting_user(request), data=upload.read(bank_import.MAX_BYTES + 1), filename=upload.name or ""
            )
        except bank_import.BankFileError as exc:  # the form read it already; kept for a file changed meanwhile
            form.add_error("file", exc.errors)
        else:
            if result.statement is None:
                messages.info(
                    request,
                    ngettext(
                        "Rien de nouveau : le crédit de ce relevé est déjà importé.",
                        "Rien de nouveau : les %(n)s crédits de ce relevé sont déjà importés.",
                        result.credits,
                    )
                    % {"n": result.credits},
                )
                return redirect("billing-bank:index")
            messages.success(request, _summary(result))
            return redirect("billing-bank:statement", pk=result.statement.pk)
    status = 400 if form.is_bound and form.errors else 200
    context = {"form": form, "statements": _statements()[:STATEMENTS_SHOWN]}
    return render(request, "billing/bank/index.html", context, status=status)


def _summary(result: bank_import.ImportResult) -> str:
    parts = [
        ngettext("%(n)s crédit importé", "%(n)s crédits importés", result.credits - result.duplicates)
        % {"n": result.credits - result.duplicates},
        _("%(n)s rapprochés") % {"n": result.matched},
        _("%(n)s à vérifier") % {"n": result.to_check},
        _("%(n)s non rapprochés") % {"n": result.unmatched},
    ]
    if result.duplicates:
        parts.append(_("%(n)s déjà importés, ignorés") % {"n": result.duplicates})
    if result.debits:
        parts.append(_("%(n)s débits non repris") % {"n": result.debits})
    return " ; ".join(parts) + "."


@dataclass(frozen=True)
class _Row:
    line: BankLine
    reason: str
    can_record: bool
    can_ignore: bool
    can_restore: bool


def _rows(lines: list[BankLine]) -> list[_Row]:
    return [
        _Row(
            line=line,
            reason=bank_import.explain(line),
            can_record=line.status in (S.MATCHED, S.AMBIGUOUS, S.UNMATCHED),
            can_ignore=line.status != S.RECORDED and line.status != S.IGNORED,
            can_restore=line.status == S.IGNORED,
        )
        for line in lines
    ]


@require_perm(Perm.BILLING_EDIT)
@require_GET
def statement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    statement = _get_statement(pk)
    shown = request.GET.get("status", "")
    lines = statement.lines.select_related("invoice__member").order_by("row", "pk")
    if shown in S.values:
        lines = lines.filter(status=shown)
    else:
        shown = ""
    page = Paginator(lines, LINES_PER_PAGE).get_page(request.GET.get("page"))
    tabs = [("", _("Toutes"), statement.n_lines)] + [  # type: ignore[attr-defined]
        (value, label, getattr(statement, f"n_{value}")) for value, label in S.choices
    ]
    context: dict[str, Any] = {
        "statement": statement,
        "page": page,
        "rows": _rows(list(page.object_list)),
        "tabs": tabs,
        "shown": shown,
        "matched": statement.n_matched,  # type: ignore[attr-defined]
    }
    return render(request, "billing/bank/statement.html", context)


def _back(line: BankLine) -> HttpResponse:
    return redirect(reverse("billing-bank:statement", args=[line.statement_id]) + f"#line-{line.pk}")


@require_perm(Perm.BILLING_EDIT)
@require_POST
def confirm(request: HttpRequest, pk: int) -> HttpResponse:
    statement = _get_statement(pk)
    result = bank_import.confirm_matched(by=_acting_user(request), statement=statement)
    if result.recorded:
        messages.success(
            request,
            ngettext("%(n)s paiement enregistré.", "%(n)s paiements enregistrés.", len(result.recorded))
            % {"n": len(result.recorded)},
        )
    for line, message in result.errors:
        messages.error(request, _("Ligne %(row)s : %(message)s") % {"row": line.row, "message": message})
    if not result.recorded and not result.errors:
        messages.info(request, _("Aucune ligne rapprochée à enregistrer."))
    return redirect("billing-bank:statement", pk=statement.pk)


@require_perm(Perm.BILLING_EDIT)
@require_POST
def record(request: HttpRequest, pk: int) -> HttpResponse:
    line = _get_line(pk)
    form = AssignForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("number", []):
            messages.error(request, _("Ligne %(row)s : %(message)s") % {"row": line.row, "message": error})
        return _back(line)
    invoice = form.cleaned_data["number"]
    try:
        bank_import.record_line(by=_acting_user(request), line=line, invoice=invoice)
    except BillingError as exc:
        messages.error(request, _("Ligne %(row)s : %(message)s") % {"row": line.row, "message": exc.message})
    else:
        messages.success(
            request,
            _("Ligne %(row)s : paiement de la facture %(number)s enregistré.")
            % {"row": line.row, "number": invoice.number},
        )
    return _back(line)


@require_perm(Perm.BILLING_EDIT)
@require_POST
def ignore(request: HttpRequest, pk: int) -> HttpResponse:
    line = _get_line(pk)
    try:
        bank_import.ignore_line(by=_acting_user(request), line=line)
    except BillingError as exc:
        messages.error(request, _("Ligne %(row)s : %(message)s") % {"row": line.row, "message": exc.message})
    return _back(line)


@require_perm(Perm.BILLING_EDIT)
@require_POST
def restore(request: HttpRequest, pk: int) -> HttpResponse:
    line = _get_line(pk)
    try:
        bank_import.restore_line(by=_acting_user(request), line=line)
    except BillingError as exc:
        messages.error(request, _("Ligne %(row)s : %(message)s") % {"row": line.row, "message": exc.message})
    return _back(line)
