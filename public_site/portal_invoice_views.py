"""The member portal's invoices (/espace-adherent/factures/): the business's invoices and credit notes.

Access is the portal's (`portal_page`): a member's user sees its own business's
invoices only; another business's invoice is a 404; the firm's staff are sent
to their own area. Unpaid invoices are paid through Stripe Checkout like from
the payment link of the e-mail.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing import payments
from billing.errors import BillingError
from billing.models import CheckoutSession, Invoice, SepaMandate
from mediation.members.models import Member
from mediation.members.portal_views import portal_page
from public_site.invoice_views import invoice_pdf_response


def _own_invoice(member: Member, pk: int) -> Invoice:
    invoice = Invoice.objects.filter(pk=pk, member=member).exclude(status=Invoice.Status.DRAFT).first()
    if invoice is None:
        raise Http404
    return invoice


@portal_page
def invoice_list(request: HttpRequest, member: Member) -> HttpResponse:
    outcome = request.GET.get("paiement")
    session_id = request.GET.get("session_id", "")
    if outcome == "merci":
        row = CheckoutSession.objects.filter(session_id=session_id[:80], invoice__member=member).first()
        if row is not None:
            row = payments.confirm_return(invoice=row.invoice, session_id=row.session_id)
        if row is not None and row.status == payments.SessionStatus.PAID:
            messages.success(request, _("Merci, votre paiement est enregistré."))
        else:
            messages.info(request, _("Merci, votre paiement est en cours de confirmation."))
    elif outcome == "abandon":
        messages.info(request, _("Paiement abandonné : rien n'a été débité."))
    status = payments.connect_status()
    invoices = (
        Invoice.objects.filter(member=member)
        .exclude(status=Invoice.Status.DRAFT)
        .select_related("credited_invoice")
        .order_by("-issue_date", "-sequence", "-pk")
    )
    listed = list(invoices)
    rows = [{"invoice": invoice, "payable": payments.payable_online(invoice, status)} for invoice in listed]
    context = {
        "member": member,
        "active": "invoices",
        "rows": rows,
        "today": timezone.localdate(),
        "due_cents": sum(invoice.balance_cents for invoice in listed),
        "mandate": SepaMandate.objects.filter(member=member).order_by("-created_at", "-pk").first(),
        "active_mandate": payments.active_mandate(member),
        "online": status.can_take_payments,
    }
    return render(request, "public_site/invoices/portal_list.html", context)


@portal_page
def invoice_pdf(request: HttpRequest, member: Member, pk: int) -> HttpResponse:
    return invoice_pdf_response(_own_invoice(member, pk))


@require_POST
@portal_page
def invoice_pay(request: HttpRequest, member: Member, pk: int) -> HttpResponse:
    invoice = _own_invoice(member, pk)
    page = request.build_absolute_uri(reverse("portal-invoices:list"))
    try:
        url = payments.start_checkout(
            invoice=invoice,
            method=request.POST.get("method", ""),
            success_url=f"{page}?paiement=merci&session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=f"{page}?paiement=abandon",
        )
    except BillingError as exc:
        messages.error(request, exc.message)
        return redirect("portal-invoices:list")
    return redirect(url)
