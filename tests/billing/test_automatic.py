"""Automatic billing: a membership term's invoices (yearly, upfront, prorated), the per-case fee, idempotency."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from billing import automatic, services
from billing.automatic import Period, Share
from billing.errors import BillingError
from billing.models import BillingSettings, Invoice, Price, Product
from mediation.members import membership as ms
from mediation.members.models import Membership
from tests.billing.helpers import billable_member, finance_user, firm_identity
from tests.factories import AdminFactory, GroupFactory, UserFactory
from tests.members.membership_helpers import accepted, publish, tariffs

pytestmark = pytest.mark.django_db

P = Invoice.Purpose
PARIS = timezone.get_default_timezone()


def on(day: datetime.date, hour: int = 10):
    return time_machine.travel(datetime.datetime.combine(day, datetime.time(hour), tzinfo=PARIS), tick=False)


@pytest.fixture
def firm(tenant_a, media_root):
    firm_identity()
    tariffs()
    publish()


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Runs a call and the work it left for after commit (signals, queued tasks, e-mails)."""

    def runner(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return runner


def membership_invoices(membership: Membership) -> list[Invoice]:
    return list(
        Invoice.objects.filter(membership=membership, purpose=P.MEMBERSHIP, kind="invoice").order_by("period_start")
    )


def settings_(**fields) -> BillingSettings:
    config = services.billing_settings()
    for name, value in fields.items():
        setattr(config, name, value)
    config.save()
    return config


# --- A new term --------------------------------------------------------------------------------------


def test_accepting_the_convention_issues_and_mails_the_first_invoice(firm, run, eager_celery, mailoutbox):
    member = billable_member(legal_name="Fromagerie Laurent")
    term = run(accepted, member=member)
    [invoice] = membership_invoices(term)
    assert invoice.status == Invoice.Status.ISSUED and invoice.number
    assert (invoice.period_start, invoice.period_end) == (term.starts_on, term.ends_on)
    assert invoice.net_cents == 30_000 and invoice.gross_cents == 36_000
    [line] = invoice.lines.all()
    assert line.label.startswith("Adhésion annuelle (engagement de 1 an(s)) — 1 à 9 salariés — période du ")
    assert line.product is not None and line.product.kind == Product.Kind.MEMBERSHIP
    assert invoice.issued_by is None and invoice.pdf
    mail = next(m for m in mailoutbox if invoice.number in m.subject)
    assert mail.to == [f"compta-{member.siren}@entreprise.fr"]
    assert mail.attachments[0][0] == f"{invoice.number}.pdf"


def test_the_invoice_follows_the_accepted_proposal(firm, run, eager_celery):
    admin = AdminFactory()
    member = billable_member(group=GroupFactory(name="Fédération du commerce"))
    proposal = ms.create_proposal(
        by=admin,
        member=member,
        term_years=1,
        upfront=False,
        lines=None,
        valid_until=timezone.localdate(),
        yearly_price_cents=40_000,
        discount_percent=10,
    )
    proposal, _token = ms.send_proposal(by=admin, proposal=proposal)
    term = run(
        ms.accept_convention,
        member=member,
        convention=ms.current_convention(),
        signer_name="Anne Laurent",
        signer_role="Gérante",
        ip_address="192.0.2.1",
        proposal=proposal,
    )
    [invoice] = membership_invoices(term)
    lines = list(invoice.lines.order_by("position"))
    assert [line.unit_price_cents for line in lines] == [40_000, -4_000]
    assert lines[1].label.startswith("Remise négociée Fédération du commerce (10 %)")
    assert invoice.net_cents == 36_000 and invoice.vat_cents == 7_200


def test_a_three_year_commitment_is_billed_each_year_without_a_new_acceptance(firm):
    config = settings_(renewal_lead_days=30)
    start = datetime.date(2026, 3, 15)
    with on(start):
        term = accepted(billable_member(), term_years=3)
        first = automatic.bill_membership(membership_id=term.pk)
        assert automatic.bill_membership(membership_id=term.pk) == []
    assert [(i.period_start, i.period_end) for i in first] == [(start, datetime.date(2027, 3, 14))]
    assert first[0].net_cents == 25_000  # the 3-year tariff's yearly price
    # The next year is billed from its anniversary minus the renewal lead, not before.
    with on(datetime.date(2027, 2, 12)):
        assert automatic.catch_up().issued == 0
    with on(datetime.date(2027, 3, 15) - datetime.timedelta(days=config.renewal_lead_days)):
        assert automatic.catch_up().issued == 1
        assert automatic.catch_up().issued == 0
    with on(datetime.date(2028, 3, 1)):
        assert automatic.catch_up().issued == 1
    with on(datetime.date(2029, 3, 1)):
        assert automatic.catch_up().issued == 0
    periods = [(i.period_start, i.period_end, i.net_cents) for i in membership_invoices(term)]
    assert periods == [
        (datetime.date(2026, 3, 15), datetime.date(2027, 3, 14), 25_000),
        (datetime.date(2027, 3, 15), datetime.date(2028, 3, 14), 25_000),
        (datetime.date(2028, 3, 15), datetime.date(2029, 3, 14), 25_000),
    ]


def test_a_commitment_paid_upfront_has_one_invoice_and_its_renewal_keeps_the_rhythm(firm):
    admin = AdminFactory()
    member = billable_member()
    start = datetime.date(2026, 1, 10)
    with on(start):
        proposal = ms.create_proposal(
            by=admin, member=member, term_years=3, upfront=True, lines=None, valid_until=start
        )
        proposal, _token = ms.send_proposal(by=admin, proposal=proposal)
        term = ms.accept_convention(
            member=member,
            convention=ms.current_convention(),
            signer_name="Anne",
            signer_role="Gérante",
            ip_address=None,
            proposal=proposal,
        )
        [invoice] = automatic.bill_membership(membership_id=term.pk)
        assert (invoice.period_start, invoice.period_end) == (start, datetime.date(2029, 1, 9))
        assert invoice.net_cents == 75_000
        services.record_payment(by=finance_user(), invoice=invoice, amount_cents=invoice.gross_cents, method="transfer")
    with on(datetime.date(2028, 12, 20)):
        renewal = ms.renew_term(member=member, term_years=3)
        assert renewal.proposal_id is None and automatic.is_upfront(renewal)
        [again] = automatic.bill_membership(membership_id=renewal.pk)
    assert (again.period_start, again.period_end) == (datetime.date(2029, 1, 10), datetime.date(2032, 1, 9))
    assert again.net_cents == 75_000
    assert again.lines.get().label.startswith("Adhésion de 3 ans, payée d'avance — 1 à 9 salariés")


def test_a_group_price_on_the_membership_product_replaces_the_tariff(firm):
    group = GroupFactory(name="Union des artisans")
    product = Product.objects.create(code="cotisation", name="Cotisation", kind="membership", vat_rate=Decimal("10.00"))
    product.account = "706100"
    product.save()
    Price.objects.create(product=product, group=group, unit_price_cents=18_000, valid_from=datetime.date(2020, 1, 1))
    Price.objects.create(product=product, unit_price_cents=99_900, valid_from=datetime.date(2020, 1, 1))
    grouped = accepted(billable_member(group=group))
    alone = accepted(billable_member())
    [with_group] = automatic.bill_membership(membership_id=grouped.pk)
    [without] = automatic.bill_membership(membership_id=alone.pk)
    assert with_group.net_cents == 18_000 and with_group.vat_cents == 1_800
    assert without.net_cents == 30_000  # the list price of the product is not the tariff: the tariff wins
    line = with_group.lines.get()
    assert line.product == product and line.account == "706100" and line.vat_rate == Decimal("10.00")


def test_the_membership_product_is_created_at_twenty_percent_when_missing(firm):
    assert not Product.objects.filter(kind="membership").exists()
    [invoice] = automatic.bill_membership(membership_id=accepted(billable_member()).pk)
    product = Product.objects.get(kind="membership")
    assert product.vat_rate == Decimal("20.00") and product.is_active
    assert invoice.lines.get().product == product
    [other] = automatic.bill_membership(membership_id=accepted(billable_member()).pk)
    assert Product.objects.filter(kind="membership").count() == 1 and other.lines.get().product == product


def test_a_member_without_tariff_is_not_billed_and_nothing_is_kept(firm):
    term = accepted(billable_member(headcount_band=""))
    with pytest.raises(BillingError) as caught:
        automatic.bill_membership(membership_id=term.pk)
    assert caught.value.code == "no_tariff"
    assert not Invoice.objects.exists()


# --- Proration -----------------------------------------------------------------------------------------


def test_months_begun_and_month_arithmetic():
    assert automatic.add_months(datetime.date(2026, 1, 31), 1) == datetime.date(2026, 2, 28)
    assert automatic.add_months(datetime.date(2024, 1, 31), 1) == datetime.date(2024, 2, 29)
    assert automatic.add_months(datetime.date(2026, 11, 15), 3) == datetime.date(2027, 2, 15)
    assert automatic.months_begun(datetime.date(2026, 3, 15), datetime.date(2026, 12, 31)) == 10
    assert automatic.months_begun(datetime.date(2026, 3, 15), datetime.date(2026, 4, 14)) == 1
    assert automatic.months_begun(datetime.date(2026, 3, 15), datetime.date(2026, 4, 15)) == 2


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("none", None), ("monthly", Share(10, 12, "months")), ("daily", Share(292, 365, "days"))],
)
def test_a_period_shorter_than_a_year_is_prorated_per_the_setting(mode, expected):
    short = Period(start=datetime.date(2026, 3, 15), end=datetime.date(2026, 12, 31), years=1)
    assert automatic.proration(short, mode) == expected
    full = Period(start=datetime.date(2026, 3, 15), end=datetime.date(2027, 3, 14), years=1)
    assert automatic.proration(full, mode) is None
    assert automatic.prorated(30_000, Share(10, 12, "months")) == 25_000
    assert automatic.prorated(30_000, Share(292, 365, "days")) == 24_000
    assert automatic.prorated(-3_001, Share(1, 2, "days")) == -1_501
    # Upfront: the nominal length is the term (36 months, or the days of three years).
    upfront = Period(start=datetime.date(2026, 1, 1), end=datetime.date(2027, 12, 31), years=3)
    assert automatic.proration(upfront, "monthly") == Share(24, 36, "months")
    assert automatic.proration(upfront, "daily") == Share(730, 1096, "days")


def test_a_term_aligned_on_a_fixed_renewal_date_is_billed_pro_rata(firm):
    settings_(proration=BillingSettings.Proration.MONTHLY)
    member = billable_member(status="active")
    term = Membership.objects.create(
        member=member, starts_on=datetime.date(2026, 3, 15), ends_on=datetime.date(2026, 12, 31)
    )
    with on(datetime.date(2026, 3, 15)):
        [invoice] = automatic.bill_membership(membership_id=term.pk)
    assert invoice.net_cents == 25_000  # 300 € × 10 months begun / 12
    assert "période du 15/03/2026 au 31/12/2026 (prorata : 10 mois sur 12)" in invoice.lines.get().label
    settings_(proration=BillingSettings.Proration.NONE)
    other = Membership.objects.create(
        member=billable_member(status="active"),
        starts_on=datetime.date(2026, 3, 15),
        ends_on=datetime.date(2026, 12, 31),
    )
    with on(datetime.date(2026, 3, 15)):
        [full] = automatic.bill_membership(membership_id=other.pk)
    assert full.net_cents == 30_000


# --- Never twice -------------------------------------------------------------------------------------


def test_the_signal_sent_again_bills_nothing_more(firm, run, eager_celery):
    from mediation.members.signals import membership_term_started

    term = run(accepted, member=billable_member())
    for _ in range(3):
        run(membership_term_started.send, sender=Membership, membership_id=term.pk)
    assert len(membership_invoices(term)) == 1
    assert automatic.catch_up().issued == 0


def test_a_terminated_term_is_not_billed(firm):
    term = accepted(billable_member())
    Membership.objects.filter(pk=term.pk).update(terminated_at=timezone.now())
    assert automatic.bill_membership(membership_id=term.pk) == []
    assert not Invoice.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_billers_issue_one_invoice(tenant_a, media_root):
    from django.db import connections

    firm_identity()
    tariffs()
    publish()
    term = accepted(billable_member())
    barrier = threading.Barrier(2, timeout=30)
    results: list[int] = []
    errors: list[BaseException] = []

    def bill() -> None:
        try:
            connection.set_tenant(tenant_a)
            barrier.wait()
            results.append(len(automatic.bill_membership(membership_id=term.pk, send=False)))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=bill) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(results) == [0, 1]
    assert Invoice.objects.filter(membership=term).count() == 1


# --- The firm's identity incomplete: nothing kept, the catch-up bills it later -----------------------------


def test_an_incomplete_identity_leaves_nothing_and_the_catch_up_bills_it_once_completed(
    tenant_a, media_root, run, eager_celery
):
    tariffs()
    publish()
    term = run(accepted, member=billable_member())  # the firm has no SIREN yet: issuing is refused
    assert not Invoice.objects.exists()
    assert automatic.catch_up().stopped == "seller_incomplete"
    firm_identity()
    assert automatic.catch_up().issued == 1
    assert len(membership_invoices(term)) == 1
    assert automatic.catch_up().issued == 0


def test_a_member_address_missing_is_skipped_by_the_catch_up_not_the_others(firm):
    incomplete = accepted(billable_member(address_line1=""))
    complete = accepted(billable_member())
    result = automatic.catch_up()
    assert (result.issued, result.failed) == (1, 1)
    assert membership_invoices(incomplete) == [] and len(membership_invoices(complete)) == 1


# --- The per-case fee ------------------------------------------------------------------------------


@pytest.fixture
def case_fee(firm):
    product = Product.objects.create(code="frais-dossier", name="Frais de dossier", kind="case_fee")
    Price.objects.create(product=product, unit_price_cents=5_000, valid_from=datetime.date(2020, 1, 1))
    return product


@pytest.fixture
def accepting(run, eager_celery, monkeypatch):
    """The business accepts to take part in a new case, with what it sets off after commit."""
    from mediation.cases import services as cases
    from tests.factories import opened_case

    monkeypatch.setattr(cases, "_send_letters_after_commit", lambda event: None)  # letters: tests/cases
    mediator = UserFactory(role="mediator")

    def accept(member):
        case = opened_case(mediator, member)
        return run(cases.record_business_answer, case=case, accepts=True)

    return accept


def test_the_business_accepting_a_case_is_billed_the_fee_once(case_fee, accepting, run):
    from mediation.cases import signals

    case = accepting(billable_member())
    [invoice] = Invoice.objects.filter(purpose=P.CASE_FEE)
    assert invoice.case_id == case.pk and invoice.member_id == case.member_id
    assert invoice.status == Invoice.Status.ISSUED and invoice.gross_cents == 6_000
    assert invoice.lines.get().label == f"Frais de dossier — dossier {case.reference}"
    run(signals.business_accepted.send, sender=type(case), case_id=case.pk, event_id=0)
    assert automatic.bill_case_fee(case_id=case.pk) is None
    assert automatic.catch_up().case_fees == 0
    assert Invoice.objects.filter(purpose=P.CASE_FEE).count() == 1


def test_whatever_happens_to_the_case_after_its_fee_stays(case_fee, accepting):
    case = accepting(billable_member())
    type(case).objects.filter(pk=case.pk).update(status="closed")
    assert automatic.bill_case_fee(case_id=case.pk) is None
    assert Invoice.objects.get(purpose=P.CASE_FEE).status == Invoice.Status.ISSUED


def test_a_group_has_its_own_case_fee(case_fee, accepting):
    group = GroupFactory(name="Réseau des garagistes")
    Price.objects.create(product=case_fee, group=group, unit_price_cents=2_000, valid_from=datetime.date(2020, 1, 1))
    accepting(billable_member(group=group))
    assert Invoice.objects.get(purpose=P.CASE_FEE).net_cents == 2_000


def test_no_fee_product_no_price_or_no_member_bills_nothing(firm, accepting):
    accepting(billable_member())
    assert not Invoice.objects.filter(purpose=P.CASE_FEE).exists()
    product = Product.objects.create(code="frais", name="Frais", kind="case_fee")
    case = accepting(billable_member())
    assert not Invoice.objects.filter(purpose=P.CASE_FEE).exists()  # a product without a price
    Price.objects.create(product=product, unit_price_cents=1_000, valid_from=datetime.date(2020, 1, 1))
    type(case).objects.filter(pk=case.pk).update(member=None)
    assert automatic.bill_case_fee(case_id=case.pk) is None
    assert automatic.bill_case_fee(case_id=999_999) is None


def test_a_fee_missed_is_billed_by_the_catch_up(tenant_a, media_root, accepting):
    tariffs()
    product = Product.objects.create(code="frais", name="Frais", kind="case_fee")
    Price.objects.create(product=product, unit_price_cents=1_000, valid_from=datetime.date(2020, 1, 1))
    case = accepting(billable_member())  # identity incomplete: refused, nothing kept
    assert not Invoice.objects.exists()
    firm_identity()
    assert automatic.catch_up().case_fees == 1
    assert Invoice.objects.get(purpose=P.CASE_FEE).case_id == case.pk


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_case_fee_billers_issue_one_invoice(tenant_a, media_root, monkeypatch):
    from django.db import connections

    from mediation.cases import services as cases
    from tests.factories import opened_case

    monkeypatch.setattr(cases, "_send_letters_after_commit", lambda event: None)
    firm_identity()
    product = Product.objects.create(code="frais", name="Frais", kind="case_fee")
    Price.objects.create(product=product, unit_price_cents=1_000, valid_from=datetime.date(2020, 1, 1))
    case = cases.record_business_answer(case=opened_case(UserFactory(role="mediator"), billable_member()), accepts=True)
    barrier = threading.Barrier(2, timeout=30)
    results: list[bool] = []
    errors: list[BaseException] = []

    def bill() -> None:
        try:
            connection.set_tenant(tenant_a)
            barrier.wait()
            results.append(automatic.bill_case_fee(case_id=case.pk, send=False) is not None)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=bill) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(results) == [False, True]
    assert Invoice.objects.filter(case_id=case.pk).count() == 1
