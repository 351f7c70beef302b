"""The staff statistics dashboard: monthly series and counts computed in SQL, checked against numbers counted by
hand; the page for each role, a constant number of queries, and one firm's numbers only."""

from __future__ import annotations

import datetime
import itertools
import re
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from accounts.permissions import Perm
from mediation.cases import selectors as case_selectors
from mediation.cases.models import Case, InadmissibilityReason, Outcome, SatisfactionSurvey, Status
from mediation.compliance.models import DysfunctionAlert
from mediation.reports import dashboard
from mediation.reports.dashboard_views import nice_max
from tests.factories import UserFactory
from tests.roles import ROLES_AND_ANONYMOUS, assert_html_outcome, log_in_with_role, role_id

URL = "/staff/rapports/tableau-de-bord/"
TODAY = datetime.date(2026, 6, 15)
NOW = datetime.datetime(2026, 6, 15, 10, tzinfo=datetime.UTC)
_references = itertools.count(1)


def at(year: int, month: int, day: int, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(year, month, day, hour, 0))


def make_case(**fields: Any) -> Case:
    """A case written directly in the state the test needs (the services' steps are not the subject here)."""
    values: dict[str, Any] = {"reference": f"D-{next(_references):05d}", "subject": "delivery"}
    values.update(fields)
    return Case.objects.create(**values)


def ended(received: datetime.datetime, days: int, **fields: Any) -> Case:
    """A mediation closed `days` days after its receipt (opened the next day)."""
    fields.setdefault("outcome", Outcome.AGREEMENT)
    return make_case(
        status=Status.CLOSED,
        received_at=received,
        opened_at=received + datetime.timedelta(days=1),
        closed_at=received + datetime.timedelta(days=days),
        **fields,
    )


# --- The period ------------------------------------------------------------------------------------------------


def test_the_last_12_months_end_with_this_month():
    period = dashboard.DashboardPeriod.of(dashboard.LAST_12_MONTHS, TODAY)

    assert (period.period.start, period.period.end) == (datetime.date(2025, 7, 1), TODAY)
    assert period.months[0] == datetime.date(2025, 7, 1) and period.months[-1] == datetime.date(2026, 6, 1)
    assert len(period.months) == 12
    assert period.previous_year.start == datetime.date(2024, 7, 1)
    assert period.previous_year.end == datetime.date(2025, 6, 30)


def test_this_year_and_last_year():
    this_year = dashboard.DashboardPeriod.of(dashboard.THIS_YEAR, TODAY)
    last_year = dashboard.DashboardPeriod.of(dashboard.LAST_YEAR, TODAY)

    assert (this_year.period.start, this_year.period.end, len(this_year.months)) == (
        datetime.date(2026, 1, 1),
        TODAY,
        6,
    )
    assert (last_year.period.start, last_year.period.end, len(last_year.months)) == (
        datetime.date(2025, 1, 1),
        datetime.date(2025, 12, 31),
        12,
    )
    assert this_year.previous_year.end == datetime.date(2025, 6, 30)  # whole months a year earlier


def test_the_axis_top_is_rounded_up():
    assert [nice_max(v) for v in (0, 1, 3, 7, 12, 20, 21, 480)] == [1, 1, 5, 10, 20, 20, 50, 500]


# --- The series, counted by hand -----------------------------------------------------------------------------------


def test_requests_received_per_month_with_the_previous_year(tenant_a):
    make_case(status=Status.RECEIVED, received_at=at(2026, 1, 5))
    make_case(status=Status.RECEIVED, received_at=at(2026, 1, 31, 23))  # 31 Jan 23:00 in Paris: January
    make_case(status=Status.INADMISSIBLE, received_at=at(2026, 3, 1, 0))  # 1 Mar 00:00 in Paris: March
    make_case(status=Status.RECEIVED, received_at=at(2025, 1, 20))  # a year earlier: January 2025
    make_case(status=Status.RECEIVED, received_at=at(2025, 6, 30))  # June 2025: previous of June 2026
    make_case(status=Status.DRAFT, received_at=at(2026, 1, 6))  # a draft counts nowhere
    make_case(status=Status.RECEIVED, received_at=at(2024, 12, 31))  # before both series

    rows = dashboard.received_per_month(dashboard.DashboardPeriod.of(dashboard.THIS_YEAR, TODAY))

    assert [(row.month.month, row.count, row.previous) for row in rows] == [
        (1, 2, 1),
        (2, 0, 0),
        (3, 1, 0),
        (4, 0, 0),
        (5, 0, 0),
        (6, 0, 1),
    ]


def test_time_to_close_per_month_average_and_median(tenant_a):
    # March 2026: 10, 20 and 60 days from receipt → average 30, median 20; from opening 9, 19, 59 → 29 and 19.
    for days in (10, 20, 60):
        ended(at(2026, 3, 20) - datetime.timedelta(days=days), days)
    # April 2026: 5 and 8 days → average and median 6.5.
    ended(at(2026, 4, 10) - datetime.timedelta(days=5), 5)
    ended(at(2026, 4, 10) - datetime.timedelta(days=8), 8)
    # Not counted: a refusal (no referral) and a mediation still open.
    make_case(status=Status.INADMISSIBLE, received_at=at(2026, 3, 1), closed_at=at(2026, 3, 2))
    make_case(status=Status.IN_MEDIATION, received_at=at(2026, 3, 1), opened_at=at(2026, 3, 2))

    rows = {row.month.month: row for row in dashboard.durations_per_month(dashboard.DashboardPeriod.of("annee", TODAY))}

    assert (rows[3].cases, rows[3].average_days, rows[3].median_days) == (3, 30.0, 20.0)
    assert (rows[3].average_from_opening, rows[3].median_from_opening) == (29.0, 19.0)
    assert (rows[4].cases, rows[4].average_days, rows[4].median_days) == (2, 6.5, 6.5)
    assert (rows[1].cases, rows[1].average_days, rows[1].median_days) == (0, None, None)


def test_workload_deadlines_and_unassigned(tenant_a):
    alice = UserFactory(first_name="Alice", last_name="Martin", role=User.Role.CASE_OFFICER)
    bob = UserFactory(first_name="Bob", last_name="Petit", role=User.Role.MEDIATOR)
    gone = UserFactory(first_name="Zoé", last_name="Ancienne", is_active=False)
    today = timezone.localdate()
    late, soon, later = (
        today - datetime.timedelta(days=1),
        today + datetime.timedelta(days=3),
        today.replace(year=today.year + 1),
    )
    make_case(status=Status.RECEIVED, assignee=alice, next_due_on=late)
    make_case(status=Status.IN_MEDIATION, assignee=alice, next_due_on=soon)
    make_case(status=Status.OPENED, assignee=alice, next_due_on=later)
    make_case(status=Status.PROPOSAL_SENT, assignee=bob, next_due_on=late)
    make_case(status=Status.INCOMPLETE, assignee=gone)
    make_case(status=Status.RECEIVED, next_due_on=soon)
    make_case(status=Status.CLOSED, assignee=bob, next_due_on=late)  # over: not counted
    make_case(status=Status.DRAFT, assignee=bob)  # not received: not counted

    result = dashboard.open_cases()

    assert [(row.name, row.open_cases, row.overdue, row.due_this_week) for row in result.workload] == [
        ("Alice Martin", 3, 1, 1),
        ("Bob Petit", 1, 1, 0),
        ("Zoé Ancienne", 1, 0, 0),
        ("Non attribués", 1, 0, 1),
    ]
    assert (result.total, result.overdue, result.due_this_week) == (6, 2, 2)
    # The inactive person is not in the inbox's assignee filter: no link would list their cases.
    assert [row.in_inbox_filter for row in result.workload] == [True, True, False, True]


def test_endings_of_the_cases_closed_in_the_period(tenant_a):
    ended(at(2026, 2, 1), 30)  # agreement
    ended(at(2026, 2, 1), 30, outcome=Outcome.PROPOSAL_REFUSED)
    ended(at(2026, 2, 1), 30, outcome=Outcome.PROPOSAL_REFUSED)
    make_case(status=Status.WITHDRAWN, received_at=at(2026, 2, 1), closed_at=at(2026, 2, 3))
    for reason in (InadmissibilityReason.TOO_LATE, InadmissibilityReason.TOO_LATE, InadmissibilityReason.OUT_OF_SCOPE):
        make_case(
            status=Status.INADMISSIBLE,
            received_at=at(2026, 2, 1),
            closed_at=at(2026, 2, 5),
            inadmissibility_reason=reason,
        )
    ended(at(2025, 3, 1), 30)  # closed in 2025: another period

    result = dashboard.endings(dashboard.DashboardPeriod.of(dashboard.THIS_YEAR, TODAY))
    outcomes = {row.key: row.count for row in result.outcomes}
    refusals = {row.key: row.count for row in result.refusals}

    assert result.total == 7 and result.refused == 3
    assert (outcomes["agreement"], outcomes["proposal_refused"], outcomes["withdrawn"], outcomes["inadmissible"]) == (
        1,
        2,
        1,
        3,
    )
    assert (refusals["too_late"], refusals["out_of_scope"], refusals["no_prior_complaint"]) == (2, 1, 0)


def test_satisfaction_answers_in_the_period(tenant_a):
    def survey(rating: int | None, answered: datetime.datetime | None, **answers: Any) -> None:
        case = make_case(status=Status.CLOSED, received_at=at(2026, 1, 2), closed_at=at(2026, 2, 1))
        SatisfactionSurvey.objects.create(
            case=case, token_hash=case.reference, sent_at=at(2026, 2, 1), answered_at=answered, rating=rating, **answers
        )

    survey(5, at(2026, 2, 3), would_recommend=True)
    survey(4, at(2026, 2, 4), would_recommend=False)
    survey(2, at(2026, 2, 5))
    survey(None, None)  # sent, never answered

    result = dashboard.satisfaction(dashboard.DashboardPeriod.of(dashboard.THIS_YEAR, TODAY))

    assert (result.sent, result.answered, result.rated, result.average) == (4, 3, 3, 3.67)
    assert [(row.key, row.count) for row in result.distribution] == [("5", 1), ("4", 1), ("3", 0), ("2", 1), ("1", 0)]
    assert result.would_recommend == (1, 2)


# --- The page ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=role_id)
def test_the_page_follows_the_role_table(tenant_a, client_a, role):
    make_case(status=Status.RECEIVED, received_at=timezone.now())
    log_in_with_role(client_a, role)

    response = client_a.get(URL)

    assert_html_outcome(response, role=role, perm=Perm.REPORTS_VIEW, success=200)


def test_the_page_shows_the_numbers_charts_and_links(tenant_a, client_a):
    client_a.force_login(UserFactory(role=User.Role.MEDIATOR))
    with time_machine.travel(NOW, tick=False):
        make_case(status=Status.RECEIVED, received_at=at(2026, 6, 2), next_due_on=datetime.date(2026, 6, 1))
        DysfunctionAlert.objects.create(
            scope="subject",
            value="delivery",
            label="Livraison",
            cases_count=5,
            threshold=3,
            window_start=datetime.date(2026, 3, 1),
            window_end=datetime.date(2026, 6, 1),
        )
        page = client_a.get(URL).content.decode()

    assert "1 dossier en cours en retard" in page
    assert "/staff/dossiers/?overdue=on&amp;status=" in page
    assert "1 alerte de dysfonctionnement récurrent à traiter" in page
    assert page.count("<svg") == 6 and 'role="img"' in page and '<title id="chart-received-title">' in page
    assert "juin 2026" in page  # the month's row in the table beside the chart
    # Coordinates are written unlocalised (a French decimal comma would break the SVG).
    bars = re.findall(r'<rect x="([^"]+)" y="([^"]+)" width="([^"]+)" height="([^"]+)"', page)
    assert bars and all(re.fullmatch(r"\d+(\.\d+)?", number) for bar in bars for number in bar)


def test_finance_sees_the_numbers_without_links_to_cases(tenant_a, client_a):
    client_a.force_login(UserFactory(role=User.Role.FINANCE))
    make_case(status=Status.RECEIVED, received_at=timezone.now(), next_due_on=timezone.localdate())

    page = client_a.get(URL).content.decode()

    assert "/staff/dossiers/" not in page
    assert "1 échéance dans les 7 jours" in page


@pytest.mark.parametrize("value", ["", "12-mois", "annee", "annee-precedente"])
def test_each_period_renders(tenant_a, client_a, value):
    client_a.force_login(UserFactory(role=User.Role.ADMIN))

    assert client_a.get(URL, {"periode": value}).status_code == 200


def test_an_unknown_period_is_a_form_error_not_a_crash(tenant_a, client_a):
    client_a.force_login(UserFactory(role=User.Role.ADMIN))

    response = client_a.get(URL, {"periode": "1999"})

    assert response.status_code == 400
    assert "errorlist" in response.content.decode()


def _seed(count: int) -> None:
    officers = [UserFactory(role=User.Role.CASE_OFFICER) for _n in range(3)]
    now = timezone.now()
    for n in range(count):
        received = now - datetime.timedelta(days=10 * n % 700)
        if n % 3:
            ended(received - datetime.timedelta(days=40), 20 + n % 7, assignee=officers[n % 3])
        else:
            make_case(
                status=Status.IN_MEDIATION, received_at=received, assignee=officers[n % 3], next_due_on=now.date()
            )
        if n % 4 == 0:
            case = Case.objects.order_by("-pk").first()
            assert case is not None
            SatisfactionSurvey.objects.create(
                case=case, token_hash=case.reference, sent_at=now, answered_at=now, rating=n % 5 + 1
            )


def _queries(client: Any) -> int:
    case_selectors.forget_state_counts()  # the state counts are cached for a minute: count their query each time
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_cases(tenant_a, client_a):
    client_a.force_login(UserFactory(role=User.Role.ADMIN))
    client_a.get(URL)  # the first request of a session does its own set-up queries
    _seed(30)
    few = _queries(client_a)
    _seed(30)  # 60 cases, three more assignees

    assert _queries(client_a) == few


def test_another_firm_sees_only_its_own_numbers(tenant_a, client_b, use_tenant):
    for _n in range(3):
        make_case(status=Status.IN_MEDIATION, received_at=timezone.now(), next_due_on=datetime.date(2020, 1, 1))
    use_tenant("beta")
    client_b.force_login(UserFactory(role=User.Role.ADMIN))
    make_case(status=Status.RECEIVED, received_at=timezone.now(), next_due_on=datetime.date(2020, 1, 1))

    page = client_b.get(URL).content.decode()

    assert "1 dossier en cours en retard" in page
    assert "3 dossiers en cours en retard" not in page
