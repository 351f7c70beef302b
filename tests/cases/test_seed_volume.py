"""`manage.py seed_volume`: consistent cases (references, deadlines from clock.py, timelines), topping up."""

from __future__ import annotations

import datetime
from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from mediation.cases import clock
from mediation.cases.models import (
    BEFORE_SEIZURE,
    FINAL_STATUSES,
    TRANSITIONS,
    Case,
    CaseEvent,
    CaseMessage,
    CaseSequence,
    Status,
)
from mediation.members.models import Member


def _seed(use_tenant, **options) -> str:
    out = StringIO()
    call_command("seed_volume", schema="alpha", stdout=out, **options)
    use_tenant("alpha")
    return out.getvalue()


@pytest.fixture
def seeded(tenant_a, use_tenant) -> str:
    return _seed(use_tenant, cases=300, members=20, batch_size=120)


def test_counts_and_references(seeded):
    cases = list(Case.objects.all())

    assert len(cases) == 300
    assert Member.objects.count() == 20
    submitted = [case for case in cases if case.status != Status.DRAFT]
    assert all(case.reference and case.received_at for case in submitted)
    assert all(case.reference is None for case in cases if case.status == Status.DRAFT)
    assert len({case.reference for case in submitted}) == len(submitted)
    # The sequences continue after the last reference of each year.
    for sequence in CaseSequence.objects.all():
        numbers = [int(c.reference.split("-")[1]) for c in submitted if c.reference.startswith(f"{sequence.year}-")]
        assert sequence.last == max(numbers) == len(numbers)
    # Every status of the state machine is represented.
    assert set(Counter(case.status for case in cases)) == set(Status.values)
    assert "cases: 300/300 inserted" in seeded


def test_deadlines_match_the_clock(seeded):
    today = timezone.localdate()
    for case in Case.objects.exclude(status=Status.DRAFT):
        if case.status in BEFORE_SEIZURE:
            start = timezone.localdate(case.complete_at or case.received_at)
            assert case.admissibility_due_on == clock.admissibility_due(start)
            assert case.next_due_on == case.admissibility_due_on
        if case.opened_at:
            opened_on = timezone.localdate(case.opened_at)
            assert case.outcome_due_on == clock.outcome_due(opened_on, case.extended_until)
            assert case.admissibility_due_on is not None
        if case.status in {Status.OPENED, Status.IN_MEDIATION}:
            assert case.next_due_on == case.outcome_due_on
        if case.status == Status.PROPOSAL_SENT:
            assert case.next_due_on == case.proposal_answer_due_on
            assert case.proposal_answer_due_on == timezone.localdate(case.proposal_sent_at) + datetime.timedelta(
                days=clock.PROPOSAL_ANSWER_DAYS
            )
        if case.status in FINAL_STATUSES:
            assert case.next_due_on is None and case.closed_at is not None
        if case.extended_until:
            assert case.extended_until > clock.outcome_due(timezone.localdate(case.opened_at))
        # Dates follow each other and none is in the future.
        steps = [case.received_at, case.complete_at, case.opened_at, case.business_accepted_at, case.proposal_sent_at]
        dated = [step for step in [*steps, case.closed_at] if step is not None]
        assert dated == sorted(dated)
        assert max(dated) <= timezone.now()
        assert case.created_at == case.received_at
    # Some cases are overdue, most are not: the inbox has something to sort.
    open_cases = Case.objects.filter(next_due_on__isnull=False)
    assert open_cases.filter(next_due_on__lt=today).exists()
    assert open_cases.filter(next_due_on__gte=today).count() > open_cases.filter(next_due_on__lt=today).count()


def test_timelines_follow_the_state_machine(seeded):
    events = CaseEvent.objects.order_by("case_id", "at", "pk")
    by_case: dict[int, list[CaseEvent]] = {}
    for event in events:
        by_case.setdefault(event.case_id, []).append(event)

    for case in Case.objects.all():
        timeline = by_case[case.pk]
        assert timeline[0].kind == CaseEvent.Kind.CREATED
        statuses = [event for event in timeline if event.kind == CaseEvent.Kind.STATUS]
        current = Status.DRAFT
        for event in statuses:
            assert event.before == current
            assert event.after in TRANSITIONS[current]
            current = event.after
        assert current == case.status
    messages = CaseMessage.objects.all()
    assert messages.exists()
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.MESSAGE).count() == messages.count()
    assert not messages.filter(case__opened_at__isnull=True).exists()


def test_a_second_run_tops_up(seeded, use_tenant):
    again = _seed(use_tenant, cases=300, members=20)
    assert "cases: 300 already, none added" in again
    assert Case.objects.count() == 300

    more = _seed(use_tenant, cases=350, members=25)

    assert Case.objects.count() == 350
    assert Member.objects.count() == 25
    references = list(Case.objects.exclude(reference=None).values_list("reference", flat=True))
    assert len(references) == len(set(references))
    assert "cases: 50/50 inserted" in more


def test_unknown_or_public_schema_is_refused(tenant_a):
    with pytest.raises(CommandError):
        call_command("seed_volume", schema="nowhere", cases=10, stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("seed_volume", schema="public", cases=10, stdout=StringIO())
