"""Stripe Checkout for an invoice (card or SEPA Direct Debit) and the off-session SEPA collection of renewals."""

from __future__ import annotations

import pytest

from billing import payments, services
from billing.errors import BillingError
from billing.models import CheckoutSession, Payment, SepaMandate, StripeCustomer
from core.models import AuditEntry
from tests.billing.helpers import LINE, finance_user, issued_invoice
from tests.billing.payments_helpers import CANCEL, SUCCESS, checkout, connect_firm, deliver, membership_invoice
from tests.stripe_fake import FakeStripe, stripe_fake_fixture  # noqa: F401  (the stripe_fake fixture)


@pytest.fixture
def account(stripe_fake: FakeStripe, tenant_a, media_root) -> str:
    return connect_firm(stripe_fake)


@pytest.fixture
def invoice(account):
    return issued_invoice()


def session_requests(fake: FakeStripe) -> list[dict]:
    return [r for r in fake.requests if r["method"] == "POST" and r["path"] == "/v1/checkout/sessions"]


def test_a_card_checkout_asks_stripe_for_the_balance_in_the_firm_account(stripe_fake, account, invoice):
    url = payments.start_checkout(invoice=invoice, method="card", success_url=SUCCESS, cancel_url=CANCEL)

    [request] = session_requests(stripe_fake)
    params = request["params"]
    assert request["account"] == account
    assert params["mode"] == "payment"
    assert params["allowed_payment_method_types"] == ["card"]
    assert params["client_reference_id"] == str(invoice.pk)
    [item] = params["line_items"]
    assert item["price_data"]["currency"] == "eur"
    assert item["price_data"]["unit_amount"] == "36000"
    assert invoice.number in item["price_data"]["product_data"]["name"]
    assert params["payment_intent_data"]["description"] == invoice.number
    assert "setup_future_usage" not in params["payment_intent_data"]
    metadata = {"invoice_id": str(invoice.pk), "invoice_number": invoice.number, "tenant_schema": "alpha"}
    assert params["metadata"] == params["payment_intent_data"]["metadata"] == metadata
    assert (params["success_url"], params["cancel_url"]) == (SUCCESS, CANCEL)
    row = CheckoutSession.objects.get(invoice=invoice)
    assert (row.amount_cents, row.stripe_account_id, row.status, row.url) == (36_000, account, "open", url)
    assert stripe_fake.get(row.session_id, account)["customer"] == StripeCustomer.objects.get().customer_id
    assert AuditEntry.objects.filter(action="billing.checkout_started", object_id=str(invoice.pk)).exists()


def test_a_partly_paid_invoice_is_checked_out_for_what_is_left(stripe_fake, account, invoice):
    services.record_payment(by=finance_user(), invoice=invoice, amount_cents=10_000, method="transfer")

    checkout(invoice)

    assert CheckoutSession.objects.get().amount_cents == 26_000
    assert session_requests(stripe_fake)[0]["params"]["line_items"][0]["price_data"]["unit_amount"] == "26000"


def test_a_sepa_checkout_keeps_the_mandate_for_later(stripe_fake, account, invoice):
    checkout(invoice, "sepa_debit")

    params = session_requests(stripe_fake)[0]["params"]
    assert params["allowed_payment_method_types"] == ["sepa_debit"]
    assert params["payment_intent_data"]["setup_future_usage"] == "off_session"


def test_the_member_gets_one_stripe_customer_in_the_firm_account(stripe_fake, account, invoice):
    other = issued_invoice(member=invoice.member)

    checkout(invoice)
    checkout(other)

    assert len(stripe_fake.of_type("customer", account)) == 1
    customer = StripeCustomer.objects.get(member=invoice.member)
    assert customer.stripe_account_id == account
    assert stripe_fake.get(customer.customer_id, account)["metadata"]["siren"] == invoice.member.siren
    assert not stripe_fake.of_type("customer")  # nothing in the platform's own account


def test_a_new_checkout_expires_the_open_one(stripe_fake, account, invoice):
    first = checkout(invoice)

    second = checkout(invoice, "sepa_debit")

    assert stripe_fake.get(first, account)["status"] == "expired"
    assert CheckoutSession.objects.get(session_id=first).status == "expired"
    assert CheckoutSession.objects.get(session_id=second).status == "open"


def test_a_checkout_paid_in_another_tab_is_recorded_and_no_new_one_opens(stripe_fake, account, invoice):
    stripe_fake.pay_checkout_by_card(checkout(invoice), account=account)

    with pytest.raises(BillingError) as refused:
        checkout(invoice)

    assert refused.value.code == "nothing_to_pay"
    invoice.refresh_from_db()
    assert invoice.status == invoice.Status.PAID
    assert Payment.objects.get().method == Payment.Method.CARD
    assert len(session_requests(stripe_fake)) == 1


def test_no_new_checkout_while_a_sepa_debit_is_processing(stripe_fake, account, invoice):
    stripe_fake.pay_checkout_by_sepa(checkout(invoice, "sepa_debit"), account=account)

    with pytest.raises(BillingError) as refused:
        checkout(invoice)

    assert refused.value.code == "payment_pending"
    assert CheckoutSession.objects.get().status == "processing"


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("not_connected", "stripe_not_connected"),
        ("onboarding", "stripe_not_connected"),
        ("no_platform_key", "stripe_not_connected"),
        ("draft", "not_payable"),
        ("credit_note", "not_payable"),
        ("paid", "nothing_to_pay"),
        ("bad_method", "invalid_method"),
    ],
)
def test_checkout_is_refused_clearly(stripe_fake, tenant_a, media_root, settings, setup, code):
    if setup == "not_connected":
        invoice = issued_invoice()
    elif setup == "onboarding":
        connect_firm(stripe_fake, charges_enabled=False)
        invoice = issued_invoice()
    else:
        connect_firm(stripe_fake)
        invoice = issued_invoice()
    by = finance_user()
    if setup == "no_platform_key":
        settings.PLATFORM_STRIPE_SECRET_KEY = ""
    elif setup == "draft":
        invoice = services.create_draft(by=by, member=invoice.member, lines=[LINE])
    elif setup == "credit_note":
        invoice = services.create_credit_note(by=by, invoice=invoice, reason="Erreur de tarif")
    elif setup == "paid":
        services.record_payment(by=by, invoice=invoice, amount_cents=invoice.gross_cents, method="transfer")
    requests_before = len(stripe_fake.requests)

    with pytest.raises(BillingError) as refused:
        payments.start_checkout(
            invoice=invoice,
            method="paypal" if setup == "bad_method" else "card",
            success_url=SUCCESS,
            cancel_url=CANCEL,
        )

    assert refused.value.code == code
    assert str(refused.value)
    assert len(stripe_fake.requests) == requests_before
    assert not CheckoutSession.objects.exists()


def test_a_stripe_error_is_a_billing_error_and_nothing_is_kept(stripe_fake, account, invoice):
    stripe_fake.fail_next(400, "invalid_request_error", "Something is wrong")

    with pytest.raises(BillingError) as refused:
        checkout(invoice)

    assert refused.value.code == "stripe_error"
    assert not CheckoutSession.objects.exists()


# --- Off-session SEPA collection (the renewal run calls it) -----------------------------------------------


@pytest.fixture
def mandate(stripe_fake, account, public_client):
    """A member paid its first invoice by SEPA Direct Debit through Checkout: the mandate is kept."""
    first, _term = membership_invoice()
    session = stripe_fake.pay_checkout_by_sepa(checkout(first, "sepa_debit"), account=account)
    deliver(public_client, stripe_fake.event("checkout.session.completed", session, account=account))
    return SepaMandate.objects.get(member=first.member)


def intent_requests(fake: FakeStripe) -> list[dict]:
    return [r for r in fake.requests if r["method"] == "POST" and r["path"] == "/v1/payment_intents"]


def test_a_renewal_is_debited_with_the_kept_mandate_and_settled_by_the_webhook(
    stripe_fake, account, mandate, public_client
):
    renewal = issued_invoice(member=mandate.member)

    assert payments.collect_with_mandate(renewal) is True

    [request] = intent_requests(stripe_fake)
    params = request["params"]
    assert request["account"] == account
    assert (params["amount"], params["currency"], params["confirm"], params["off_session"]) == (
        "36000",
        "eur",
        "true",
        "true",
    )
    assert (params["payment_method"], params["mandate"]) == (mandate.payment_method_id, mandate.mandate_id)
    assert params["customer"] == StripeCustomer.objects.get(member=mandate.member).customer_id
    assert params["metadata"]["invoice_id"] == str(renewal.pk)
    renewal.refresh_from_db()
    assert renewal.status == renewal.Status.ISSUED  # the money arrives later

    [intent] = [
        i for i in stripe_fake.of_type("payment_intent", account) if i["metadata"]["invoice_id"] == str(renewal.pk)
    ]
    settled = stripe_fake.settle_sepa(intent["id"], account=account)
    deliver(public_client, stripe_fake.event("payment_intent.succeeded", settled, account=account))

    renewal.refresh_from_db()
    assert renewal.status == renewal.Status.PAID
    assert Payment.objects.get(invoice=renewal).method == Payment.Method.SEPA_DEBIT


def test_collecting_twice_starts_one_debit(stripe_fake, account, mandate):
    renewal = issued_invoice(member=mandate.member)

    assert payments.collect_with_mandate(renewal) is True
    assert payments.collect_with_mandate(renewal) is True

    assert len(intent_requests(stripe_fake)) == 1


def test_no_mandate_no_debit(stripe_fake, account, invoice):
    assert payments.collect_with_mandate(invoice) is False
    assert not intent_requests(stripe_fake)


def test_a_revoked_mandate_is_not_used(stripe_fake, account, mandate):
    SepaMandate.objects.filter(pk=mandate.pk).update(status=SepaMandate.Status.INACTIVE)

    assert payments.collect_with_mandate(issued_invoice(member=mandate.member)) is False
    assert not intent_requests(stripe_fake)


def test_a_debit_stripe_refuses_returns_false_and_is_audited(stripe_fake, account, mandate):
    stripe_fake.revoke_mandate(mandate.mandate_id, account=account)  # Stripe knows before the webhook says so
    renewal = issued_invoice(member=mandate.member)

    assert payments.collect_with_mandate(renewal) is False

    entry = AuditEntry.objects.get(action="billing.sepa_collection_failed")
    assert entry.object_id == str(renewal.pk)
    renewal.refresh_from_db()
    assert renewal.status == renewal.Status.ISSUED


def test_no_checkout_while_the_renewal_is_being_debited(stripe_fake, account, mandate):
    renewal = issued_invoice(member=mandate.member)
    assert payments.collect_with_mandate(renewal) is True

    with pytest.raises(BillingError) as refused:
        checkout(renewal)

    assert refused.value.code == "payment_pending"
    assert not CheckoutSession.objects.filter(invoice=renewal).exists()
