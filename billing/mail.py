"""The e-mail that carries an issued invoice or credit note, in the firm's language, with its PDF."""

from __future__ import annotations

from typing import Any

from django.core.mail import EmailMessage
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing.models import Invoice
from core.links import firm_site_url
from core.money import format_euros
from firm.selectors import email_identity, firm_profile


def pay_link(token: str) -> str:
    return f"{firm_site_url()}/factures/payer/{token}/"


def send_invoice_email(invoice: Invoice, token: str = "", *, connection: Any = None) -> bool:
    """Sends `invoice` to the buyer's billing addresses frozen at issue; False when there is none."""
    recipients = [email for email in (invoice.buyer or {}).get("emails", []) if email]
    if not recipients or not invoice.pdf:
        return False
    with translation.override(firm_profile().default_language or "fr"):
        if invoice.is_credit_note:
            subject = _("Avoir %(number)s") % {"number": invoice.number}
            body = _(
                "Bonjour,\n\nVous trouverez ci-joint l'avoir %(number)s d'un montant de %(amount)s, "
                "qui corrige la facture %(invoice)s.\n"
            ) % {
                "number": invoice.number,
                "amount": format_euros(invoice.gross_cents),
                "invoice": invoice.credited_invoice.number if invoice.credited_invoice else "",
            }
        else:
            subject = _("Facture %(number)s") % {"number": invoice.number}
            body = _(
                "Bonjour,\n\nVous trouverez ci-joint la facture %(number)s d'un montant de %(amount)s TTC, "
                "à régler avant le %(due)s.\n"
            ) % {
                "number": invoice.number,
                "amount": format_euros(invoice.gross_cents),
                "due": invoice.due_date.strftime("%d/%m/%Y") if invoice.due_date else "",
            }
            if token:
                body += _("\nPour la régler en ligne par carte ou prélèvement SEPA :\n%(link)s\n") % {
                    "link": pay_link(token)
                }
            iban = (invoice.seller or {}).get("iban")
            if iban:
                body += _("\nPar virement : IBAN %(iban)s, en indiquant la référence %(number)s.\n") % {
                    "iban": iban,
                    "number": invoice.number,
                }
    from_email, reply_to = email_identity()
    message = EmailMessage(subject, body, from_email, recipients, reply_to=reply_to, connection=connection)
    invoice.pdf.open("rb")
    try:
        message.attach(f"{invoice.number}.pdf", invoice.pdf.read(), "application/pdf")
    finally:
        invoice.pdf.close()
    message.send()
    Invoice.objects.filter(pk=invoice.pk).update(sent_at=timezone.now())
    return True
