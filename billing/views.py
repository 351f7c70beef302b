"""Staff pages of billing (/staff/facturation/): billing.view reads, billing.edit writes.

Invoices and credit notes (list with figures and filters, detail, drafts, issue,
payments, credit notes, PDF), the catalogue and the billing settings.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import ProtectedError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.permissions import Perm, require_perm, user_has_perm
from billing import payments, selectors, services
from billing.errors import BillingError
from billing.forms import (
    BillingSettingsForm,
    CreditNoteForm,
    InvoiceFilterForm,
    InvoiceForm,
    LineFormSet,
    PaymentForm,
    PriceForm,
    ProductForm,
    line_initial,
)
from billing.models import Invoice, Product
from core.money import format_euros
from mediation.members.models import Member

PAGE_SIZE = 50
CHECKOUT_LABELS: dict[str, Any] = {
    payments.SessionStatus.OPEN: _lazy("Ouvert, en attente du paiement"),
    payments.SessionStatus.PROCESSING: _lazy("Prélèvement SEPA en cours"),
    payments.SessionStatus.PAID: _lazy("Payé"),
    payments.SessionStatus.FAILED: _lazy("Prélèvement refusé"),
    payments.SessionStatus.EXPIRED: _lazy("Expiré"),
}


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _invoice(pk: int) -> Invoice:
    invoice = selectors.invoice(pk=pk)
    if invoice is None:
        raise Http404
    return invoice


def _error(request: HttpRequest, exc: BillingError) -> None:
    messages.error(request, exc.message)


# --- Invoices --------------------------------------------------------------------------------------


@require_perm(Perm.BILLING_VIEW)
def invoice_list(request: HttpRequest) -> HttpResponse:
    form = InvoiceFilterForm(request.GET)
    form.is_valid()  # an invalid filter is ignored, the others still apply
    filters = form.filters()
    today = timezone.localdate()
    page = Paginator(selectors.invoices(filters, today=today), PAGE_SIZE).get_page(request.GET.get("page"))
    member = Member.objects.filter(pk=filters["member"]).first() if filters.get("member") else None
    params = request.GET.copy()
    params.pop("page", None)
    query = params.urlencode()
    return render(
        request,
        "billing/staff/invoice_list.html",
        {
            "form": form,
            "page": page,
            "query": query,
            "today": today,
            "figures": selectors.figures(today=today),
            "member": member,
            "can_edit": user_has_perm(request.user, Perm.BILLING_EDIT),
            "can_export": user_has_perm(request.user, Perm.BILLING_EXPORT),
        },
    )


def _lines(formset: Any, on: Any) -> list[dict[str, Any]] | None:
    """The formset's lines for the service, or None after adding the errors to the formset."""
    lines = []
    for form in formset.forms:
        try:
            line = form.line(on)
        except ValidationError as exc:  # the row names a product without a price and none is typed
            form.add_error("unit_price", exc)
            return None
        if line is not None:
            lines.append(line)
    if not lines:
        formset.forms[0].add_error("label", _("Une facture a au moins une ligne."))
        return None
    return lines


def _formset_data_rows(request: HttpRequest) -> int:
    """Rows to show: the posted rows, plus one empty row when "add a line" was pressed."""
    try:
        rows = int(request.POST.get("form-TOTAL_FORMS", 1))
    except ValueError:
        rows = 1
    return rows


@require_perm(Perm.BILLING_EDIT)
def invoice_create(request: HttpRequest) -> HttpResponse:
    return _edit_draft(request, None)


@require_perm(Perm.BILLING_EDIT)
def invoice_edit(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(pk)
    if not invoice.is_draft:
        messages.error(request, _("Une facture émise ne change plus : émettez un avoir."))
        return redirect("billing:detail", pk=invoice.pk)
    return _edit_draft(request, invoice)


def _edit_draft(request: HttpRequest, invoice: Invoice | None) -> HttpResponse:
    today = timezone.localdate()
    if request.method == "POST":
        form = InvoiceForm(request.POST)
        formset = LineFormSet(request.POST)
        if "add_line" in request.POST:
            data = request.POST.copy()
            data["form-TOTAL_FORMS"] = str(min(_formset_data_rows(request) + 1, 200))
            form, formset = InvoiceForm(data), LineFormSet(data)
            return _draft_page(request, invoice, form, formset, validate=False)
        if form.is_valid() and formset.is_valid():
            lines = _lines(formset, today)
            if lines is not None:
                fields = {
                    "lines": lines,
                    "period_start": form.cleaned_data.get("period_start"),
                    "period_end": form.cleaned_data.get("period_end"),
                    "notes": form.cleaned_data.get("notes", ""),
                }
                try:
                    if invoice is None:
                        invoice = services.create_draft(by=_user(request), member=form.cleaned_data["siren"], **fields)
                    else:
                        invoice = services.update_draft(by=_user(request), invoice=invoice, **fields)
                except BillingError as exc:
                    form.add_error(None, exc.message)
                else:
                    messages.success(request, _("Brouillon enregistré. Vérifiez-le, puis émettez la facture."))
                    return redirect("billing:detail", pk=invoice.pk)
        return _draft_page(request, invoice, form, formset)
    if invoice is None:
        member = (
            Member.objects.filter(pk=request.GET.get("member") or 0).first()
            if request.GET.get("member", "").isdigit()
            else None
        )
        form = InvoiceForm(initial={"siren": member.siren if member else ""})
        formset = LineFormSet(initial=[{"quantity": 1, "vat_rate": "20.00"}])
    else:
        form = InvoiceForm(
            initial={
                "siren": invoice.member.siren,
                "period_start": invoice.period_start,
                "period_end": invoice.period_end,
                "notes": invoice.notes,
            }
        )
        formset = LineFormSet(initial=line_initial(invoice))
    return _draft_page(request, invoice, form, formset)


def _draft_page(
    request: HttpRequest, invoice: Invoice | None, form: Any, formset: Any, *, validate: bool = True
) -> HttpResponse:
    if not validate:
        # Re-displayed after "add a line": keep what was typed, show no error yet.
        form._errors, formset._errors, formset._non_form_errors = {}, [], []
        for row in formset.forms:
            row._errors = {}
    return render(
        request,
        "billing/staff/invoice_form.html",
        {"invoice": invoice, "form": form, "formset": formset},
        status=400 if request.method == "POST" and validate else 200,
    )


@require_perm(Perm.BILLING_VIEW)
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(pk)
    lines = list(invoice.lines.select_related("product"))
    balance = invoice.balance_cents
    can_edit = user_has_perm(request.user, Perm.BILLING_EDIT)
    return render(
        request,
        "billing/staff/invoice_detail.html",
        {
            "invoice": invoice,
            "lines": lines,
            "totals": services.compute_totals(lines),
            "payments": selectors.payments_of(invoice),
            "credit_notes": invoice.credit_notes.order_by("issue_date", "sequence"),
            "dunning": invoice.dunning_notices.all(),
            "checkouts": [(c, CHECKOUT_LABELS.get(c.status, c.status)) for c in invoice.checkout_sessions.all()],
            "mandate": payments.active_mandate(invoice.member),
            "overdue": invoice.is_overdue(),
            "can_edit": can_edit,
            "payment_form": PaymentForm(initial={"amount": format_euros(balance).replace("\u00a0€", "")})
            if can_edit and balance > 0
            else None,
            "credit_form": CreditNoteForm() if can_edit and _creditable(invoice) else None,
        },
    )


def _creditable(invoice: Invoice) -> bool:
    return not invoice.is_draft and not invoice.is_credit_note and invoice.gross_cents > invoice.credited_cents


@require_POST
@require_perm(Perm.BILLING_EDIT)
def invoice_issue(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(pk)
    try:
        invoice = services.issue_invoice(by=_user(request), invoice=invoice, send="send" in request.POST)
    except BillingError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("Facture %(number)s émise.") % {"number": invoice.number})
    return redirect("billing:detail", pk=pk)


@require_POST
@require_perm(Perm.BILLING_EDIT)
def invoice_delete(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(pk)
    try:
        services.delete_draft(by=_user(request), invoice=invoice)
    except (BillingError, ProtectedError) as exc:
        messages.error(request, getattr(exc, "message", _("Ce brouillon ne peut pas être supprimé.")))
        return redirect("billing:detail", pk=pk)
    messages.success(request, _("Brouillon supprimé."))
    return redirect("billing:invoices")


@require_POST
@require_perm(Perm.BILLING_EDIT)
def invoice_send(request: HttpRequest, pk: int) -> HttpResponse:
    """Sends the invoice again, with a fresh payment link when something is left to pay."""
    from billing import tasks

    invoice = _invoice(pk)
    if invoice.is_draft:
        messages.error(request, _("Émettez la facture avant de l'envoyer."))
        return redirect("billing:detail", pk=pk)
    if not (invoice.buyer or {}).get("emails"):
        messages.error(request, _("L'adhérent n'avait aucune adresse de facturation à l'émission."))
        return redirect("billing:detail", pk=pk)
    token = ""
    if not invoice.is_credit_note and invoice.balance_cents > 0:
        token = services.new_payment_token(invoice=invoice)
    tasks.send_invoice.delay(invoice.pk, token)
    messages.success(request, _("Envoi de %(number)s programmé.") % {"number": invoice.number})
    return redirect("billing:detail", pk=pk)


@require_POST
@require_perm(Perm.BILLING_EDIT)
def payment_create(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(pk)
    form = PaymentForm(request.POST)
    if form.is_valid():
        try:
            services.record_payment(
                by=_user(request),
                invoice=invoice,
                amount_cents=form.cleaned_data["amount"],
                method=form.cleaned_data["method"],
                received_on=form.cleaned_data["received_on"],
                reference=form.cleaned_data["reference"],
            )
        except BillingError as exc:
            _error(request, exc)
        else:
            amount = format_euros(form.cleaned_data["amount"])
            messages.success(request, _("Paiement de %(amount)s enregistré.") % {"amount": amount})
            return redirect("billing:detail", pk=pk)
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
    return redirect("billing:detail", pk=pk)


@require_POST
@require_perm(Perm.BILLING_EDIT)
def credit_note_create(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(pk)
    form = CreditNoteForm(request.POST)
    if form.is_valid():
        try:
            note = services.create_credit_note(
                by=_user(request), invoice=invoice, reason=form.cleaned_data["reason"], lines=form.lines()
            )
        except BillingError as exc:
            _error(request, exc)
        else:
            messages.success(request, _("Avoir %(number)s émis.") % {"number": note.number})
            return redirect("billing:detail", pk=note.pk)
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
    return redirect("billing:detail", pk=pk)


@require_perm(Perm.BILLING_VIEW)
def invoice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = services.with_pdf(_invoice(pk))
    if not invoice.pdf:
        raise Http404
    response = FileResponse(
        invoice.pdf.open("rb"),
        as_attachment="download" in request.GET,
        filename=f"{invoice.number}.pdf",
        content_type="application/pdf",
    )
    return cast(HttpResponse, response)  # a streaming response; the decorator's type wants HttpResponse


# --- Catalogue ------------------------------------------------------------------------------------


@require_perm(Perm.BILLING_VIEW)
def catalogue(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    rows = []
    for product in selectors.products():
        prices = list(product.prices.all())
        current = [p for p in prices if p.valid_from <= today and (p.valid_until is None or p.valid_until >= today)]
        rows.append({"product": product, "prices": prices, "current": current})
    return render(
        request,
        "billing/staff/catalogue.html",
        {"rows": rows, "today": today, "can_edit": user_has_perm(request.user, Perm.BILLING_EDIT)},
    )


@require_perm(Perm.BILLING_EDIT)
def product_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    product = None
    if pk is not None:
        product = Product.objects.filter(pk=pk).first()
        if product is None:
            raise Http404
    form = ProductForm(request.POST or None, instance=product)
    if request.method == "POST" and form.is_valid():
        services.save_product(by=_user(request), product=form.save(commit=False))
        messages.success(request, _("Produit enregistré."))
        return redirect("billing:catalogue")
    return render(
        request,
        "billing/staff/product_form.html",
        {"form": form, "product": product},
        status=400 if request.method == "POST" else 200,
    )


@require_perm(Perm.BILLING_EDIT)
def price_add(request: HttpRequest, pk: int) -> HttpResponse:
    product = Product.objects.filter(pk=pk).first()
    if product is None:
        raise Http404
    form = PriceForm(request.POST or None, initial={"valid_from": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.add_price(
                by=_user(request),
                product=product,
                unit_price_cents=form.cleaned_data["price"],
                valid_from=form.cleaned_data["valid_from"],
                valid_until=form.cleaned_data.get("valid_until"),
                group=form.cleaned_data.get("group"),
            )
        except BillingError as exc:
            form.add_error(exc.field if exc.field in ("valid_until",) else None, exc.message)
        else:
            messages.success(request, _("Prix ajouté."))
            return redirect("billing:catalogue")
    return render(
        request,
        "billing/staff/price_form.html",
        {"form": form, "product": product},
        status=400 if request.method == "POST" else 200,
    )


# --- Settings -------------------------------------------------------------------------------------


@require_perm(Perm.BILLING_EDIT)
def settings_edit(request: HttpRequest) -> HttpResponse:
    config = services.billing_settings()
    form = BillingSettingsForm(request.POST or None, instance=config)
    if request.method == "POST" and form.is_valid():
        services.save_settings(by=_user(request), form=form)
        messages.success(request, _("Paramètres de facturation enregistrés."))
        return redirect(reverse("billing:settings"))
    return render(
        request,
        "billing/staff/settings_form.html",
        {
            "form": form,
            "terms_fields": BillingSettingsForm.TERMS_FIELDS,
            "dunning_fields": BillingSettingsForm.DUNNING_FIELDS,
            "accounting_fields": BillingSettingsForm.ACCOUNTING_FIELDS,
        },
        status=400 if request.method == "POST" else 200,
    )
