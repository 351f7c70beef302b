"""Billing's core services: amounts, drafts, issuing, gapless numbering, credit notes, payments, settlement."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from billing import services
from billing.errors import BillingError
from billing.models import Invoice, InvoiceCounter, Payment
from core.models import AuditEntry
from mediation.members import membership as ms
from mediation.members.coverage import Reason, coverage_of
from tests.billing.helpers import LINE, billable_member, finance_user, firm_identity, issued_invoice
from tests.factories import UserFactory
from tests.members.membership_helpers import accepted, member_with_contacts, publish, tariffs

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance(tenant_a, media_root):
    firm_identity()
    return finance_user()


def line(cents: int, rate: str = "20.00", quantity: str = "1", label: str = "Prestation") -> dict:
    return {"label": label, "quantity": quantity, "unit_price_cents": cents, "vat_rate": rate}


# --- Amounts ---------------------------------------------------------------------------------------


def test_vat_is_computed_once_per_rate_on_the_sum_of_its_lines():
    # Per line, 0.05 € at 20 % would round to 0.01 € three times (0.03 €); on the sum 0.15 € → 0.03 €.
    totals = services.compute_totals([line(5), line(5), line(5)])
    assert (totals.net_cents, totals.vat_cents, totals.gross_cents) == (15, 3, 18)
    mixed = services.compute_totals([line(10_000), line(3_333, "5.50", "3"), line(2_000, "10.00"), line(-1_000)])
    assert [(v.rate, v.base_cents, v.vat_cents) for v in mixed.breakdown] == [
        (Decimal("20.00"), 9_000, 1_800),
        (Decimal("10.00"), 2_000, 200),
        (Decimal("5.50"), 9_999, 550),
    ]
    assert mixed.gross_cents == 9_000 + 2_000 + 9_999 + 1_800 + 200 + 550


def test_fractional_quantities_round_half_up_to_the_cent():
    assert services.line_net(Decimal("0.5"), 3) == 2
    assert services.line_net(Decimal("2.25"), 1_001) == 2_252


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ([], "invalid_lines"),
        ([{"label": "", "quantity": 1, "unit_price_cents": 100}], "invalid_lines"),
        ([{"label": "x", "quantity": 0, "unit_price_cents": 100}], "invalid_lines"),
        ([{"label": "x", "quantity": "abc", "unit_price_cents": 100}], "invalid_lines"),
        ([{"label": "x", "quantity": 1, "unit_price_cents": "12,5"}], "invalid_lines"),
        ([{"label": "x", "quantity": 1, "unit_price_cents": 100, "vat_rate": "19.6"}], "invalid_vat_rate"),
        ([line(1_000), line(-2_000)], "negative_total"),
        (["not a line"], "invalid_lines"),
    ],
)
def test_bad_lines_are_refused_with_a_code(lines, code):
    with pytest.raises(BillingError) as caught:
        services.clean_lines(lines)
    assert caught.value.code == code


# --- Drafts and issuing ------------------------------------------------------------------------------


def test_a_draft_changes_until_it_is_issued_then_never(finance):
    member = billable_member()
    draft = services.create_draft(by=finance, member=member, lines=[LINE])
    assert draft.status == Invoice.Status.DRAFT and draft.number is None and draft.gross_cents == 36_000
    draft = services.update_draft(by=finance, invoice=draft, lines=[line(10_000), line(5_000, "10.00")])
    assert draft.gross_cents == 12_000 + 5_500
    invoice = services.issue_invoice(by=finance, invoice=draft)
    assert invoice.status == Invoice.Status.ISSUED
    assert invoice.number == f"FA-{timezone.localdate().year}-000001"
    assert invoice.due_date == invoice.issue_date + datetime.timedelta(days=30)
    assert invoice.seller["siren"] == "732829320" and invoice.buyer["siren"] == member.siren
    assert invoice.mentions["recovery_indemnity_cents"] == 4000
    assert invoice.pdf and len(invoice.pdf_sha256) == 64
    with pytest.raises(BillingError) as caught:
        services.update_draft(by=finance, invoice=invoice, lines=[line(1)])
    assert caught.value.code == "not_draft"
    with pytest.raises(BillingError):
        services.delete_draft(by=finance, invoice=invoice)
    with pytest.raises(BillingError) as caught:
        services.issue_invoice(by=finance, invoice=invoice)
    assert caught.value.code == "not_draft"
    # The buyer's later changes do not reach the issued invoice.
    member.legal_name = "Nouveau Nom SAS"
    member.save()
    invoice.refresh_from_db()
    assert invoice.buyer["name"] != "Nouveau Nom SAS"
    assert AuditEntry.objects.filter(action="billing.invoice_issued", object_id=str(invoice.pk)).exists()


def test_issuing_needs_the_firm_and_the_buyer_identified(tenant_a, media_root):
    by = finance_user()
    member = billable_member()
    draft = services.create_draft(by=by, member=member, lines=[LINE])
    with pytest.raises(BillingError) as caught:
        services.issue_invoice(by=by, invoice=draft)
    assert caught.value.code == "seller_incomplete"
    firm_identity()
    member.address_line1 = ""
    member.save()
    with pytest.raises(BillingError) as caught:
        services.issue_invoice(by=by, invoice=draft)
    assert caught.value.code == "buyer_incomplete"
    draft.refresh_from_db()
    assert draft.status == Invoice.Status.DRAFT and draft.number is None
    assert not InvoiceCounter.objects.filter(last_number__gt=0).exists()  # the refused attempt used no number


def test_only_finance_and_admins_write_invoices(tenant_a, media_root):
    firm_identity()
    member = billable_member()
    for role in ("mediator", "case_officer", "read_only"):
        with pytest.raises(PermissionDenied):
            services.create_draft(by=UserFactory(role=role), member=member, lines=[LINE])
    assert services.create_draft(by=UserFactory(role="admin"), member=member, lines=[LINE]).pk


def test_a_failed_issue_gives_its_number_back(finance, monkeypatch):
    first = issued_invoice(by=finance)
    draft = services.create_draft(by=finance, member=billable_member(), lines=[LINE])

    def broken(**kwargs):
        raise RuntimeError("database hiccup after the number was taken")

    monkeypatch.setattr(services.audit, "record", broken)
    with pytest.raises(RuntimeError):
        services.issue_invoice(by=finance, invoice=draft)
    monkeypatch.undo()
    draft.refresh_from_db()
    assert draft.number is None and draft.is_draft
    second = services.issue_invoice(by=finance, invoice=draft)
    assert second.sequence == first.sequence + 1


def test_a_pdf_that_fails_after_the_issue_is_made_later(finance, monkeypatch, caplog):
    from billing import documents

    real = documents.render_invoice_pdf

    def broken(invoice):
        raise RuntimeError("PDF renderer down")

    monkeypatch.setattr(documents, "render_invoice_pdf", broken)
    invoice = issued_invoice(by=finance)  # the issue itself is committed: number taken, data frozen
    assert invoice.number and not invoice.pdf
    assert "PDF of invoice" in caplog.text
    monkeypatch.setattr(documents, "render_invoice_pdf", real)
    assert services.render_missing_pdfs() == 1
    invoice.refresh_from_db()
    assert invoice.pdf and len(invoice.pdf_sha256) == 64
    assert services.render_missing_pdfs() == 0


def test_credit_notes_have_their_own_series(finance):
    invoice = issued_invoice(by=finance)
    note = services.create_credit_note(by=finance, invoice=invoice, reason="Erreur de tarif")
    year = timezone.localdate().year
    assert note.number == f"FA-AV-{year}-000001"
    assert issued_invoice(by=finance).number == f"FA-{year}-000002"


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_issuers_get_unique_gapless_numbers(tenant_a, media_root):
    """20 threads, each its own connection and transaction, issue at once: 1..20, no gap, no deadlock."""
    from django.db import connections

    firm_identity()
    by = finance_user()
    drafts = [services.create_draft(by=by, member=billable_member(), lines=[LINE]).pk for _ in range(20)]
    barrier = threading.Barrier(20, timeout=60)
    errors: list[BaseException] = []

    def issue(pk: int) -> None:
        try:
            connection.set_tenant(tenant_a)
            draft = Invoice.objects.get(pk=pk)
            barrier.wait()
            services.issue_invoice(by=by, invoice=draft, send=False)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=issue, args=(pk,)) for pk in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    sequences = sorted(Invoice.objects.filter(pk__in=drafts).values_list("sequence", flat=True))
    assert sequences == list(range(1, 21))
    numbers = set(Invoice.objects.filter(pk__in=drafts).values_list("number", flat=True))
    assert len(numbers) == 20
    assert InvoiceCounter.objects.get(series="F", year=timezone.localdate().year).last_number == 20


def test_numbers_are_per_firm(tenant_a, tenant_b, media_root, use_tenant):
    use_tenant("alpha")
    a = issued_invoice()
    use_tenant("beta")
    b = issued_invoice()
    assert a.number == b.number  # each firm its own series
    assert not Invoice.objects.filter(pk=a.pk, member__siren=a.buyer["siren"]).exclude(pk=b.pk).exists()


# --- Payments and credit notes ------------------------------------------------------------------------


def test_payments_settle_the_invoice_step_by_step(finance):
    invoice = issued_invoice(by=finance)
    services.record_payment(by=finance, invoice=invoice, amount_cents=10_000, method="transfer", reference="VIR 1")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PARTLY_PAID and invoice.balance_cents == 26_000
    with pytest.raises(BillingError) as caught:
        services.record_payment(by=finance, invoice=invoice, amount_cents=26_001, method="transfer")
    assert caught.value.code == "overpayment"
    services.record_payment(by=finance, invoice=invoice, amount_cents=26_000, method="cheque")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID and invoice.paid_at is not None and invoice.balance_cents == 0
    with pytest.raises(BillingError) as caught:
        services.record_payment(by=finance, invoice=invoice, amount_cents=1, method="transfer")
    assert caught.value.code == "already_paid"


@pytest.mark.parametrize(
    ("amount", "method", "received_on", "code"),
    [
        (0, "transfer", None, "invalid_amount"),
        (-5, "transfer", None, "invalid_amount"),
        (100, "bitcoin", None, "invalid_method"),
        (100, "transfer", datetime.date(2999, 1, 1), "invalid_date"),
    ],
)
def test_bad_payments_are_refused(finance, amount, method, received_on, code):
    invoice = issued_invoice(by=finance)
    with pytest.raises(BillingError) as caught:
        services.record_payment(
            by=finance, invoice=invoice, amount_cents=amount, method=method, received_on=received_on
        )
    assert caught.value.code == code
    assert not Payment.objects.exists()


def test_a_stripe_payment_intent_is_recorded_once(finance):
    invoice = issued_invoice(by=finance)
    first = services.record_stripe_payment(invoice=invoice, amount_cents=36_000, method="card", payment_intent="pi_1")
    again = services.record_stripe_payment(invoice=invoice, amount_cents=36_000, method="card", payment_intent="pi_1")
    assert first is not None and again is None
    invoice.refresh_from_db()
    assert invoice.paid_cents == 36_000 and invoice.status == Invoice.Status.PAID


def test_a_full_credit_note_cancels_an_unpaid_invoice(finance):
    invoice = issued_invoice(by=finance, lines=[line(10_000), line(2_000, "5.50")])
    note = services.create_credit_note(by=finance, invoice=invoice, reason="Adhésion annulée")
    assert note.kind == Invoice.Kind.CREDIT_NOTE and note.credited_invoice == invoice
    assert (note.net_cents, note.vat_cents, note.gross_cents) == (
        invoice.net_cents,
        invoice.vat_cents,
        invoice.gross_cents,
    )
    assert [ln.label for ln in note.lines.all()] == [ln.label for ln in invoice.lines.all()]
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.CREDITED and invoice.balance_cents == 0
    with pytest.raises(BillingError) as caught:
        services.create_credit_note(by=finance, invoice=invoice, reason="Encore", lines=[line(100)])
    assert caught.value.code == "over_credit"
    with pytest.raises(BillingError) as caught:
        services.create_credit_note(by=finance, invoice=note, reason="Avoir d'avoir")
    assert caught.value.code == "not_creditable"


def test_a_partial_credit_note_then_a_payment_settle_the_invoice(finance):
    invoice = issued_invoice(by=finance)  # 360 €
    with pytest.raises(BillingError) as caught:
        services.create_credit_note(by=finance, invoice=invoice, reason="  ")
    assert caught.value.code == "reason_missing"
    services.create_credit_note(by=finance, invoice=invoice, reason="Remise accordée", lines=[line(5_000)])
    invoice.refresh_from_db()
    assert invoice.credited_cents == 6_000 and invoice.status == Invoice.Status.PARTLY_PAID
    with pytest.raises(BillingError) as caught:
        services.create_credit_note(by=finance, invoice=invoice, reason="Tout")
    assert caught.value.code == "partly_credited"
    services.record_payment(by=finance, invoice=invoice, amount_cents=30_000, method="transfer")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID and invoice.balance_cents == 0


# --- Settlement and the membership -------------------------------------------------------------------


def _membership_invoice(by, membership):
    draft = services.new_system_draft(
        by=by,
        member=membership.member,
        lines=[LINE],
        purpose=Invoice.Purpose.MEMBERSHIP,
        membership=membership,
        period_start=membership.starts_on,
        period_end=membership.ends_on,
    )
    return services.issue_invoice(by=by, invoice=draft)


def test_paying_a_membership_invoice_starts_the_coverage(finance):
    tariffs()
    publish()
    member = member_with_contacts(address_line1="1 rue A")
    membership = accepted(member)
    invoice = Invoice.objects.filter(membership=membership).first() or _membership_invoice(finance, membership)
    today = timezone.localdate()
    assert coverage_of(member=member, today=today).reason == Reason.NOT_YET_ACTIVE
    services.record_payment(by=finance, invoice=invoice, amount_cents=invoice.balance_cents, method="transfer")
    member.refresh_from_db()
    membership.refresh_from_db()
    assert membership.paid_at is not None and member.status == "active"
    assert coverage_of(member=member, today=today).covered


def test_suspension_for_an_unpaid_invoice_is_lifted_by_paying_it(finance):
    tariffs()
    publish()
    member = member_with_contacts(address_line1="1 rue A")
    membership = accepted(member)
    ms.mark_paid(by=UserFactory(role="admin"), membership=membership)
    invoice = _membership_invoice(finance, membership)
    today = timezone.localdate()
    services.suspend_for(invoice, "Facture impayée")
    member.refresh_from_db()
    assert coverage_of(member=member, today=today).reason == Reason.SUSPENDED
    services.record_payment(by=finance, invoice=invoice, amount_cents=invoice.balance_cents, method="transfer")
    assert coverage_of(member=member, today=today).covered


def test_system_invoices_that_never_left_are_sent_again(
    finance, mailoutbox, eager_celery, django_capture_on_commit_callbacks
):
    member = billable_member()
    draft = services.new_system_draft(member=member, lines=[LINE], purpose=Invoice.Purpose.MEMBERSHIP)
    lost = services.issue_automatically(invoice=draft, send=False)  # as when a worker died with its batch
    staff_kept = issued_invoice(by=finance)  # staff issued it without sending: their choice
    Invoice.objects.filter(pk__in=[lost.pk, staff_kept.pk]).update(
        issued_at=timezone.now() - datetime.timedelta(hours=2), sent_at=None
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.resend_unsent() == 1
    (mail,) = mailoutbox
    assert lost.number in mail.subject and "/factures/payer/" in mail.body
    lost.refresh_from_db()
    assert lost.sent_at is not None
    assert services.resend_unsent() == 0
