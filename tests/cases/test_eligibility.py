"""The L612-2 pre-check the wizard runs before the consumer writes anything long."""

from __future__ import annotations

import datetime

from mediation.cases.eligibility import check

TODAY = datetime.date(2026, 11, 27)


def codes(**answers):
    values = {"is_consumer": True, "complained_on": TODAY - datetime.timedelta(days=20), "other_proceedings": False}
    values.update(answers)
    return [problem.code for problem in check(today=TODAY, **values)]


def test_eligible_request_goes_on():
    assert codes() == []


def test_not_a_consumer_is_sent_elsewhere():
    assert codes(is_consumer=False) == ["not_consumer"]


def test_no_written_complaint_first():
    problems = check(is_consumer=True, complained_on=None, other_proceedings=False, today=TODAY)
    assert [p.code for p in problems] == ["no_prior_complaint"]
    assert "L612-2" in problems[0].message
    assert "réclamation" in problems[0].way_forward


def test_complaint_more_than_a_year_ago_is_too_late():
    assert codes(complained_on=datetime.date(2025, 11, 26)) == ["too_late"]
    assert codes(complained_on=datetime.date(2025, 11, 27)) == []


def test_complaint_in_the_future_is_refused():
    assert codes(complained_on=TODAY + datetime.timedelta(days=1)) == ["complaint_in_future"]


def test_already_examined_elsewhere():
    assert codes(other_proceedings=True) == ["already_examined"]


def test_every_problem_is_reported_at_once():
    assert codes(is_consumer=False, complained_on=None, other_proceedings=True) == [
        "not_consumer",
        "no_prior_complaint",
        "already_examined",
    ]
