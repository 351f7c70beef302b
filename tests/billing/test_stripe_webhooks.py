"""The Stripe Connect webhook: verified, stored once in the firm's schema, re-fetched before acting, order-proof."""

from __future__ import annotations

import pytest

from accounts.models import User
from billing import payments
from billing.models import CheckoutSession, Payment, SepaMandate, StripeEvent
from core.models import AuditEntry
from mediation.members.coverage import coverage_of
from tests.billing.payments_helpers import checkout, connect_firm, deliver, membership_invoice
from tests.stripe_fake import CONNECT_WEBHOOK_SECRET, FakeStripe, signed_event, stripe_fake_fixture  # noqa: F401  (the stripe_fake fixture)


@pytest.fixture
def account(stripe_fake: FakeStripe, tenant_a, media_root) -> str:
    return connect_firm(stripe_fake)


@pytest.fixture
def invoice_and_term(account):
    return membership_invoice()


def paid_by_card(fake: FakeStripe, account: str, invoice) -> dict:
    return fake.pay_checkout_by_card(checkout(invoice, "card"), account=account)


def test_a_member_pays_by_card_and_the_membership_term_is_paid(stripe_fake, account, invoice_and_term, public_client):
    invoice, term = invoice_and_term
    session = paid_by_card(stripe_fake, account, invoice)

    response = deliver(public_client, stripe_fake.event("checkout.session.completed", session, account=account))

    assert response.status_code == 200
    assert response.json()["status"] == "processed"
    invoice.refresh_from_db()
    term.refresh_from_db()
    assert invoice.status == invoice.Status.PAID
    assert invoice.paid_cents == invoice.gross_cents == 36_000
    payment = Payment.objects.get(invoice=invoice)
    assert payment.method == Payment.Method.CARD
    assert payment.stripe_payment_intent == session["payment_intent"]
    assert term.paid_at is not None
    assert coverage_of(member=invoice.member, today=term.starts_on).covered
    assert CheckoutSession.objects.get(invoice=invoice).status == "paid"
    event = StripeEvent.objects.get()
    assert (event.status, event.account, event.attempts) == ("processed", account, 1)


def test_a_replayed_webhook_changes_nothing(stripe_fake, account, invoice_and_term, public_client, use_tenant):
    invoice, _term = invoice_and_term
    session = paid_by_card(stripe_fake, account, invoice)
    event = stripe_fake.event("checkout.session.completed", session, account=account)
    payload, signature = signed_event(event, CONNECT_WEBHOOK_SECRET)

    for _ in range(3):
        response = public_client.post(
            "/stripe/connect/webhook/", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
        )
        assert response.status_code == 200
        assert response.json()["status"] == "processed"

    use_tenant("alpha")
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert StripeEvent.objects.get().attempts == 1
    assert AuditEntry.objects.filter(action="billing.payment_recorded").count() == 1


def test_payment_intent_succeeded_before_checkout_completed_records_the_payment_once(
    stripe_fake, account, invoice_and_term, public_client
):
    invoice, _term = invoice_and_term
    session = paid_by_card(stripe_fake, account, invoice)
    intent = stripe_fake.get(session["payment_intent"], account)

    first = deliver(public_client, stripe_fake.event("payment_intent.succeeded", intent, account=account))
    second = deliver(public_client, stripe_fake.event("checkout.session.completed", session, account=account))

    assert first.json()["status"] == second.json()["status"] == "processed"
    assert Payment.objects.filter(invoice=invoice).count() == 1
    invoice.refresh_from_db()
    assert invoice.status == invoice.Status.PAID
    assert StripeEvent.objects.filter(status="processed").count() == 2


def test_sepa_checkout_completes_unpaid_keeps_the_mandate_and_settles_later(
    stripe_fake, account, invoice_and_term, public_client
):
    invoice, term = invoice_and_term
    session = stripe_fake.pay_checkout_by_sepa(checkout(invoice, "sepa_debit"), account=account)

    deliver(public_client, stripe_fake.event("checkout.session.completed", session, account=account))

    invoice.refresh_from_db()
    assert invoice.status == invoice.Status.ISSUED and not Payment.objects.exists()
    assert CheckoutSession.objects.get(invoice=invoice).status == "processing"
    mandate = SepaMandate.objects.get(member=invoice.member)
    assert mandate.mandate_id == stripe_fake.mandate_of(session["payment_intent"], account=account)["id"]
    assert (mandate.status, mandate.iban_last4, mandate.stripe_account_id) == ("active", "3000", account)

    intent = stripe_fake.settle_sepa(session["payment_intent"], account=account)
    deliver(public_client, stripe_fake.event("payment_intent.succeeded", intent, account=account))
    deliver(
        public_client,
        stripe_fake.event(
            "checkout.session.async_payment_succeeded", stripe_fake.get(session["id"], account), account=account
        ),
    )

    invoice.refresh_from_db()
    term.refresh_from_db()
    assert invoice.status == invoice.Status.PAID
    payment = Payment.objects.get(invoice=invoice)
    assert (payment.method, payment.amount_cents) == (Payment.Method.SEPA_DEBIT, 36_000)
    assert term.paid_at is not None
    assert CheckoutSession.objects.get(invoice=invoice).status == "paid"
    assert SepaMandate.objects.count() == 1


def test_a_refused_sepa_debit_records_nothing_and_is_noted_once(stripe_fake, account, invoice_and_term, public_client):
    invoice, term = invoice_and_term
    session = stripe_fake.pay_checkout_by_sepa(checkout(invoice, "sepa_debit"), account=account)
    intent = stripe_fake.settle_sepa(session["payment_intent"], account=account, succeeded=False)

    deliver(public_client, stripe_fake.event("payment_intent.payment_failed", intent, account=account))
    deliver(
        public_client,
        stripe_fake.event(
            "checkout.session.async_payment_failed", stripe_fake.get(session["id"], account), account=account
        ),
    )

    invoice.refresh_from_db()
    term.refresh_from_db()
    assert invoice.status == invoice.Status.ISSUED and not Payment.objects.exists()
    assert term.paid_at is None
    assert CheckoutSession.objects.get(invoice=invoice).status == "failed"
    failure = AuditEntry.objects.get(action="billing.stripe_payment_failed")
    assert failure.changes["code"] == [None, "insufficient_funds"]


def test_the_payload_is_not_trusted_the_session_is_fetched_again(stripe_fake, account, invoice_and_term, public_client):
    invoice, _term = invoice_and_term
    session_id = checkout(invoice, "card")
    forged = {**stripe_fake.get(session_id, account), "status": "complete", "payment_status": "paid"}

    response = deliver(public_client, stripe_fake.event("checkout.session.completed", forged, account=account))

    assert response.json()["status"] == "processed"
    assert not Payment.objects.exists()  # Stripe says the session is still open
    assert CheckoutSession.objects.get(invoice=invoice).status == "open"


def test_a_bad_signature_is_refused_and_nothing_is_stored(stripe_fake, account, invoice_and_term, public_client):
    invoice, _term = invoice_and_term
    session = paid_by_card(stripe_fake, account, invoice)

    response = deliver(
        public_client, stripe_fake.event("checkout.session.completed", session, account=account), secret="whsec_other"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "bad_signature"
    assert not StripeEvent.objects.exists()
    assert not Payment.objects.exists()


def test_a_missing_secret_refuses_every_event(stripe_fake, settings, account, public_client):
    settings.STRIPE_CONNECT_WEBHOOK_SECRET = ""

    response = deliver(public_client, stripe_fake.event("account.updated", {"id": account}, account=account))

    assert response.status_code == 400
    assert response.json()["code"] == "not_configured"


def test_a_signed_body_that_is_no_event_is_a_bad_payload(stripe_fake, account, public_client):
    response = deliver(public_client, {"hello": "world"})

    assert response.status_code == 400
    assert response.json()["code"] == "bad_payload"


def test_an_event_of_an_unknown_account_is_ignored_and_stored_nowhere(stripe_fake, account, public_client):
    response = deliver(
        public_client, stripe_fake.event("account.updated", {"id": "acct_stranger"}, account="acct_stranger")
    )

    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert not StripeEvent.objects.exists()


def test_an_event_of_the_platform_itself_is_ignored(stripe_fake, account, public_client):
    response = deliver(public_client, stripe_fake.event("customer.created", {"id": "cus_x", "object": "customer"}))

    assert response.json()["status"] == "ignored"


def test_an_unhandled_event_type_is_stored_and_ignored(stripe_fake, account, public_client):
    response = deliver(public_client, stripe_fake.event("customer.created", {"id": "cus_x"}, account=account))

    assert response.json()["status"] == "ignored"
    assert StripeEvent.objects.get().status == "ignored"


def test_a_failure_answers_500_keeps_the_error_and_the_admin_retries_it(
    stripe_fake, account, invoice_and_term, public_client, client_a
):
    invoice, _term = invoice_and_term
    session = paid_by_card(stripe_fake, account, invoice)
    stripe_fake.fail_next(500, "api_error", "Stripe is down")

    response = deliver(public_client, stripe_fake.event("checkout.session.completed", session, account=account))

    assert response.status_code == 500
    assert response.json()["code"] == "processing_failed"
    event = StripeEvent.objects.get()
    assert event.status == "failed" and event.attempts == 1
    assert "Stripe is down" in event.error
    assert not Payment.objects.exists()

    client_a.force_login(User.objects.create_superuser("boss@alpha.fr", "x" * 12))
    page = client_a.post(
        "/admin/billing/stripeevent/", {"action": "retry", "_selected_action": [event.pk]}, follow=True
    )

    assert "1 événement traité sur 1 relancé." in page.content.decode()
    event.refresh_from_db()
    assert (event.status, event.attempts, event.error) == ("processed", 2, "")
    assert Payment.objects.filter(invoice=invoice).count() == 1


def test_stripe_redelivering_a_failed_event_processes_it(stripe_fake, account, invoice_and_term, public_client):
    invoice, _term = invoice_and_term
    session = paid_by_card(stripe_fake, account, invoice)
    event = stripe_fake.event("checkout.session.completed", session, account=account)
    stripe_fake.fail_next(500, "api_error", "Stripe is down")
    assert deliver(public_client, event).status_code == 500

    response = deliver(public_client, event)

    assert response.status_code == 200
    assert StripeEvent.objects.get().attempts == 2
    assert Payment.objects.filter(invoice=invoice).count() == 1


def test_a_revoked_mandate_is_kept_inactive(stripe_fake, account, invoice_and_term, public_client):
    invoice, _term = invoice_and_term
    session = stripe_fake.pay_checkout_by_sepa(checkout(invoice, "sepa_debit"), account=account)
    deliver(public_client, stripe_fake.event("checkout.session.completed", session, account=account))
    mandate = stripe_fake.revoke_mandate(
        stripe_fake.mandate_of(session["payment_intent"], account=account)["id"], account=account
    )

    deliver(public_client, stripe_fake.event("mandate.updated", {**mandate, "status": "active"}, account=account))

    row = SepaMandate.objects.get()
    assert row.status == SepaMandate.Status.INACTIVE
    assert payments.active_mandate(invoice.member) is None


def test_a_mandate_event_before_the_checkout_event_creates_the_row_once(
    stripe_fake, account, invoice_and_term, public_client
):
    invoice, _term = invoice_and_term
    session = stripe_fake.pay_checkout_by_sepa(checkout(invoice, "sepa_debit"), account=account)
    mandate = stripe_fake.mandate_of(session["payment_intent"], account=account)

    deliver(public_client, stripe_fake.event("mandate.updated", mandate, account=account))
    deliver(public_client, stripe_fake.event("checkout.session.completed", session, account=account))

    row = SepaMandate.objects.get()
    assert (row.member, row.status) == (invoice.member, SepaMandate.Status.ACTIVE)


def test_account_updated_refreshes_the_firm_account_from_stripe(stripe_fake, tenant_a, public_client):
    account = connect_firm(stripe_fake, charges_enabled=False)
    assert not payments.connect_status().can_take_payments
    stripe_fake.complete_onboarding(account)

    # The payload's snapshot is stale (charges disabled); the account is read again from Stripe.
    response = deliver(
        public_client, stripe_fake.event("account.updated", {"id": account, "charges_enabled": False}, account=account)
    )

    assert response.json()["status"] == "processed"
    status = payments.connect_status()
    assert status.can_take_payments and status.payouts_enabled
    assert AuditEntry.objects.filter(action="billing.stripe_account_synced").exists()


def test_issued_invoices_and_events_are_read_only_in_the_admin(stripe_fake, account, invoice_and_term, client_a):
    invoice, _term = invoice_and_term
    client_a.force_login(User.objects.create_superuser("boss@alpha.fr", "x" * 12))

    assert invoice.number in client_a.get("/admin/billing/invoice/").content.decode()
    detail = client_a.get(f"/admin/billing/invoice/{invoice.pk}/change/")
    assert detail.status_code == 200
    assert invoice.pay_token_hash not in detail.content.decode()
    assert client_a.post(f"/admin/billing/invoice/{invoice.pk}/change/", {"notes": "x"}).status_code == 403
    assert client_a.get("/admin/billing/invoice/add/").status_code == 403
    assert client_a.get("/admin/billing/stripeevent/").status_code == 200
    assert client_a.get("/admin/billing/stripeevent/add/").status_code == 403
