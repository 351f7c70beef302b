"""The yearly renewal run: who is due, chunks that never bill twice, a crashed run resumed, the pages."""

from __future__ import annotations

import datetime
import time

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from billing import renewals
from billing.errors import BillingError
from billing.models import Invoice, Payment, RenewalRun, SepaMandate
from core.models import AuditEntry
from core.tasks import fan_out
from mediation.members.models import Member, Membership
from tests.billing.helpers import billable_member, finance_user, firm_identity
from tests.factories import UserFactory
from tests.members.membership_helpers import tariffs
from tests.stripe_fake import stripe_fake_fixture  # noqa: F401  (the stripe_fake fixture)

pytestmark = pytest.mark.django_db

PARIS = timezone.get_default_timezone()
TODAY = datetime.date(2026, 6, 1)  # lead 30 days: terms ending by 1 July 2026 are renewed
BASE = "/staff/facturation/renouvellements"
S = Member.Status


def on(day: datetime.date, hour: int = 10, **kwargs):
    return time_machine.travel(datetime.datetime.combine(day, datetime.time(hour), tzinfo=PARIS), **kwargs)


def term(member: Member, starts_on: datetime.date, *, years: int = 1, paid: bool = True) -> Membership:
    from mediation.members.membership import term_end

    paid_at = datetime.datetime.combine(starts_on, datetime.time(12), tzinfo=PARIS) if paid else None
    return Membership.objects.create(
        member=member, term_years=years, starts_on=starts_on, ends_on=term_end(starts_on, years), paid_at=paid_at
    )


@pytest.fixture
def world(tenant_a, media_root):
    """A: paid term ending 30/06 (to renew); B: ends 31/08 (not yet); C: unpaid, ends 14/06 (not renewed, its
    term never billed: billed now); D: 3-year commitment whose second year starts 20/06 (billed); E: terminated."""
    firm_identity()
    tariffs()
    members = {
        "A": billable_member(status=S.ACTIVE, legal_name="A"),
        "B": billable_member(status=S.ACTIVE, legal_name="B"),
        "C": billable_member(status=S.RENEWAL_DUE, legal_name="C"),
        "D": billable_member(status=S.ACTIVE, legal_name="D"),
        "E": billable_member(status=S.TERMINATED, legal_name="E"),
    }
    term(members["A"], datetime.date(2025, 7, 1))
    term(members["B"], datetime.date(2025, 9, 1))
    term(members["C"], datetime.date(2025, 6, 15), paid=False)
    term(members["D"], datetime.date(2025, 6, 20), years=3)
    term(members["E"], datetime.date(2025, 6, 20))
    return members


def invoices_of(member: Member) -> list[tuple[datetime.date, datetime.date, int]]:
    return list(
        Invoice.objects.filter(member=member, purpose="membership", kind="invoice")
        .order_by("period_start")
        .values_list("period_start", "period_end", "net_cents")
    )


def start_and_run(by=None, run_on=None) -> RenewalRun:
    run = renewals.start_run(by=by or finance_user(), run_on=run_on)
    return renewals.run_now(run=run, send=False)


# --- Who is due -------------------------------------------------------------------------------------------


def test_the_preview_counts_renewals_invoices_due_and_unpaid_terms_left_out(world):
    with on(TODAY):
        preview = renewals.preview()
    assert (preview.run_on, preview.until) == (TODAY, datetime.date(2026, 7, 1))
    assert (preview.renewals, preview.invoices, preview.unpaid) == (1, 2, 1)
    assert set(preview.member_ids) == {world["A"].pk, world["C"].pk, world["D"].pk}


def test_a_date_chosen_by_staff_widens_the_window(world):
    with on(TODAY):
        preview = renewals.preview(run_on=datetime.date(2026, 8, 15))
    assert preview.until == datetime.date(2026, 9, 14)
    assert preview.renewals == 2  # A and B


def test_a_run_renews_and_bills_what_is_due_and_nothing_else(world):
    with on(TODAY):
        run = start_and_run()
    assert run.status == RenewalRun.Status.DONE and run.finished_at is not None
    assert (run.total, run.done, run.issued, run.skipped, run.failed) == (3, 3, 3, 0, 0)
    renewal = Membership.objects.get(member=world["A"], starts_on=datetime.date(2026, 7, 1))
    assert renewal.ends_on == datetime.date(2027, 6, 30) and renewal.paid_at is None
    assert invoices_of(world["A"]) == [(datetime.date(2026, 7, 1), datetime.date(2027, 6, 30), 30_000)]
    assert invoices_of(world["C"]) == [(datetime.date(2025, 6, 15), datetime.date(2026, 6, 14), 30_000)]
    assert invoices_of(world["D"]) == [(datetime.date(2026, 6, 20), datetime.date(2027, 6, 19), 25_000)]
    assert invoices_of(world["B"]) == invoices_of(world["E"]) == []
    assert Membership.objects.filter(member__in=[world["B"], world["C"], world["D"], world["E"]]).count() == 4
    assert Invoice.objects.get(member=world["A"]).issued_by is None
    assert AuditEntry.objects.filter(action="billing.renewal_run_started", object_id=str(run.pk)).exists()


def test_running_again_never_renews_or_bills_twice(world):
    with on(TODAY):
        start_and_run()
        again = start_and_run()
    assert (again.status, again.total, again.issued) == (RenewalRun.Status.DONE, 0, 0)
    assert Invoice.objects.count() == 3
    assert Membership.objects.filter(member=world["A"]).count() == 2


def test_a_chunk_delivered_twice_changes_nothing(world, monkeypatch):
    monkeypatch.setattr(renewals, "CHUNK_SIZE", 1)
    with on(TODAY):
        run = renewals.start_run(by=finance_user())
        chunks = renewals.plan(run)
        assert len(chunks) == 3 and renewals.plan(run) == []  # planned once
        for chunk in chunks:
            renewals.run_chunk(run_id=run.pk, member_ids=chunk, send=False)
        RenewalRun.objects.filter(pk=run.pk).update(status=RenewalRun.Status.RUNNING)  # as if redelivered early
        renewals.run_chunk(run_id=run.pk, member_ids=chunks[0], send=False)
    assert Invoice.objects.count() == 3
    assert Membership.objects.filter(member=world["A"]).count() == 2


def test_a_run_crashed_in_the_middle_is_resumed_by_a_new_run_without_duplicates(world, monkeypatch):
    monkeypatch.setattr(renewals, "CHUNK_SIZE", 1)
    with on(TODAY):
        crashed = renewals.start_run(by=finance_user())
        chunks = renewals.plan(crashed)
        renewals.run_chunk(run_id=crashed.pk, member_ids=chunks[0], send=False)  # then the worker died
        with pytest.raises(BillingError) as caught:
            renewals.start_run(by=finance_user())
        assert caught.value.code == "run_in_progress"
    with on(TODAY, hour=13):  # three hours later the crashed run counts as interrupted
        resumed = start_and_run()
    crashed.refresh_from_db()
    assert crashed.status == RenewalRun.Status.FAILED and crashed.errors[-1]["code"] == "interrupted"
    assert (resumed.status, resumed.total, resumed.issued) == (RenewalRun.Status.DONE, 2, 2)
    assert Invoice.objects.count() == 3
    assert Membership.objects.filter(member=world["A"]).count() == 2


def test_a_member_that_cannot_be_billed_is_reported_and_not_renewed(world):
    Member.objects.filter(pk=world["A"].pk).update(headcount_band="")
    with on(TODAY):
        run = start_and_run()
    assert (run.done, run.issued, run.failed) == (3, 2, 1)
    [error] = run.errors
    assert error["member"] == world["A"].pk and error["code"] == "no_tariff"
    assert "Aucun tarif d'adhésion" in error["message"]
    assert Membership.objects.filter(member=world["A"]).count() == 1  # the renewal went with its invoice


def test_a_run_is_refused_without_the_firm_identity_for_a_past_date_and_without_the_permission(world):
    from firm.models import FirmProfile

    with on(TODAY):
        with pytest.raises(PermissionDenied):
            renewals.start_run(by=UserFactory(role="read_only"))
        with pytest.raises(BillingError) as past:
            renewals.start_run(by=finance_user(), run_on=TODAY - datetime.timedelta(days=1))
        FirmProfile.objects.update(siren="")
        with pytest.raises(BillingError) as caught:
            renewals.start_run(by=finance_user())
    assert past.value.code == "invalid_date"
    assert caught.value.code == "seller_incomplete"
    assert not RenewalRun.objects.exists()


def test_the_renewal_invoice_is_mailed(world, mailoutbox, django_capture_on_commit_callbacks, eager_celery):
    with on(TODAY), django_capture_on_commit_callbacks(execute=True):
        renewals.start_run(by=finance_user())
    invoice = Invoice.objects.get(member=world["A"])
    assert RenewalRun.objects.get().status == RenewalRun.Status.DONE
    mail = next(m for m in mailoutbox if invoice.number in m.subject)
    assert mail.to == [f"compta-{world['A'].siren}@entreprise.fr"]


# --- A member paying by SEPA Direct Debit is debited for its renewal -------------------------------------


def test_a_member_with_a_sepa_mandate_is_debited_for_its_renewal(
    tenant_a, media_root, stripe_fake, public_client, django_capture_on_commit_callbacks, eager_celery
):
    from billing import automatic
    from tests.billing.payments_helpers import checkout, connect_firm, deliver
    from tests.members.membership_helpers import accepted, publish

    firm_identity()
    tariffs()
    publish()
    start = datetime.date(2025, 6, 10)
    with on(start, tick=True):
        account = connect_firm(stripe_fake)
        member = billable_member()
        first_term = accepted(member)
        [first] = automatic.bill_membership(membership_id=first_term.pk, send=False)
        session = stripe_fake.pay_checkout_by_sepa(checkout(first, "sepa_debit"), account=account)
        deliver(public_client, stripe_fake.event("checkout.session.completed", session, account=account))
        intent = stripe_fake.settle_sepa(session["payment_intent"], account=account)
        deliver(public_client, stripe_fake.event("payment_intent.succeeded", intent, account=account))
    first.refresh_from_db()
    assert first.status == Invoice.Status.PAID
    assert SepaMandate.objects.get(member=member).status == SepaMandate.Status.ACTIVE

    with on(datetime.date(2026, 5, 25), tick=True):
        with django_capture_on_commit_callbacks(execute=True):
            renewals.start_run(by=finance_user())
        renewal = Invoice.objects.get(member=member, period_start=datetime.date(2026, 6, 10))
        [debit] = [
            i
            for i in stripe_fake.of_type("payment_intent", account)
            if i["metadata"].get("invoice_id") == str(renewal.pk)
        ]
        assert (debit["amount"], debit["status"]) == (36_000, "processing")
        settled = stripe_fake.settle_sepa(debit["id"], account=account)
        deliver(public_client, stripe_fake.event("payment_intent.succeeded", settled, account=account))
    renewal.refresh_from_db()
    assert renewal.status == Invoice.Status.PAID
    assert Payment.objects.get(invoice=renewal).method == Payment.Method.SEPA_DEBIT
    assert Membership.objects.get(member=member, starts_on=datetime.date(2026, 6, 10)).paid_at is not None


# --- Beat --------------------------------------------------------------------------------------------------


def test_the_daily_tasks_fan_out_to_every_firm(db, use_tenant, eager_celery):
    for name in ("billing.renewal_tasks.daily_billing_catch_up", "billing.dunning_tasks.daily_dunning"):
        assert fan_out.apply(args=(name,)).get() == ["alpha", "beta"]
    from config.celery import app

    scheduled = {entry["args"][0] for entry in app.conf.beat_schedule.values() if entry.get("args")}
    assert {"billing.renewal_tasks.daily_billing_catch_up", "billing.dunning_tasks.daily_dunning"} <= scheduled


# --- The pages -----------------------------------------------------------------------------------------------


def login(client, role: str):
    user = UserFactory(role=role)
    client.force_login(user)
    return user


def test_finance_previews_then_starts_a_run_and_follows_it(
    world, client_a, django_capture_on_commit_callbacks, eager_celery
):
    login(client_a, "finance")
    with on(TODAY):
        page = client_a.get(f"{BASE}/")
        assert page.status_code == 200 and "Aucun traitement pour le moment." in page.content.decode()
        preview = client_a.get(f"{BASE}/", {"run_on": "2026-06-01"})
        body = preview.content.decode()
        assert "1 adhérent à renouveler" in body and "2 autres factures dues" in body
        assert "Lancer le traitement (3 adhérents)" in body
        with django_capture_on_commit_callbacks(execute=True):
            started = client_a.post(f"{BASE}/lancer/", {"run_on": "2026-06-01"})
    run = RenewalRun.objects.get()
    assert started.status_code == 302 and started["Location"] == f"{BASE}/{run.pk}/"
    progress = client_a.get(f"{BASE}/{run.pk}/progression/")
    assert progress.status_code == 200 and progress["Cache-Control"] == "no-store"
    assert progress.json() == {
        "status": "done",
        "status_label": "Terminé",
        "total": 3,
        "done": 3,
        "issued": 3,
        "skipped": 0,
        "failed": 0,
        "percent": 100,
        "running": False,
    }
    detail = client_a.get(f"{BASE}/{run.pk}/").content.decode()
    assert "3 adhérents traités sur 3 : 3 factures émises, 0 sans changement, 0 en erreur." in detail
    assert 'aria-current="page"' in detail


def test_a_running_run_page_polls_its_progress(world, client_a):
    login(client_a, "finance")
    with on(TODAY):
        run = renewals.start_run(by=finance_user())
        renewals.plan(run)
    body = client_a.get(f"{BASE}/{run.pk}/").content.decode()
    assert "js/progress.js" in body and f'data-progress-url="{BASE}/{run.pk}/progression/"' in body
    assert client_a.get(f"{BASE}/{run.pk}/progression/").json()["running"] is True


def test_bad_dates_and_a_second_run_are_refused_on_the_page(world, client_a):
    login(client_a, "finance")
    with on(TODAY):
        past = client_a.post(f"{BASE}/lancer/", {"run_on": "2026-05-01"})
        assert past.status_code == 400 and "La date du traitement ne peut pas être passée." in past.content.decode()
        garbage = client_a.get(f"{BASE}/", {"run_on": "pas une date"})
        assert garbage.status_code == 400 and 'role="alert"' in garbage.content.decode()
        renewals.start_run(by=finance_user())
        second = client_a.post(f"{BASE}/lancer/", {"run_on": "2026-06-01"})
    assert second.status_code == 409
    assert "Un traitement des renouvellements est déjà en cours." in second.content.decode()
    assert RenewalRun.objects.count() == 1


def test_read_only_sees_the_runs_but_cannot_start_one(world, client_a):
    with on(TODAY):
        run = start_and_run()
        login(client_a, "read_only")
        assert client_a.get(f"{BASE}/").status_code == 200
        preview = client_a.get(f"{BASE}/", {"run_on": "2026-06-01"}).content.decode()
        assert "Lancer le traitement" not in preview
        assert client_a.get(f"{BASE}/{run.pk}/").status_code == 200
        assert client_a.post(f"{BASE}/lancer/", {"run_on": "2026-06-01"}).status_code == 403
    assert RenewalRun.objects.count() == 1


@pytest.mark.parametrize("role", ["mediator", "case_officer"])
def test_people_without_billing_rights_get_403(world, client_a, role):
    login(client_a, role)
    run = RenewalRun.objects.create(run_on=TODAY)
    for url in (f"{BASE}/", f"{BASE}/{run.pk}/", f"{BASE}/{run.pk}/progression/", f"{BASE}/relances/"):
        assert client_a.get(url).status_code == 403, url
    assert client_a.post(f"{BASE}/lancer/", {"run_on": "2026-06-01"}).status_code == 403


def test_anonymous_is_sent_to_the_login_page(world, client_a):
    response = client_a.get(f"{BASE}/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_a_user_of_another_firm_gets_nothing_of_alpha(world, client_b, use_tenant):
    with on(TODAY):
        run = start_and_run()
    use_tenant("beta")
    login(client_b, "finance")
    assert client_b.get(f"{BASE}/{run.pk}/").status_code == 404
    assert client_b.get(f"{BASE}/{run.pk}/progression/").status_code == 404
    listing = client_b.get(f"{BASE}/").content.decode()
    assert "Aucun traitement pour le moment." in listing
    use_tenant("alpha")
    assert RenewalRun.objects.filter(pk=run.pk).exists()


# --- A real Celery worker shares the chunks -------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_plans_and_runs_the_run_to_the_end(celery_worker_process, tenant_a, media_root):
    firm_identity()
    tariffs()
    today = timezone.localdate()
    for n in range(5):
        member = billable_member(status=S.ACTIVE, legal_name=f"Entreprise {n}")
        term(member, today - datetime.timedelta(days=350))
    run = renewals.start_run(by=finance_user())  # committed: the worker plans it and runs its chunk
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status == RenewalRun.Status.DONE:
            break
        time.sleep(0.5)
    connection.set_tenant(tenant_a)
    assert (run.status, run.done, run.issued, run.failed) == (RenewalRun.Status.DONE, 5, 5, 0), run.errors
    assert Invoice.objects.filter(purpose="membership", status="issued").count() == 5
    assert Membership.objects.filter(starts_on__gt=today).count() == 5


def test_the_run_page_lists_the_members_in_error(world, client_a):
    Member.objects.filter(pk=world["A"].pk).update(headcount_band="")
    with on(TODAY):
        run = start_and_run()
    login(client_a, "read_only")
    body = text_of(client_a.get(f"{BASE}/{run.pk}/"))
    assert "1 erreur" in body and "Aucun tarif d'adhésion n'est en vigueur" in body
    assert f'href="/staff/adherents/{world["A"].pk}/"' in client_a.get(f"{BASE}/{run.pk}/").content.decode()


def text_of(response) -> str:
    import html
    import re

    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())
