"""The membership services: statuses, tariffs, proposals, the convention accepted online, terms and the daily run."""

from __future__ import annotations

import datetime
import hashlib
import itertools
import zoneinfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from mediation.members import membership as ms
from mediation.members.models import ConventionAcceptance, Member, Membership, Proposal, StatusChange
from tests.factories import AdminFactory, GroupFactory, MemberFactory, UserFactory
from tests.members.membership_helpers import (
    CONVENTION_TEXT,
    accepted,
    active_member,
    member_with_contacts,
    normalise,
    pdf_text,
    publish,
    tariffs,
)

S = Member.Status
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def at(day: datetime.date, hour: int = 9) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, tzinfo=PARIS)


@pytest.fixture
def admin(tenant_a, media_root):
    return AdminFactory(email="admin@cabinet.fr")


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Runs a call and the work it left for after commit (the e-mails)."""

    def runner(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return runner


# --- Statuses ----------------------------------------------------------------------------------

ALL_PAIRS = [(a, b) for a, b in itertools.product(S.values, S.values) if a != b]
LEGAL = {(a, b) for a, targets in ms.STATUS_TRANSITIONS.items() for b in targets}


def test_the_lifecycle_of_the_issue_is_in_the_table():
    for before, after in [
        (S.PROSPECT, S.PROPOSAL_SENT),
        (S.PROPOSAL_SENT, S.CONVENTION_ACCEPTED),
        (S.CONVENTION_ACCEPTED, S.ACTIVE),
        (S.ACTIVE, S.RENEWAL_DUE),
        (S.RENEWAL_DUE, S.ACTIVE),
        (S.RENEWAL_DUE, S.LAPSED),
        (S.ACTIVE, S.TERMINATED),
        (S.RENEWAL_DUE, S.TERMINATED),
        (S.LAPSED, S.CONVENTION_ACCEPTED),
    ]:
        assert (before, after) in LEGAL
    for before, after in [
        (S.PROSPECT, S.ACTIVE),
        (S.PROPOSAL_SENT, S.ACTIVE),
        (S.LAPSED, S.ACTIVE),
        (S.TERMINATED, S.ACTIVE),
        (S.PROSPECT, S.TERMINATED),
    ]:
        assert (before, after) not in LEGAL


@pytest.mark.parametrize(("before", "after"), ALL_PAIRS)
def test_set_status_allows_exactly_the_table(tenant_a, before, after):
    member = MemberFactory(status=before)
    if (before, after) in LEGAL:
        changed = ms.set_status(member=member, to=after, reason="Pourquoi pas")
        assert changed.status == after
        row = StatusChange.objects.get(member=member)
        assert (row.before, row.after, row.reason, row.by) == (before, after, "Pourquoi pas", None)
    else:
        with pytest.raises(ms.MembershipError) as error:
            ms.set_status(member=member, to=after, reason="Non")
        assert error.value.code == "transition_not_allowed"
        member.refresh_from_db()
        assert member.status == before
        assert not StatusChange.objects.filter(member=member).exists()


def test_history_is_appended_in_order_with_who_and_when(tenant_a):
    officer = UserFactory(role="case_officer")
    member = MemberFactory()
    with time_machine.travel(at(datetime.date(2025, 3, 1)), tick=False):
        ms.set_status(member=member, to=S.PROPOSAL_SENT, reason="Devis envoyé", by=officer)
    with time_machine.travel(at(datetime.date(2025, 3, 5)), tick=False):
        ms.set_status(member=member, to=S.PROSPECT, reason="Devis refusé", by=officer)

    rows = list(ms.status_history(member=member))
    assert [(r.before, r.after, r.reason, r.by) for r in rows] == [
        (S.PROSPECT, S.PROPOSAL_SENT, "Devis envoyé", officer),
        (S.PROPOSAL_SENT, S.PROSPECT, "Devis refusé", officer),
    ]
    assert [timezone_date(r.at) for r in rows] == [datetime.date(2025, 3, 1), datetime.date(2025, 3, 5)]


def timezone_date(moment):
    return moment.astimezone(PARIS).date()


def test_a_status_change_by_a_user_needs_members_edit(tenant_a):
    member = MemberFactory()
    with pytest.raises(PermissionDenied):
        ms.set_status(member=member, to=S.PROPOSAL_SENT, reason="x", by=UserFactory(role="read_only"))
    assert not StatusChange.objects.exists()


# --- Tariffs and conventions ----------------------------------------------------------------------


def test_current_tariff_is_the_latest_in_force(admin):
    old = ms.create_tariff(
        by=admin, headcount_band="1_9", term_years=1, yearly_price_cents=30_000, valid_from=datetime.date(2024, 1, 1)
    )
    new = ms.create_tariff(
        by=admin, headcount_band="1_9", term_years=1, yearly_price_cents=32_000, valid_from=datetime.date(2025, 1, 1)
    )
    ms.create_tariff(
        by=admin,
        headcount_band="1_9",
        term_years=3,
        yearly_price_cents=27_000,
        valid_from=datetime.date(2024, 1, 1),
        valid_until=datetime.date(2024, 12, 31),
    )

    assert ms.current_tariff(headcount_band="1_9", term_years=1, on=datetime.date(2024, 6, 1)) == old
    assert ms.current_tariff(headcount_band="1_9", term_years=1, on=datetime.date(2025, 6, 1)) == new
    assert ms.current_tariff(headcount_band="1_9", term_years=3, on=datetime.date(2025, 6, 1)) is None
    assert ms.current_tariff(headcount_band="10_49", term_years=1, on=datetime.date(2025, 6, 1)) is None


def test_creating_a_tariff_needs_members_edit(admin):
    with pytest.raises(PermissionDenied):
        ms.create_tariff(
            by=UserFactory(role="finance"),
            headcount_band="1_9",
            term_years=1,
            yearly_price_cents=1,
            valid_from=datetime.date(2025, 1, 1),
        )


def test_publishing_numbers_versions_and_keeps_the_earlier_ones(admin):
    first = publish(admin, text="Texte un")
    second = publish(admin, text="Texte deux")

    first.refresh_from_db()
    assert (first.version, first.text, second.version) == (1, "Texte un", 2)
    assert ms.current_convention() == second


def test_an_empty_convention_is_refused(admin):
    with pytest.raises(ms.MembershipError):
        ms.publish_convention(by=admin, title="Convention", text="   ")


# --- Proposals --------------------------------------------------------------------------------------


def test_proposal_lines_default_from_the_tariff(admin):
    tariffs()
    member = member_with_contacts(headcount_band="10_49")
    valid = datetime.date.today() + datetime.timedelta(days=30)

    upfront = ms.create_proposal(by=admin, member=member, term_years=3, upfront=True, lines=None, valid_until=valid)
    yearly = ms.create_proposal(by=admin, member=member, term_years=1, upfront=False, lines=[], valid_until=valid)

    assert upfront.total_cents == 3 * 25_000 and len(upfront.lines) == 1
    assert yearly.total_cents == 30_000
    assert upfront.status == Proposal.Status.DRAFT


def test_a_groups_proposal_carries_its_discount(admin):
    tariffs()
    member = member_with_contacts(group=GroupFactory(name="Fédération du commerce"))
    proposal = ms.create_proposal(
        by=admin,
        member=member,
        term_years=1,
        upfront=False,
        lines=None,
        valid_until=datetime.date.today(),
        discount_percent=20,
    )

    assert proposal.total_cents == 24_000
    assert "Fédération du commerce" in proposal.lines[1]["label"]
    assert proposal.lines[1]["unit_price_cents"] == -6_000


def test_a_proposal_without_tariff_or_lines_is_refused(admin):
    member = member_with_contacts()
    with pytest.raises(ms.MembershipError) as error:
        ms.create_proposal(
            by=admin, member=member, term_years=1, upfront=False, lines=None, valid_until=datetime.date.today()
        )
    assert error.value.code == "no_tariff"


@pytest.mark.parametrize(
    "lines",
    [
        [{"label": "", "quantity": 1, "unit_price_cents": 100}],
        [{"label": "X", "quantity": 0, "unit_price_cents": 100}],
        [{"label": "X", "quantity": "beaucoup", "unit_price_cents": 100}],
        [{"label": "X", "quantity": 1, "unit_price_cents": -100}],
        [{"label": "X", "quantity": 1, "unit_price_cents": 100, "vat_rate": "NaN"}],
        ["pas une ligne"],
    ],
)
def test_bad_lines_are_refused(admin, lines):
    with pytest.raises(ms.MembershipError) as error:
        ms.create_proposal(
            by=admin,
            member=member_with_contacts(),
            term_years=1,
            upfront=False,
            lines=lines,
            valid_until=datetime.date.today(),
        )
    assert error.value.code == "invalid_lines"


def test_sending_a_proposal_stores_the_pdf_mails_the_link_and_moves_the_member(admin, run, mailoutbox):
    tariffs()
    member = member_with_contacts(legal_name="Boulangerie Dupont")
    proposal = ms.create_proposal(
        by=admin,
        member=member,
        term_years=1,
        upfront=False,
        lines=None,
        valid_until=datetime.date.today() + datetime.timedelta(days=30),
        notes="Tarif de lancement",
    )

    proposal, token = run(ms.send_proposal, by=admin, proposal=proposal)

    member.refresh_from_db()
    assert member.status == S.PROPOSAL_SENT
    assert proposal.status == Proposal.Status.SENT and proposal.sent_at
    assert proposal.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in proposal.token_hash
    with proposal.pdf.open("rb") as handle:
        text = pdf_text(handle.read())
    assert "Boulangerie Dupont" in text and "300,00" in text and "Tarif de lancement" in text
    (mail,) = mailoutbox
    assert sorted(mail.to) == ["compta@entreprise.fr", "dirigeant@entreprise.fr"]
    link = ms.proposal_link(token)
    assert link.startswith("http://alpha.localhost") and link.endswith(f"/adherer/proposition/{token}/")
    assert link in mail.body
    assert mail.attachments[0][0] == "proposition.pdf" and mail.attachments[0][1].startswith(b"%PDF")
    assert ms.proposal_by_token(token) == proposal
    assert ms.proposal_by_token("autre-chose") is None
    assert StatusChange.objects.get(member=member).by == admin


def test_a_proposal_is_not_found_from_another_firm(admin, tenant_b_switch):
    tariffs()
    member = member_with_contacts()
    proposal = ms.create_proposal(
        by=admin, member=member, term_years=1, upfront=False, lines=None, valid_until=datetime.date.today()
    )
    _proposal, token = ms.send_proposal(by=admin, proposal=proposal)

    tenant_b_switch()
    assert ms.proposal_by_token(token) is None


@pytest.fixture
def tenant_b_switch(use_tenant):
    return lambda: use_tenant("beta")


# --- The convention accepted online ----------------------------------------------------------------


def test_acceptance_stores_the_exact_text_with_its_hash(admin, run, mailoutbox):
    convention = publish(admin)
    member = member_with_contacts(legal_name="Garage Central")

    with time_machine.travel(at(datetime.date(2025, 5, 12), 14), tick=False):
        term = run(
            ms.accept_convention,
            member=member,
            convention=convention,
            signer_name="Marie Curie",
            signer_role="Gérante",
            ip_address="203.0.113.7",
        )

    acceptance = ConventionAcceptance.objects.get(member=member)
    content = ms.acceptance_pdf_bytes(acceptance)
    assert hashlib.sha256(content).hexdigest() == acceptance.sha256
    text = pdf_text(content)
    assert normalise(CONVENTION_TEXT) in text
    for expected in (
        "version 1",
        "Garage Central",
        member.siren,
        "Marie Curie",
        "Gérante",
        "203.0.113.7",
        "12/05/2025",
    ):
        assert expected in text
    assert (acceptance.signer_name, acceptance.ip_address, acceptance.convention) == (
        "Marie Curie",
        "203.0.113.7",
        convention,
    )
    assert (term.starts_on, term.ends_on, term.paid_at) == (
        datetime.date(2025, 5, 12),
        datetime.date(2026, 5, 11),
        None,
    )
    member.refresh_from_db()
    assert member.status == S.CONVENTION_ACCEPTED
    (mail,) = mailoutbox
    assert mail.attachments[0][1] == content


def test_a_new_convention_version_leaves_an_earlier_acceptance_unchanged(admin):
    first = publish(admin)
    member = member_with_contacts()
    accepted(member)
    acceptance = ConventionAcceptance.objects.get(member=member)
    content = ms.acceptance_pdf_bytes(acceptance)

    publish(admin, text="Article 1 - Tout autre chose.")

    acceptance.refresh_from_db()
    first.refresh_from_db()
    assert acceptance.convention == first and first.text == CONVENTION_TEXT
    assert ms.acceptance_pdf_bytes(acceptance) == content
    assert hashlib.sha256(content).hexdigest() == acceptance.sha256
    assert "Tout autre chose" not in pdf_text(content)


def test_an_outdated_convention_cannot_be_accepted(admin):
    old = publish(admin)
    publish(admin, text="Nouveau texte")
    with pytest.raises(ms.MembershipError) as error:
        ms.accept_convention(
            member=member_with_contacts(), convention=old, signer_name="A", signer_role="B", ip_address=None
        )
    assert error.value.code == "convention_outdated"
    assert not ConventionAcceptance.objects.exists()


def test_accepting_a_proposal_takes_its_term_and_closes_it(admin):
    tariffs()
    publish(admin)
    member = member_with_contacts()
    proposal = ms.create_proposal(
        by=admin, member=member, term_years=3, upfront=True, lines=None, valid_until=datetime.date.today()
    )
    proposal, _token = ms.send_proposal(by=admin, proposal=proposal)

    with time_machine.travel(at(datetime.date.today()), tick=False):
        term = ms.accept_convention(
            member=member,
            convention=ms.current_convention(),
            signer_name="Jean Valjean",
            signer_role="Président",
            ip_address="2001:db8::1",
            proposal=proposal,
        )

    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.ACCEPTED and proposal.accepted_at
    assert term.term_years == 3 and term.proposal == proposal
    assert term.ends_on == ms.term_end(term.starts_on, 3)
    with pytest.raises(ms.MembershipError) as error:
        ms.accept_convention(
            member=member,
            convention=ms.current_convention(),
            signer_name="Jean Valjean",
            signer_role="Président",
            ip_address=None,
            proposal=proposal,
        )
    assert error.value.code == "already_accepted"


def test_an_expired_proposal_cannot_be_accepted(admin):
    tariffs()
    publish(admin)
    member = member_with_contacts()
    proposal = ms.create_proposal(
        by=admin, member=member, term_years=1, upfront=False, lines=None, valid_until=datetime.date.today()
    )
    proposal, _token = ms.send_proposal(by=admin, proposal=proposal)

    with (
        time_machine.travel(at(datetime.date.today() + datetime.timedelta(days=2)), tick=False),
        pytest.raises(ms.MembershipError) as error,
    ):
        ms.accept_convention(
            member=member,
            convention=ms.current_convention(),
            signer_name="A",
            signer_role="B",
            ip_address=None,
            proposal=proposal,
        )
    assert error.value.code == "proposal_closed"


def test_an_active_member_cannot_accept_again(admin):
    member, _term = active_member(admin)
    with pytest.raises(ms.MembershipError) as error:
        accepted(member)
    assert error.value.code == "already_member"


# --- Payment, renewal, termination ---------------------------------------------------------------


def test_marking_paid_makes_the_member_active_and_covered(admin):
    member = member_with_contacts()
    term = accepted(member)
    assert ms.covered_until(member=member) is None

    ms.mark_paid(by=admin, membership=term)

    member.refresh_from_db()
    assert member.status == S.ACTIVE
    assert ms.covered_until(member=member) == term.ends_on
    assert ms.covered_until(member=member) == term.ends_on
    with pytest.raises(ms.MembershipError):
        ms.mark_paid(by=admin, membership=term)


def test_marking_paid_needs_members_edit(admin):
    term = accepted(member_with_contacts())
    with pytest.raises(PermissionDenied):
        ms.mark_paid(by=UserFactory(role="finance"), membership=term)


def test_renewal_starts_the_day_after_the_end_and_a_paid_renewal_keeps_the_member_active(admin):
    start = datetime.date(2025, 1, 10)
    with time_machine.travel(at(start), tick=False):
        member, term = active_member(admin)
    assert term.ends_on == datetime.date(2026, 1, 9)

    with time_machine.travel(at(datetime.date(2025, 11, 20)), tick=False):
        ms.daily_membership_run(today=datetime.date(2025, 11, 20))
        member.refresh_from_db()
        assert member.status == S.RENEWAL_DUE
        renewal = ms.renew(by=admin, member=member, term_years=3)
        ms.mark_paid(by=admin, membership=renewal)
    assert (renewal.starts_on, renewal.ends_on) == (datetime.date(2026, 1, 10), datetime.date(2029, 1, 9))
    member.refresh_from_db()
    assert member.status == S.ACTIVE

    for day in (datetime.date(2026, 1, 9), datetime.date(2026, 1, 10), datetime.date(2026, 6, 1)):
        with time_machine.travel(at(day), tick=False):
            ms.daily_membership_run(today=day)
            member.refresh_from_db()
            assert member.status == S.ACTIVE, day
            assert ms.covered_until(member=member, on=day) is not None
    assert ms.covered_until(member=member, on=datetime.date(2025, 12, 1)) == datetime.date(2029, 1, 9)


def test_a_renewal_not_paid_leaves_the_member_uncovered_at_the_new_term(admin):
    with time_machine.travel(at(datetime.date(2025, 1, 10)), tick=False):
        member, _term = active_member(admin)
    with time_machine.travel(at(datetime.date(2025, 12, 1)), tick=False):
        renewal = ms.renew(by=admin, member=member)

    day = datetime.date(2026, 1, 10)
    with time_machine.travel(at(day), tick=False):
        ms.daily_membership_run(today=day)
    member.refresh_from_db()
    assert member.status == S.RENEWAL_DUE
    assert ms.covered_until(member=member, on=day) is None
    with time_machine.travel(at(day), tick=False):
        ms.mark_paid(by=admin, membership=renewal)
    member.refresh_from_db()
    assert member.status == S.ACTIVE


def test_renewing_twice_is_refused(admin):
    member, _term = active_member(admin)
    ms.renew(by=admin, member=member)
    with pytest.raises(ms.MembershipError) as error:
        ms.renew(by=admin, member=member)
    assert error.value.code == "already_renewed"


def test_a_prospect_cannot_be_renewed(admin):
    with pytest.raises(ms.MembershipError):
        ms.renew(by=admin, member=member_with_contacts())


def test_lapse_the_day_after_the_end_unless_renewed(admin):
    with time_machine.travel(at(datetime.date(2025, 1, 10)), tick=False):
        member, _term = active_member(admin)

    end = datetime.date(2026, 1, 9)
    with time_machine.travel(at(end), tick=False):
        ms.daily_membership_run(today=end)
    member.refresh_from_db()
    assert member.status == S.RENEWAL_DUE
    assert ms.covered_until(member=member, on=end) is not None

    after = end + datetime.timedelta(days=1)
    with time_machine.travel(at(after), tick=False):
        counts = ms.daily_membership_run(today=after)
    member.refresh_from_db()
    assert member.status == S.LAPSED and counts["lapsed"] == 1
    assert ms.covered_until(member=member, on=after) is None
    assert [(r.before, r.after) for r in ms.status_history(member=member)][-2:] == [
        (S.ACTIVE, S.RENEWAL_DUE),
        (S.RENEWAL_DUE, S.LAPSED),
    ]


def test_a_lapsed_member_rejoins_by_accepting_the_convention(admin):
    with time_machine.travel(at(datetime.date(2024, 1, 10)), tick=False):
        member, _term = active_member(admin)
    with time_machine.travel(at(datetime.date(2025, 2, 1)), tick=False):
        ms.daily_membership_run(today=datetime.date(2025, 2, 1))
        member.refresh_from_db()
        assert member.status == S.LAPSED
        accepted(member)
    member.refresh_from_db()
    assert member.status == S.CONVENTION_ACCEPTED
    assert member.memberships.count() == 2


def test_an_unpaid_first_term_lapses_at_its_end(admin):
    with time_machine.travel(at(datetime.date(2025, 1, 10)), tick=False):
        member = member_with_contacts()
        accepted(member)
    day = datetime.date(2026, 1, 10)
    with time_machine.travel(at(day), tick=False):
        ms.daily_membership_run(today=day)
    member.refresh_from_db()
    assert member.status == S.LAPSED


def test_terminate_ends_the_terms_with_the_reason(admin):
    member, term = active_member(admin)
    renewal = ms.renew(by=admin, member=member)

    ms.terminate(by=admin, member=member, reason="Cessation d'activité")

    member.refresh_from_db()
    term.refresh_from_db()
    renewal.refresh_from_db()
    assert member.status == S.TERMINATED
    assert term.terminated_at and term.termination_reason == "Cessation d'activité"
    assert renewal.terminated_at
    assert ms.covered_until(member=member) is None
    assert ms.status_history(member=member).last().reason == "Cessation d'activité"


def test_terminate_needs_a_reason_and_a_member(admin):
    member, _term = active_member(admin)
    with pytest.raises(ms.MembershipError):
        ms.terminate(by=admin, member=member, reason="  ")
    with pytest.raises(ms.MembershipError) as error:
        ms.terminate(by=admin, member=member_with_contacts(), reason="Pourquoi")
    assert error.value.code == "transition_not_allowed"


# --- Reminders -------------------------------------------------------------------------------------


def test_reminders_at_60_30_and_7_days_once_each(admin, run, mailoutbox):
    with time_machine.travel(at(datetime.date(2025, 1, 10)), tick=False):
        _member, term = active_member(admin)
    end = term.ends_on  # 2026-01-09
    sent_on = {}
    day = end - datetime.timedelta(days=70)
    while day <= end:
        with time_machine.travel(at(day), tick=False):
            before = len(mailoutbox)
            run(ms.daily_membership_run, today=day)
            run(ms.daily_membership_run, today=day)  # a second run the same day sends nothing more
            if len(mailoutbox) > before:
                sent_on[(end - day).days] = len(mailoutbox) - before
        day += datetime.timedelta(days=1)

    assert sent_on == {60: 1, 30: 1, 7: 1}
    assert ms.reminders_of(membership=term) == [7, 30, 60]
    mail = mailoutbox[0]
    assert sorted(mail.to) == ["compta@entreprise.fr", "dirigeant@entreprise.fr"]
    assert "09/01/2026" in mail.subject


def test_a_missed_day_sends_the_reminder_late_but_not_the_earlier_ones(admin, run, mailoutbox):
    with time_machine.travel(at(datetime.date(2025, 1, 10)), tick=False):
        _member, term = active_member(admin)
    day = term.ends_on - datetime.timedelta(days=20)
    with time_machine.travel(at(day), tick=False):
        run(ms.daily_membership_run, today=day)
    assert ms.reminders_of(membership=term) == [30]
    assert len(mailoutbox) == 1


def test_a_renewed_member_gets_no_reminder(admin, run, mailoutbox):
    with time_machine.travel(at(datetime.date(2025, 1, 10)), tick=False):
        member, term = active_member(admin)
        ms.renew(by=admin, member=member)
    day = term.ends_on - datetime.timedelta(days=30)
    with time_machine.travel(at(day), tick=False):
        run(ms.daily_membership_run, today=day)
    assert mailoutbox == []
    member.refresh_from_db()
    assert member.status == S.ACTIVE


def test_the_beat_task_runs_in_the_tenant(admin, run):
    from mediation.members import tasks

    with time_machine.travel(at(datetime.date(2025, 1, 10)), tick=False):
        member, term = active_member(admin)
    with time_machine.travel(at(term.ends_on + datetime.timedelta(days=1)), tick=False):
        result = tasks.daily_membership_run.apply().get()
    assert result["lapsed"] == 1
    assert Membership.objects.filter(member=member).count() == 1


# --- Self-service joining (service) ----------------------------------------------------------------


def test_joining_online_creates_a_prospect_without_actor_and_accepts(admin, run, mailoutbox):
    tariffs()
    publish(admin)
    member = ms.join_as_prospect(
        siren="732 829 320",
        legal_name="Maison Bio",
        address_line1="1 rue de la Paix",
        postcode="75002",
        city="Paris",
        headcount_band="10_49",
        contact_first_name="Paul",
        contact_last_name="Martin",
        contact_email="Paul@MaisonBio.fr",
        contact_role="Gérant",
    )
    assert (member.siren, member.status) == ("732829320", S.PROSPECT)
    assert member.contacts.get().email == "paul@maisonbio.fr"

    term = run(
        ms.join_online,
        member=member,
        convention=ms.current_convention(),
        term_years=3,
        signer_name="Paul Martin",
        signer_role="Gérant",
        ip_address="198.51.100.4",
    )
    assert term.proposal.total_cents == 25_000 and term.proposal.status == Proposal.Status.ACCEPTED
    member.refresh_from_db()
    assert member.status == S.CONVENTION_ACCEPTED
    assert mailoutbox[0].to == ["paul@maisonbio.fr"]


def test_joining_online_does_not_overwrite_an_existing_record(admin):
    member = MemberFactory(siren="732829320", legal_name="Nom officiel", city="Lyon", address_line1="")
    again = ms.join_as_prospect(
        siren="732829320",
        legal_name="Nom pirate",
        address_line1="2 rue Neuve",
        postcode="69001",
        city="Ailleurs",
        headcount_band="1_9",
        contact_first_name="",
        contact_last_name="X",
        contact_email="x@example.fr",
    )
    assert again.pk == member.pk
    assert (again.legal_name, again.city, again.address_line1) == ("Nom officiel", "Lyon", "2 rue Neuve")


def test_joining_online_refuses_a_member(admin):
    active, _term = active_member(admin)
    with pytest.raises(ms.MembershipError) as error:
        ms.join_as_prospect(
            siren=active.siren,
            legal_name="X",
            address_line1="",
            postcode="",
            city="",
            headcount_band="1_9",
            contact_first_name="",
            contact_last_name="X",
            contact_email="x@example.fr",
        )
    assert error.value.code == "already_member"


def test_the_plan_caps_active_members(tenant_a):
    """Plans with a limit of active members (issue 4): the next activation is refused with the way out."""
    from django.db import connection

    from tenants.models import Plan

    admin = AdminFactory()
    plan = Plan.objects.create(code="petit", name="Petit", monthly_price_cents=1000, max_active_members=1)
    connection.tenant.plan = plan
    try:
        MemberFactory(status=S.ACTIVE)
        waiting = MemberFactory(status=S.CONVENTION_ACCEPTED)
        with pytest.raises(ms.MembershipError) as refused:
            ms.set_status(member=waiting, to=S.ACTIVE, reason="Paiement reçu", by=admin)
        assert refused.value.code == "plan_active_members_full"
        assert "formule Petit" in refused.value.message and "formule supérieure" in refused.value.message
        waiting.refresh_from_db()
        assert waiting.status == S.CONVENTION_ACCEPTED
        plan.max_active_members = 2
        ms.set_status(member=waiting, to=S.ACTIVE, reason="Paiement reçu", by=admin)
    finally:
        connection.tenant.plan = None
