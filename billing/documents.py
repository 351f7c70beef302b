"""The invoice and credit-note PDF (first version: PDF/A-3b from the template; Factur-X comes next)."""

from __future__ import annotations

from billing.models import Invoice
from core.pdf import render_pdf


def render_invoice_pdf(invoice: Invoice) -> bytes:
    from billing.services import compute_totals

    lines = list(invoice.lines.all())
    return render_pdf("billing/pdf/invoice.html", {"invoice": invoice, "lines": lines, "totals": compute_totals(lines)})
