"""The invoice's payment page, reached from the link in the invoice e-mail (/factures/payer/<token>/).

No login: the token is the secret (only its hash is stored, `billing.services.
invoice_by_token`). An unknown token, a draft or a credit note is a 404. The
member pays what is left by card or SEPA Direct Debit through Stripe Checkout
when the firm takes online payments, else the page gives the bank-transfer
details. Payments are recorded by the Stripe webhook; the return page asks
Stripe at once so that a card payment shows as paid without waiting.
"""

from __future__ import annotations

from typing import Any, cast

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from billing import payments, services
from billing.errors import BillingError
from billing.models import Invoice

TEMPLATES = "public_site/invoices/"


def _invoice(token: str) -> Invoice:
    invoice = services.invoice_by_token(token)
    if invoice is None or invoice.is_draft or invoice.is_credit_note:
        raise Http404
    return invoice


def _no_store(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex"
    return response


def _context(invoice: Invoice, token: str, **extra: Any) -> dict[str, Any]:
    status = payments.connect_status()
    return {
        "invoice": invoice,
        "token": token,
        "today": timezone.localdate(),
        "can_pay_online": payments.payable_online(invoice, status),
        "seller": invoice.seller or {},
        **extra,
    }


@never_cache
@require_http_methods(["GET", "POST"])
def pay(request: HttpRequest, token: str) -> HttpResponse:
    invoice = _invoice(token)
    error = ""
    if request.method == "POST":
        page = request.build_absolute_uri(reverse("invoice-pay:page", args=[token]))
        try:
            url = payments.start_checkout(
                invoice=invoice,
                method=request.POST.get("method", ""),
                # Stripe puts the session's id in place of {CHECKOUT_SESSION_ID}.
                success_url=f"{page}merci/?session_id={{CHECKOUT_SESSION_ID}}",
                cancel_url=f"{page}abandon/",
            )
        except BillingError as exc:
            error = exc.message
            invoice.refresh_from_db()
        else:
            return redirect(url)
    response = render(
        request, TEMPLATES + "pay.html", _context(invoice, token, error=error), status=400 if error else 200
    )
    return _no_store(response)


@never_cache
def paid(request: HttpRequest, token: str) -> HttpResponse:
    """Stripe's success_url: the payment is being confirmed (a SEPA debit takes days), or already recorded."""
    invoice = _invoice(token)
    row = payments.confirm_return(invoice=invoice, session_id=request.GET.get("session_id", ""))
    invoice.refresh_from_db()
    context = _context(invoice, token, session=row, processing=bool(row and row.status == "processing"))
    return _no_store(render(request, TEMPLATES + "paid.html", context))


@never_cache
def cancelled(request: HttpRequest, token: str) -> HttpResponse:
    """Stripe's cancel_url: nothing was taken."""
    invoice = _invoice(token)
    return _no_store(render(request, TEMPLATES + "cancelled.html", _context(invoice, token)))


@never_cache
def pdf(request: HttpRequest, token: str) -> HttpResponse:
    invoice = _invoice(token)
    return invoice_pdf_response(invoice)


def invoice_pdf_response(invoice: Invoice) -> HttpResponse:
    """The invoice's PDF (with its Factur-X XML) as stored when it was issued; shared with the member portal."""
    invoice = services.with_pdf(invoice)
    if not invoice.pdf:
        raise Http404
    try:
        handle = invoice.pdf.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    response = FileResponse(
        handle, as_attachment=True, filename=f"{invoice.number}.pdf", content_type="application/pdf"
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return cast(HttpResponse, response)
