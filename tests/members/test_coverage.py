from __future__ import annotations

import datetime

import pytest
import time_machine
from django.utils import timezone

from mediation.members.coverage import Reason, Term, coverage_of, covered_members, decide
from tests.factories import MemberFactory
from tests.members.kit_helpers import covered_member, membership

pytestmark = pytest.mark.django_db

JAN_1 = datetime.date(2026, 1, 1)
DEC_31 = datetime.date(2026, 12, 31)
MID_YEAR = datetime.date(2026, 6, 15)


def term(starts_on: datetime.date = JAN_1, ends_on: datetime.date = DEC_31, *, paid=True, terminated=False) -> Term:
    return Term(starts_on=starts_on, ends_on=ends_on, paid=paid, terminated=terminated)


def test_covered_until_the_end_of_the_paid_term(tenant_a):
    member = covered_member(starts_on=JAN_1, ends_on=DEC_31)
    coverage = coverage_of(member=member, today=MID_YEAR)
    assert (coverage.covered, coverage.until, coverage.since, coverage.reason) == (True, DEC_31, JAN_1, "covered")


def test_renewal_due_is_still_covered(tenant_a):
    member = covered_member(starts_on=JAN_1, ends_on=DEC_31)
    member.status = "renewal_due"
    member.save()
    assert coverage_of(member=member, today=MID_YEAR).covered


def test_covered_on_the_last_day_and_lapsed_the_day_after(tenant_a):
    member = covered_member(starts_on=JAN_1, ends_on=DEC_31)
    with time_machine.travel(datetime.datetime(2026, 12, 31, 23, 0, tzinfo=datetime.UTC), tick=False):
        # 23:00 UTC is already 1 January in Paris: the local date decides.
        assert coverage_of(member=member, today=timezone.localdate()).reason == Reason.LAPSED
    with time_machine.travel(datetime.datetime(2026, 12, 31, 12, 0, tzinfo=datetime.UTC), tick=False):
        assert coverage_of(member=member, today=timezone.localdate()).covered


def test_unpaid_current_term_is_not_covered(tenant_a):
    member = MemberFactory(status="active")
    membership(member, starts_on=JAN_1, ends_on=DEC_31, paid=False)
    coverage = coverage_of(member=member, today=MID_YEAR)
    assert (coverage.covered, coverage.reason, coverage.until) == (False, "unpaid", None)
    assert coverage.label == "La cotisation n'est pas réglée"


def test_terminated_term_is_not_covered(tenant_a):
    member = MemberFactory(status="active")
    membership(member, starts_on=JAN_1, ends_on=DEC_31, terminated_at=timezone.now())
    assert coverage_of(member=member, today=MID_YEAR).reason == "terminated"


def test_terminated_status_wins_over_a_paid_term(tenant_a):
    member = covered_member(starts_on=JAN_1, ends_on=DEC_31)
    member.status = "terminated"
    member.save()
    assert coverage_of(member=member, today=MID_YEAR).reason == "terminated"


def test_lapsed_status_is_not_covered(tenant_a):
    member = covered_member(starts_on=JAN_1, ends_on=DEC_31)
    member.status = "lapsed"
    member.save()
    assert coverage_of(member=member, today=MID_YEAR).reason == "lapsed"


@pytest.mark.parametrize("status", ["prospect", "proposal_sent", "convention_accepted"])
def test_before_activation_not_yet_active(tenant_a, status):
    member = MemberFactory(status=status)
    membership(member, starts_on=JAN_1, ends_on=DEC_31)
    assert coverage_of(member=member, today=MID_YEAR).reason == "not_yet_active"


def test_active_with_a_term_starting_later_is_not_yet_active(tenant_a):
    member = covered_member(starts_on=datetime.date(2026, 7, 1), ends_on=datetime.date(2027, 6, 30))
    assert coverage_of(member=member, today=MID_YEAR).reason == "not_yet_active"


def test_active_without_any_term_is_unknown(tenant_a):
    assert coverage_of(member=MemberFactory(status="active"), today=MID_YEAR).reason == "unknown"


def test_paid_renewal_takes_over_from_an_ended_term(tenant_a):
    member = covered_member(starts_on=datetime.date(2025, 1, 1), ends_on=datetime.date(2025, 12, 31))
    membership(member, starts_on=JAN_1, ends_on=DEC_31)
    coverage = coverage_of(member=member, today=MID_YEAR)
    assert (coverage.covered, coverage.until) == (True, DEC_31)


def test_decide_prefers_a_paid_term_over_an_unpaid_overlapping_one():
    coverage = decide(
        status="active", terms=[term(paid=False), term(ends_on=datetime.date(2026, 9, 30))], today=MID_YEAR
    )
    assert (coverage.covered, coverage.until) == (True, datetime.date(2026, 9, 30))


def test_a_suspended_term_covers_nothing_and_breaks_the_chain():
    today = datetime.date(2026, 6, 1)
    suspended = Term(starts_on=JAN_1, ends_on=DEC_31, paid=True, terminated=False, suspended=True)
    assert decide(status="active", terms=[suspended], today=today).reason == "suspended"
    # A paid next term does not carry on a coverage that a suspended term interrupts.
    current = term()
    nxt = Term(
        starts_on=datetime.date(2027, 1, 1),
        ends_on=datetime.date(2027, 12, 31),
        paid=True,
        terminated=False,
        suspended=True,
    )
    assert decide(status="active", terms=[current, nxt], today=today).until == DEC_31


def test_every_reason_has_a_french_label():
    assert {reason.value for reason in Reason} == {
        "covered", "lapsed", "terminated", "not_yet_active", "unpaid", "suspended", "revoked", "unknown"
    }  # fmt: skip
    assert all(str(reason.label) for reason in Reason)


def test_covered_members_agrees_with_coverage_of(tenant_a):
    covered = covered_member(starts_on=JAN_1, ends_on=DEC_31)
    unpaid = MemberFactory(status="active")
    membership(unpaid, starts_on=JAN_1, ends_on=DEC_31, paid=False)
    lapsed = covered_member(starts_on=JAN_1, ends_on=DEC_31)
    lapsed.status = "lapsed"
    lapsed.save()
    ended = covered_member(starts_on=datetime.date(2025, 1, 1), ends_on=datetime.date(2025, 12, 31))
    found = set(covered_members(today=MID_YEAR))
    assert found == {covered}
    for member in (covered, unpaid, lapsed, ended):
        assert coverage_of(member=member, today=MID_YEAR).covered == (member in found)


def test_covered_members_defaults_to_the_local_date(tenant_a):
    member = covered_member(starts_on=JAN_1, ends_on=DEC_31)
    with time_machine.travel(datetime.datetime(2026, 12, 31, 12, tzinfo=datetime.UTC), tick=False):
        assert list(covered_members()) == [member]
    with time_machine.travel(datetime.datetime(2026, 12, 31, 23, 30, tzinfo=datetime.UTC), tick=False):
        assert list(covered_members()) == []  # already 1 January in Paris
