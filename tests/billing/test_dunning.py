"""Dunning: reminders at due date + 7 and + 30 days with the firm's letters, then coverage suspended, then restored."""

from __future__ import annotations

import datetime
import html
import re

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from billing import automatic, dunning, services
from billing.errors import BillingError
from billing.models import DunningNotice, Invoice
from core.models import AuditEntry
from mediation.members import kit
from mediation.members.coverage import Reason, coverage_of
from tests.billing.helpers import LINE, billable_member, finance_user, firm_identity, issued_invoice
from tests.factories import UserFactory
from tests.members.kit_helpers import firm_with_mediator
from tests.members.membership_helpers import accepted, publish, tariffs

pytestmark = pytest.mark.django_db

PARIS = timezone.get_default_timezone()
L = DunningNotice.Level
BASE = "/staff/facturation/renouvellements/relances/"


def on(day: datetime.date, hour: int = 10):
    return time_machine.travel(datetime.datetime.combine(day, datetime.time(hour), tzinfo=PARIS), tick=False)


def days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


def text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Runs a call and the e-mails it left for after commit."""

    def runner(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return runner


@pytest.fixture
def firm(tenant_a, media_root):
    firm_with_mediator()
    firm_identity()
    tariffs()
    publish()


def levels(invoice: Invoice) -> list[str]:
    return list(DunningNotice.objects.filter(invoice=invoice).order_by("sent_at", "pk").values_list("level", flat=True))


# --- The whole loop ---------------------------------------------------------------------------------------


def test_overdue_reminders_suspension_badge_then_payment_restores_the_coverage(firm, run, mailoutbox, client_a):
    """A 3-year commitment: year 1 paid; year 2's invoice stays unpaid; the business loses its badge, then pays."""
    finance = finance_user()
    start = datetime.date(2025, 3, 1)
    with on(start):
        member = billable_member(legal_name="Garage Martin SARL")
        term = accepted(member, term_years=3)
        [first] = automatic.bill_membership(membership_id=term.pk, send=False)
        services.record_payment(by=finance, invoice=first, amount_cents=first.gross_cents, method="transfer")
        token = kit.badge_token(member=member).token
    with on(datetime.date(2026, 2, 5)):
        assert automatic.catch_up(send=False).issued == 1
    second = Invoice.objects.get(membership=term, period_start=datetime.date(2026, 3, 1))
    due = second.due_date
    assert due == datetime.date(2026, 3, 7)

    with on(due + days(6)):
        assert run(dunning.daily_dunning).as_dict() == {"first": 0, "second": 0, "suspended": 0, "failed": 0}
    with on(due + days(7)):
        assert run(dunning.daily_dunning).first == 1
        assert "est couvert" in text(client_a.get(f"/verifier/{token}/"))
    [reminder] = [m for m in mailoutbox if "Rappel" in m.subject]
    assert reminder.subject == f"Rappel : facture {second.number} échue le 07/03/2026"
    assert reminder.to == [f"compta-{member.siren}@entreprise.fr"]
    assert "il reste 300,00 €" in reminder.body.replace("\u202f", " ").replace("\xa0", " ")
    assert reminder.attachments[0][0] == f"{second.number}.pdf"
    link = re.search(r"http://alpha\.localhost:8000/factures/payer/([\w-]+)/", reminder.body)
    assert link is not None and services.invoice_by_token(link.group(1)) == second
    with on(due + days(8)):
        assert run(dunning.daily_dunning).first == 0
    with on(due + days(30)):
        assert run(dunning.daily_dunning).second == 1
    [second_mail] = [m for m in mailoutbox if m.subject.startswith("Seconde relance")]
    assert "échue depuis 30 jours" in second_mail.body and "40,00" in second_mail.body
    assert services.invoice_by_token(link.group(1)) is None  # the newest link replaces the older ones

    with on(due + days(45)):
        assert run(dunning.daily_dunning).suspended == 1
        member.refresh_from_db()
        assert coverage_of(member=member, today=timezone.localdate()).reason == Reason.SUSPENDED
        badge = text(client_a.get(f"/verifier/{token}/"))
        assert "Garage Martin SARL n'est pas couvert" in badge
        assert "L'adhésion est suspendue pour défaut de paiement" in badge
        assert "Non couvert" in client_a.get(f"/verifier/{token}/badge.svg").content.decode()
    assert [m for m in mailoutbox if m.subject.startswith("Adhésion suspendue")]
    assert levels(second) == [L.FIRST, L.SECOND, L.SUSPENDED]
    assert AuditEntry.objects.filter(action="billing.coverage_suspended", object_id=str(second.pk)).exists()
    with on(due + days(46)):
        assert run(dunning.daily_dunning).as_dict() == {"first": 0, "second": 0, "suspended": 0, "failed": 0}

    with on(due + days(50)):
        services.record_payment(by=finance, invoice=second, amount_cents=second.balance_cents, method="transfer")
        assert coverage_of(member=member, today=timezone.localdate()).covered
        assert "est couvert" in text(client_a.get(f"/verifier/{token}/"))
        assert run(dunning.daily_dunning).as_dict() == {"first": 0, "second": 0, "suspended": 0, "failed": 0}


# --- Each step once, in order ---------------------------------------------------------------------------------


def test_a_run_that_missed_days_sends_only_the_latest_reminder_due(firm, run, mailoutbox):
    invoice = issued_invoice()
    with on(invoice.due_date + days(35)):
        result = run(dunning.daily_dunning)
    assert (result.first, result.second) == (0, 1)
    with on(invoice.due_date + days(36)):
        assert run(dunning.daily_dunning).first == 0
    assert levels(invoice) == [L.SECOND]
    assert [m.subject for m in mailoutbox] == [f"Seconde relance : facture {invoice.number} impayée"]


def test_an_invoice_that_bills_no_term_is_reminded_but_suspends_nothing(firm, run):
    invoice = issued_invoice()
    with on(invoice.due_date + days(60)):
        result = run(dunning.daily_dunning)
    assert (result.second, result.suspended) == (1, 0)
    assert levels(invoice) == [L.SECOND]


def test_paid_credited_or_not_yet_late_invoices_are_left_alone(firm, run):
    finance = finance_user()
    paid, credited, recent = issued_invoice(by=finance), issued_invoice(by=finance), issued_invoice(by=finance)
    services.record_payment(by=finance, invoice=paid, amount_cents=paid.gross_cents, method="cheque")
    services.create_credit_note(by=finance, invoice=credited, reason="Erreur de tarif")
    Invoice.objects.filter(pk=recent.pk).update(due_date=timezone.localdate() + days(40))
    with on(timezone.localdate() + days(40)):
        result = run(dunning.daily_dunning)
    assert result.as_dict() == {"first": 0, "second": 0, "suspended": 0, "failed": 0}
    assert not DunningNotice.objects.exists()


def test_a_partly_paid_invoice_is_reminded_of_what_is_left(firm, run, mailoutbox):
    finance = finance_user()
    invoice = issued_invoice(by=finance)
    services.record_payment(by=finance, invoice=invoice, amount_cents=10_000, method="transfer")
    with on(invoice.due_date + days(7)):
        assert run(dunning.daily_dunning).first == 1
    body = mailoutbox[-1].body.replace("\u202f", " ").replace("\xa0", " ")
    assert "il reste 260,00 €" in body


def test_notifying_twice_at_once_sends_once(firm):
    invoice = issued_invoice()
    with on(invoice.due_date + days(7)):
        assert dunning.notify(invoice=invoice, level=L.FIRST) is True
        assert dunning.notify(invoice=invoice, level=L.FIRST) is False
    assert DunningNotice.objects.filter(invoice=invoice).count() == 1


# --- The firm's letters -----------------------------------------------------------------------------------------


def test_the_firms_own_letter_is_used_with_its_placeholders(firm, run, mailoutbox):
    dunning.save_letters(
        by=finance_user(),
        values={
            "first_reminder_subject": "Petit rappel — {numero}",
            "first_reminder_body": "{adherent}, {montant} restent dus depuis le {echeance} ({jours_retard} j). "
            "Payer : {lien_paiement} — {cabinet}",
            "second_reminder_subject": "",
            "second_reminder_body": "",
        },
    )
    member = billable_member(legal_name="Boulangerie Dupain")
    invoice = issued_invoice(member=member)
    with on(invoice.due_date + days(9)):
        run(dunning.daily_dunning)
    mail = mailoutbox[-1]
    assert mail.subject == f"Petit rappel — {invoice.number}"
    body = mail.body.replace("\u202f", " ").replace("\xa0", " ")
    assert body.startswith("Boulangerie Dupain, 360,00 € restent dus depuis le ")
    assert "(9 j). Payer : http://alpha.localhost:8000/factures/payer/" in body
    assert body.endswith("— Cabinet Alpha Médiation SAS")


def test_unknown_placeholders_are_refused_when_saving_and_only_billing_editors_save(firm):
    with pytest.raises(BillingError) as caught:
        dunning.save_letters(by=finance_user(), values={"first_reminder_body": "Réglez {montant} avant le {date}"})
    assert caught.value.code == "unknown_placeholder" and caught.value.field == "first_reminder_body"
    with pytest.raises(PermissionDenied):
        dunning.save_letters(by=UserFactory(role="read_only"), values={})


def test_finance_edits_the_letters_on_the_page(firm, client_a):
    client_a.force_login(finance_user())
    page = client_a.get(BASE)
    assert page.status_code == 200
    body = page.content.decode()
    assert "{lien_paiement}" in body and "Rappel : facture {numero} échue le {echeance}" in body  # the default shows
    refused = client_a.post(BASE, {"first_reminder_subject": "Rappel {facture}"})
    assert refused.status_code == 400 and "Champs inconnus : {facture}." in refused.content.decode()
    saved = client_a.post(BASE, {"first_reminder_subject": "Rappel {numero}", "second_reminder_body": "Dernier avis"})
    assert saved.status_code == 302
    config = services.billing_settings()
    assert (config.first_reminder_subject, config.second_reminder_body) == ("Rappel {numero}", "Dernier avis")
    entry = AuditEntry.objects.get(action="billing.dunning_letters_saved")
    assert entry.changes["first_reminder_subject"] == ["", "Rappel {numero}"]


def test_read_only_sees_the_reminders_sent_but_not_the_letters(firm, client_a, run):
    invoice = issued_invoice()
    with on(invoice.due_date + days(7)):
        run(dunning.daily_dunning)
    client_a.force_login(UserFactory(role="read_only"))
    page = client_a.get(BASE)
    assert page.status_code == 200
    body = page.content.decode()
    assert invoice.number in body and "Première relance" in body and "<textarea" not in body
    assert client_a.post(BASE, {"first_reminder_subject": "x"}).status_code == 403
    assert services.billing_settings().first_reminder_subject == ""


def test_a_user_of_another_firm_sees_none_of_alphas_reminders(firm, client_b, run, use_tenant):
    invoice = issued_invoice()
    with on(invoice.due_date + days(7)):
        run(dunning.daily_dunning)
    use_tenant("beta")
    client_b.force_login(finance_user())
    body = client_b.get(BASE).content.decode()
    assert invoice.number not in body and "Aucune relance pour le moment." in body


def test_mediators_get_403(firm, client_a):
    client_a.force_login(UserFactory(role="mediator"))
    assert client_a.get(BASE).status_code == 403
    assert client_a.post(BASE, {"first_reminder_subject": "x"}).status_code == 403


def test_placeholders_fill_and_unknown_ones_stay():
    values = {"numero": "FA-2026-000001", "montant": "10,00 €"}
    assert dunning.fill("{numero} : {montant} {autre} {{numero}}", values) == (
        "FA-2026-000001 : 10,00 € {autre} {FA-2026-000001}"
    )
    assert dunning.unknown_placeholders("{numero} {x} {lien_paiement} {y}") == ["x", "y"]
    assert LINE["unit_price_cents"] == 30_000  # the helpers' invoice: 300 € + 20 % VAT = 360 €
