"""The payment page of the invoice e-mail (/factures/payer/<token>/): pay by card or SEPA, or by transfer."""

from __future__ import annotations

import pytest

from billing import services
from billing.models import CheckoutSession, Payment
from tests.billing.helpers import finance_user, issued_invoice
from tests.billing.payments_helpers import connect_firm, deliver
from tests.stripe_fake import FakeStripe, stripe_fake_fixture  # noqa: F401  (the stripe_fake fixture)


@pytest.fixture
def account(stripe_fake: FakeStripe, tenant_a, media_root) -> str:
    return connect_firm(stripe_fake)


@pytest.fixture
def invoice(tenant_a, media_root):
    return issued_invoice()


@pytest.fixture
def token(invoice) -> str:
    return services.new_payment_token(invoice=invoice)


def page(token: str, rest: str = "") -> str:
    return f"/factures/payer/{token}/{rest}"


def test_the_page_shows_the_invoice_and_both_ways_to_pay(account, invoice, token, client_a):
    response = client_a.get(page(token))

    assert response.status_code == 200
    html = response.content.decode()
    assert invoice.number in html
    assert invoice.member.legal_name in html
    assert "360,00\u00a0€" in html
    assert invoice.due_date.strftime("%Y") in html
    assert "Payer par carte" in html and "Payer par prélèvement SEPA" in html
    assert page(token, "facture.pdf") in html
    assert "FR7630006000011234567890189" in html  # the transfer stays possible
    assert response["Cache-Control"].startswith("max-age=0")


def test_paying_by_card_goes_to_stripe_checkout_and_comes_back(stripe_fake, account, invoice, token, client_a):
    response = client_a.post(page(token), {"method": "card"})

    assert response.status_code == 302
    session_id = response["Location"].rsplit("/", 1)[-1]
    assert response["Location"] == f"https://checkout.stripe.com/c/pay/{session_id}"
    session = stripe_fake.get(session_id, account)
    assert session["success_url"] == f"http://alpha.localhost{page(token, 'merci/')}?session_id={{CHECKOUT_SESSION_ID}}"
    assert session["cancel_url"] == f"http://alpha.localhost{page(token, 'abandon/')}"

    stripe_fake.pay_checkout_by_card(session_id, account=account)
    back = client_a.get(page(token, "merci/"), {"session_id": session_id})

    assert back.status_code == 200
    assert "Merci, votre facture est réglée" in back.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == invoice.Status.PAID
    assert Payment.objects.get(invoice=invoice).method == Payment.Method.CARD


def test_the_webhook_after_the_return_page_records_nothing_more(
    stripe_fake, account, invoice, token, client_a, public_client
):
    session_id = client_a.post(page(token), {"method": "card"})["Location"].rsplit("/", 1)[-1]
    session = stripe_fake.pay_checkout_by_card(session_id, account=account)
    client_a.get(page(token, "merci/"), {"session_id": session_id})

    deliver(public_client, stripe_fake.event("checkout.session.completed", session, account=account))

    assert Payment.objects.filter(invoice=invoice).count() == 1


def test_a_sepa_payment_is_being_confirmed(stripe_fake, account, invoice, token, client_a):
    session_id = client_a.post(page(token), {"method": "sepa_debit"})["Location"].rsplit("/", 1)[-1]
    stripe_fake.pay_checkout_by_sepa(session_id, account=account)

    back = client_a.get(page(token, "merci/"), {"session_id": session_id})

    html = back.content.decode()
    assert "en cours de confirmation" in html
    assert "prélèvement SEPA sous quelques jours" in html
    assert CheckoutSession.objects.get().status == "processing"
    assert not Payment.objects.exists()


def test_a_session_of_another_invoice_is_not_looked_at_on_return(stripe_fake, account, invoice, token, client_a):
    other = issued_invoice(member=invoice.member)
    other_token = services.new_payment_token(invoice=other)
    other_session = client_a.post(page(other_token), {"method": "card"})["Location"].rsplit("/", 1)[-1]
    stripe_fake.pay_checkout_by_card(other_session, account=account)
    calls = len(stripe_fake.requests)

    back = client_a.get(page(token, "merci/"), {"session_id": other_session})

    assert back.status_code == 200
    assert len(stripe_fake.requests) == calls
    assert not Payment.objects.exists()


def test_cancelling_checkout_comes_back_to_the_invoice(account, invoice, token, client_a):
    response = client_a.get(page(token, "abandon/"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Rien n" in html and page(token) in html


def test_a_bad_method_is_an_error_on_the_page(stripe_fake, account, invoice, token, client_a):
    response = client_a.post(page(token), {"method": "bitcoin"})

    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert not CheckoutSession.objects.exists()


def test_a_paid_invoice_says_so_and_offers_no_payment(account, invoice, token, client_a):
    services.record_payment(by=finance_user(), invoice=invoice, amount_cents=invoice.gross_cents, method="transfer")

    response = client_a.get(page(token))

    html = response.content.decode()
    assert "déjà réglée" in html
    assert "Payer par carte" not in html
    assert client_a.post(page(token), {"method": "card"}).status_code == 400


def test_without_online_payment_the_page_gives_the_bank_details(stripe_fake, invoice, token, client_a):
    response = client_a.get(page(token))

    html = response.content.decode()
    assert "Payer par carte" not in html
    assert "FR7630006000011234567890189" in html and "AGRIFRPP" in html
    assert invoice.number in html


def test_the_pdf_is_the_stored_invoice(invoice, token, client_a):
    response = client_a.get(page(token, "facture.pdf"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f"{invoice.number}.pdf" in response["Content-Disposition"]
    with invoice.pdf.open("rb") as stored:
        assert b"".join(response.streaming_content) == stored.read()


def test_an_unknown_token_is_a_404(invoice, client_a):
    for rest in ("", "facture.pdf", "merci/", "abandon/"):
        assert client_a.get(page("not-a-real-token", rest)).status_code == 404
    assert client_a.post(page("not-a-real-token"), {"method": "card"}).status_code == 404


def test_a_replaced_link_stops_working(invoice, token, client_a):
    services.new_payment_token(invoice=invoice)

    assert client_a.get(page(token)).status_code == 404


def test_another_firm_host_knows_nothing_of_the_token(invoice, token, client_b):
    assert client_b.get(page(token)).status_code == 404
    assert client_b.get(page(token, "facture.pdf")).status_code == 404
