"""The `data` of each event: a small, stable representation (ids, reference, statuses, cents, dates).

Never the parties' names or contact details, a case's description or its
messages: a firm's CRM that needs more reads it from the API, with a token
whose scopes say what it may see.
"""

from __future__ import annotations

from typing import Any

from billing.models import Invoice
from mediation.cases.models import Case
from mediation.members.models import Member

CURRENCY = "EUR"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def case(case_id: int, *, before: str | None = None, after: str | None = None) -> dict[str, Any] | None:
    found = Case.objects.filter(pk=case_id).first()
    if found is None:
        return None
    data: dict[str, Any] = {
        "id": found.pk,
        "reference": found.reference,
        "status": found.status,
        "source": found.source,
        "member_id": found.member_id,
        "subject": found.subject,
        "amount_cents": found.amount_cents,
        "currency": CURRENCY,
        "received_at": _iso(found.received_at),
        "closed_at": _iso(found.closed_at),
    }
    if before is not None or after is not None:
        data["before"] = before
        data["after"] = after
    return data


def invoice(invoice_id: int) -> dict[str, Any] | None:
    found = Invoice.objects.filter(pk=invoice_id).first()
    if found is None:
        return None
    return {
        "id": found.pk,
        "number": found.number,
        "kind": found.kind,
        "status": found.status,
        "purpose": found.purpose,
        "member_id": found.member_id,
        "credited_invoice_id": found.credited_invoice_id,
        "issue_date": _iso(found.issue_date),
        "due_date": _iso(found.due_date),
        "currency": found.currency,
        "net_cents": found.net_cents,
        "vat_cents": found.vat_cents,
        "gross_cents": found.gross_cents,
        "paid_cents": found.paid_cents,
        "credited_cents": found.credited_cents,
        "paid_at": _iso(found.paid_at),
    }


def member(member_id: int, *, before: str, after: str) -> dict[str, Any] | None:
    found = Member.objects.filter(pk=member_id).first()
    if found is None:
        return None
    return {
        "member_id": found.pk,
        "siren": found.siren,
        "legal_name": found.legal_name,
        "status": found.status,
        "before": before,
        "after": after,
    }
