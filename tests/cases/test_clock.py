"""The deadline arithmetic of the legal clock (L612-2, R612-5, Civil Code 2238)."""

from __future__ import annotations

import datetime

from hypothesis import given
from hypothesis import strategies as st

from mediation.cases import clock

days = st.dates(min_value=datetime.date(2000, 1, 1), max_value=datetime.date(2100, 12, 31))


def test_admissibility_due_three_weeks_after_receipt():
    assert clock.admissibility_due(datetime.date(2026, 3, 1)) == datetime.date(2026, 3, 22)


def test_outcome_due_ninety_days_after_seizure():
    assert clock.outcome_due(datetime.date(2026, 1, 10)) == datetime.date(2026, 4, 10)


def test_extension_moves_the_outcome_later_only():
    opened = datetime.date(2026, 1, 10)
    assert clock.outcome_due(opened, datetime.date(2026, 6, 1)) == datetime.date(2026, 6, 1)
    assert clock.outcome_due(opened, datetime.date(2026, 2, 1)) == datetime.date(2026, 4, 10)


def test_complaint_of_29_february_expires_on_28_february():
    assert clock.complaint_expires(datetime.date(2024, 2, 29)) == datetime.date(2025, 2, 28)


def test_inadmissible_after_one_year():
    complained = datetime.date(2025, 5, 12)
    assert not clock.complaint_too_old(complained, datetime.date(2026, 5, 12))
    assert clock.complaint_too_old(complained, datetime.date(2026, 5, 13))


def test_limitation_runs_again_six_months_from_the_end():
    assert clock.limitation_runs_again_until_at_least(datetime.date(2026, 8, 31)) == datetime.date(2027, 2, 28)


def test_urgency_levels():
    today = datetime.date(2026, 11, 27)
    assert clock.urgency(None, today) == "none"
    assert clock.urgency(today - datetime.timedelta(days=1), today) == "overdue"
    assert clock.urgency(today, today) == "soon"
    assert clock.urgency(today + datetime.timedelta(days=clock.SOON_DAYS), today) == "soon"
    assert clock.urgency(today + datetime.timedelta(days=clock.SOON_DAYS + 1), today) == "ok"


@given(days, st.integers(min_value=-1200, max_value=1200))
def test_add_months_keeps_the_day_or_ends_the_month(day, months):
    result = clock.add_months(day, months)
    assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == months
    if result.day != day.day:  # the day does not exist in the target month: its last day instead
        assert result.day < day.day
        assert (result + datetime.timedelta(days=1)).day == 1


@given(days, days)
def test_complaint_too_old_is_monotonic_in_the_receipt_date(complained, received):
    # Once too old, a request received later is too old as well.
    if clock.complaint_too_old(complained, received):
        assert clock.complaint_too_old(complained, received + datetime.timedelta(days=1))
    assert clock.complaint_too_old(complained, received) == (received > clock.add_years(complained, 1))


@given(days, st.one_of(st.none(), days))
def test_outcome_is_never_before_ninety_days(opened, extended):
    due = clock.outcome_due(opened, extended)
    assert due >= opened + datetime.timedelta(days=clock.OUTCOME_DAYS)
    assert clock.days_left(due, opened) >= clock.OUTCOME_DAYS


@given(days)
def test_days_left_counts_to_zero_on_the_last_day(day):
    assert clock.days_left(day, day) == 0
    assert clock.days_left(day, day - datetime.timedelta(days=3)) == 3
