"""/api/v1/invoices/{id}/payments/, /credit-notes/ and /api/v1/payments/: settling an invoice and correcting it."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from billing import services
from billing.models import Invoice, Payment
from core.models import AuditEntry
from tests.billing.api.helpers import PAYMENTS, call, invoice_url
from tests.billing.helpers import LINE, billable_member, issued_invoice

pytestmark = pytest.mark.usefixtures("media_root")


@pytest.fixture
def invoice(finance, member):
    return issued_invoice(by=finance, member=member)


# --- Payments --------------------------------------------------------------------------------------------


def test_payments_settle_the_invoice_step_by_step(finance, invoice, client_a):
    url = invoice_url(invoice.pk, "payments")
    yesterday = timezone.localdate() - datetime.timedelta(days=1)

    first = call(
        client_a,
        "post",
        url,
        {"amount_cents": 20_000, "method": "transfer", "received_on": yesterday.isoformat(), "reference": "VIR 42"},
    )
    second = call(client_a, "post", url, {"amount_cents": 16_000, "method": "cheque"})

    assert first.status_code == 201, first.content
    assert first.json()["amount_cents"] == 20_000
    assert first.json()["received_on"] == yesterday.isoformat()
    assert first.json()["invoice"]["status"] == "partly_paid"
    assert first.json()["invoice_balance_cents"] == 16_000
    assert first.json()["member"]["id"] == invoice.member_id
    assert second.status_code == 201
    assert second.json()["received_on"] == timezone.localdate().isoformat()
    assert second.json()["invoice"]["status"] == "paid"
    assert second.json()["invoice_balance_cents"] == 0
    listed = client_a.get(url).json()
    assert [(p["amount_cents"], p["method"]) for p in listed] == [(16_000, "cheque"), (20_000, "transfer")]
    assert AuditEntry.objects.filter(action="billing.payment_recorded", object_id=str(invoice.pk)).count() == 2


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"amount_cents": 36_001, "method": "transfer"}, 409, "overpayment", "amount_cents"),
        ({"amount_cents": 0, "method": "transfer"}, 400, "invalid_amount", "amount_cents"),
        ({"amount_cents": -5, "method": "transfer"}, 400, "invalid_amount", "amount_cents"),
        ({"amount_cents": 100, "method": "bitcoin"}, 400, "invalid", "method"),
        ({"amount_cents": "cent", "method": "transfer"}, 400, "invalid", "amount_cents"),
        ({"method": "transfer"}, 400, "invalid", "amount_cents"),
        ({"amount_cents": 100, "method": "transfer", "received_on": "2999-01-01"}, 400, "invalid_date", "received_on"),
    ],
)
def test_a_refused_payment_says_why_and_records_nothing(finance, invoice, client_a, body, status, code, field):
    response = call(client_a, "post", invoice_url(invoice.pk, "payments"), body)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert field in response.json()["detail"]
    assert not Payment.objects.exists()
    assert Invoice.objects.get(pk=invoice.pk).paid_cents == 0


def test_a_settled_invoice_takes_no_more_payment(finance, invoice, client_a):
    services.record_payment(by=finance, invoice=invoice, amount_cents=36_000, method="transfer")

    response = call(client_a, "post", invoice_url(invoice.pk, "payments"), {"amount_cents": 1, "method": "cheque"})

    assert response.status_code == 409
    assert response.json()["code"] == "already_paid"
    assert Payment.objects.count() == 1


def test_a_draft_or_a_credit_note_takes_no_payment(finance, invoice, member, client_a):
    draft = services.create_draft(by=finance, member=member, lines=[LINE])
    note = services.create_credit_note(by=finance, invoice=invoice, reason="Annulation")

    for target in (draft, note):
        response = call(client_a, "post", invoice_url(target.pk, "payments"), {"amount_cents": 1, "method": "cheque"})
        assert response.status_code == 409
        assert response.json()["code"] == "not_payable"
    assert not Payment.objects.exists()


def test_the_payments_list_filters_by_date_method_and_member(finance, member, client_a):
    today = timezone.localdate()
    last_month = today - datetime.timedelta(days=31)
    mine = issued_invoice(by=finance, member=member)
    theirs = issued_invoice(by=finance, member=billable_member())
    old = services.record_payment(
        by=finance, invoice=mine, amount_cents=1_000, method="transfer", received_on=last_month
    )
    cheque = services.record_payment(by=finance, invoice=mine, amount_cents=2_000, method="cheque")
    card = services.record_payment(by=finance, invoice=theirs, amount_cents=3_000, method="card")

    def ids(**params: object) -> list[int]:
        response = client_a.get(PAYMENTS, params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert set(ids()) == {old.pk, cheque.pk, card.pk}
    assert ids()[-1] == old.pk  # newest received first
    assert ids(ordering="amount_cents") == [old.pk, cheque.pk, card.pk]
    assert set(ids(method=["cheque", "card"])) == {cheque.pk, card.pk}
    assert set(ids(member=member.pk)) == {old.pk, cheque.pk}
    assert ids(invoice=theirs.pk) == [card.pk]
    assert ids(received_to=(today - datetime.timedelta(days=1)).isoformat()) == [old.pk]
    assert set(ids(received_from=today.isoformat())) == {cheque.pk, card.pk}
    row = client_a.get(PAYMENTS, {"method": "card"}).json()["results"][0]
    assert row["amount_cents"] == 3_000 and row["currency"] == "EUR" and row["invoice"]["number"] == theirs.number
    assert client_a.get(PAYMENTS, {"method": "troc"}).json()["code"] == "invalid_filter"
    assert client_a.get(PAYMENTS, {"received_from": "lundi"}).status_code == 400


@pytest.mark.parametrize("ordering", ["-received_on", "received_on", "-amount_cents", "amount_cents"])
def test_walking_the_payment_pages_gives_every_payment_once_in_order(finance, member, client_a, ordering):
    today = timezone.localdate()
    for index in range(3):
        invoice = issued_invoice(by=finance, member=member)
        for day in (0, 0, 5):  # two on the same day, of the same amount
            services.record_payment(
                by=finance,
                invoice=invoice,
                amount_cents=1_000 + 500 * (day + index % 2),
                method="transfer",
                received_on=today - datetime.timedelta(days=day),
            )
    expected = list(Payment.objects.order_by(ordering, "-pk").values_list("pk", flat=True))

    body = client_a.get(PAYMENTS, {"ordering": ordering, "page_size": 2}).json()
    ids = [row["id"] for row in body["results"]]
    while body["next"]:
        body = client_a.get(body["next"]).json()
        ids += [row["id"] for row in body["results"]]

    assert len(expected) == 9 and ids == expected


def test_a_payments_cursor_that_does_not_decode_is_a_400(finance, client_a):
    response = client_a.get(PAYMENTS, {"cursor": "cD1bIngiLDFd"})  # p=["x",1]: not a date

    assert response.status_code == 400 and response.json()["code"] == "invalid_filter"


# --- Credit notes ------------------------------------------------------------------------------------


def test_a_full_credit_note_cancels_the_invoice(finance, invoice, client_a):
    response = call(client_a, "post", invoice_url(invoice.pk, "credit-notes"), {"reason": "Adhésion annulée"})

    assert response.status_code == 201, response.content
    note = response.json()
    year = timezone.localdate().year
    assert note["kind"] == "credit_note" and note["number"] == f"FA-AV-{year}-000001"
    assert note["gross_cents"] == 36_000 and note["credited_invoice"]["id"] == invoice.pk
    assert note["links"]["pdf"]
    original = client_a.get(invoice_url(invoice.pk)).json()
    assert original["status"] == "credited" and original["balance_cents"] == 0
    assert [row["id"] for row in client_a.get(invoice_url(invoice.pk, "credit-notes")).json()] == [note["id"]]
    again = call(client_a, "post", invoice_url(invoice.pk, "credit-notes"), {"reason": "Encore"})
    assert again.status_code == 409 and again.json()["code"] == "partly_credited"


def test_a_partial_credit_note_credits_its_lines_and_never_more_than_is_left(finance, invoice, client_a):
    url = invoice_url(invoice.pk, "credit-notes")
    partial = {"reason": "Remise", "lines": [{"label": "Remise fidélité", "unit_price_cents": 10_000}]}

    first = call(client_a, "post", url, partial)
    too_much = call(client_a, "post", url, {"reason": "Trop", "lines": [{**LINE, "unit_price_cents": 20_001}]})

    assert first.status_code == 201
    assert first.json()["gross_cents"] == 12_000
    assert first.json()["vat_breakdown"] == [{"rate": "20.00", "base_cents": 10_000, "vat_cents": 2_000}]
    assert too_much.status_code == 409
    assert too_much.json()["code"] == "over_credit"
    stored = Invoice.objects.get(pk=invoice.pk)
    assert (stored.credited_cents, stored.status) == (12_000, "partly_paid")
    assert Invoice.objects.filter(kind="credit_note").count() == 1


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"reason": ""}, "reason_missing", "reason"),
        ({}, "reason_missing", "reason"),
        ({"reason": "x", "lines": []}, "invalid", "lines"),
        ({"reason": "x", "lines": [{"label": "Sans prix"}]}, "invalid", "lines"),
        ({"reason": "x", "lines": [{**LINE, "unit_price_cents": -100}]}, "negative_total", None),
    ],
)
def test_a_bad_credit_note_request_is_a_400(finance, invoice, client_a, body, code, field):
    response = call(client_a, "post", invoice_url(invoice.pk, "credit-notes"), body)

    assert response.status_code == 400
    assert response.json()["code"] == code
    if field:
        assert field in response.json()["detail"]
    assert not Invoice.objects.filter(kind="credit_note").exists()


def test_only_an_issued_invoice_is_credited(finance, invoice, member, client_a):
    draft = services.create_draft(by=finance, member=member, lines=[LINE])
    note = services.create_credit_note(by=finance, invoice=invoice, reason="Annulation")

    for target in (draft, note):
        response = call(client_a, "post", invoice_url(target.pk, "credit-notes"), {"reason": "Encore"})
        assert response.status_code == 409
        assert response.json()["code"] == "not_creditable"
    assert Invoice.objects.filter(kind="credit_note").count() == 1
