"""What billing tells other parts (outgoing webhooks, API), after commit."""

from django.dispatch import Signal

# invoice_id: an invoice or a credit note was issued
invoice_issued = Signal()
# invoice_id: an invoice is paid in full
invoice_paid = Signal()
