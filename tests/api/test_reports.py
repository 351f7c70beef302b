"""/api/v1/reports/, /api/v1/reports/{year}/ and /api/v1/reports/figures/: reports.view only."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from mediation.cases.models import Case, Outcome, Status, Subject
from mediation.reports.models import AnnualReport
from tests.api.conftest import assert_anonymous_refused, assert_forbidden
from tests.factories import AdminFactory, MemberFactory, UserFactory

REPORTS = "/api/v1/reports/"
FIGURES = "/api/v1/reports/figures/"
UTC = datetime.UTC


def case(ref: str, **fields: object) -> Case:
    for name in ("received_at", "opened_at", "closed_at"):
        if isinstance(fields.get(name), str):
            fields[name] = datetime.datetime.fromisoformat(str(fields[name])).replace(hour=10, tzinfo=UTC)
    fields.setdefault("source", Case.Source.ONLINE)
    return Case.objects.create(reference=ref, consumer_last_name=ref, **fields)


@pytest.fixture
def reader(tenant_a, client_a):
    user = UserFactory(role="finance")  # reports.view, not cases.view
    client_a.force_login(user)
    return user


@pytest.fixture
def dataset(tenant_a):
    """2024: one refused request; 2025: three requests (one refused), one mediation ended with an agreement."""
    member = MemberFactory(legal_name="Boulangerie Un", sector="retail")
    case("R24", member=member, subject=Subject.DELIVERY, status=Status.INADMISSIBLE, received_at="2024-05-01",
         closed_at="2024-05-10", inadmissibility_reason="too_late")  # fmt: skip
    case("A", member=member, subject=Subject.DELIVERY, status=Status.INADMISSIBLE, received_at="2025-01-10",
         closed_at="2025-01-20", inadmissibility_reason="too_late")  # fmt: skip
    case("B", member=member, subject=Subject.DEFECT, status=Status.CLOSED, outcome=Outcome.AGREEMENT,
         received_at="2025-03-01", opened_at="2025-03-11", closed_at="2025-04-10")  # fmt: skip
    case("C", business_name="Inconnu SA", subject=Subject.DEFECT, status=Status.RECEIVED,
         received_at="2025-11-01")  # fmt: skip
    AnnualReport.objects.create(
        year=2024,
        period_start=datetime.date(2024, 1, 1),
        period_end=datetime.date(2024, 12, 31),
        training="Formation CNAM",
        status=AnnualReport.Status.PUBLISHED,
        published_at=timezone.now(),
    )
    return member


# --- Figures -----------------------------------------------------------------------------------------------


def test_figures_of_a_year(client_a, reader, dataset):
    response = client_a.get(f"{FIGURES}?year=2025")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["period"] == {"start": "2025-01-01", "end": "2025-12-31"}
    assert (body["received"], body["refused"], body["opened"], body["ended"], body["pending"]) == (3, 1, 1, 1, 1)
    assert body["refused_share"] == pytest.approx(1 / 3)
    assert {row["value"]: row["count"] for row in body["by_subject"] if row["count"]} == {"delivery": 1, "defect": 2}
    assert body["by_member"] == [
        {"scope": "member", "value": str(dataset.pk), "label": "Boulangerie Un", "count": 2, "share": 2 / 3}
    ]
    assert body["from_opening"] == {"cases": 1, "average_days": 30.0, "median_days": 30.0}
    assert "previous" not in body


def test_figures_of_a_period_compared_with_the_one_before(client_a, reader, dataset):
    response = client_a.get(f"{FIGURES}?from=2025-01-01&to=2025-03-31&compare=true")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["received"] == 2
    assert body["previous"]["period"] == {"start": "2024-10-03", "end": "2024-12-31"}
    assert body["previous"]["received"] == 0


def test_figures_without_a_period_are_this_years(client_a, reader, dataset):
    year = timezone.localdate().year

    body = client_a.get(FIGURES).json()

    assert body["period"] == {"start": f"{year}-01-01", "end": f"{year}-12-31"}


def test_figures_of_a_year_use_the_reports_own_period(client_a, reader, dataset):
    AnnualReport.objects.create(
        year=2025, period_start=datetime.date(2025, 1, 1), period_end=datetime.date(2025, 6, 30)
    )

    body = client_a.get(f"{FIGURES}?year=2025").json()

    assert body["period"] == {"start": "2025-01-01", "end": "2025-06-30"}
    assert body["received"] == 2


@pytest.mark.parametrize(
    "query",
    [
        "year=abc",
        "year=2015",
        f"year={datetime.date.today().year + 1}",
        "year=2025&from=2025-01-01&to=2025-02-01",
        "from=2025-01-01",
        "from=2025-03-01&to=2025-01-01",
        "from=2000-01-01&to=2025-01-01",
        "from=2025-01-01&to=9999-12-31",
        "from=01/01/2025&to=2025-02-01",
        "year=2025&compare=maybe",
    ],
)
def test_refused_parameters_are_a_400_invalid_filter(client_a, reader, query):
    response = client_a.get(f"{FIGURES}?{query}")

    assert response.status_code == 400, query
    assert response.json()["code"] == "invalid_filter"


def test_figures_cost_a_bounded_number_of_queries(client_a, reader, dataset, django_assert_max_num_queries):
    client_a.get(f"{FIGURES}?year=2025")
    with django_assert_max_num_queries(12):  # session, user, firm checks, then compute()'s three queries
        assert client_a.get(f"{FIGURES}?year=2025").status_code == 200


# --- The reports -------------------------------------------------------------------------------------------


def test_list_gives_the_years_with_requests_or_a_report(client_a, reader, dataset):
    response = client_a.get(REPORTS)

    assert response.status_code == 200
    rows = response.json()
    assert [(row["year"], row["status"]) for row in rows] == [(2025, "not_started"), (2024, "published")]
    assert rows[0]["public_url"] is None
    assert rows[1]["public_url"].endswith("/rapports/2024.pdf")
    assert rows[1]["period"] == {"start": "2024-01-01", "end": "2024-12-31"}


def test_detail_of_a_report(client_a, reader, dataset):
    response = client_a.get(f"{REPORTS}2024/")

    assert response.status_code == 200
    assert response.json()["training"] == "Formation CNAM"
    assert response.json()["status"] == "published"


def test_detail_of_a_year_not_started(client_a, reader, dataset):
    body = client_a.get(f"{REPORTS}2025/").json()

    assert (body["status"], body["training"], body["published_at"]) == ("not_started", "", None)


@pytest.mark.parametrize("year", [2015, datetime.date.today().year + 1, 2**40])
def test_a_year_out_of_range_is_404(client_a, reader, year):
    response = client_a.get(f"{REPORTS}{year}/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_another_firms_reports_and_cases_are_not_seen(tenant_b, use_tenant, client_a):
    case("B1", business_name="Ailleurs", subject=Subject.DEFECT, status=Status.RECEIVED, received_at="2025-02-01")
    AnnualReport.objects.create(
        year=2023, period_start=datetime.date(2023, 1, 1), period_end=datetime.date(2023, 12, 31), training="Beta"
    )
    use_tenant("alpha")
    client_a.force_login(AdminFactory())

    assert client_a.get(REPORTS).json() == []
    assert client_a.get(f"{REPORTS}2023/").json()["status"] == "not_started"
    assert client_a.get(f"{FIGURES}?year=2025").json()["received"] == 0


def test_anonymous_is_refused(tenant_a, client_a):
    for url in (REPORTS, f"{REPORTS}2025/", f"{FIGURES}?year=2025"):
        assert_anonymous_refused(client_a.get(url))


@pytest.mark.parametrize("role", ["case_officer", "member"])
def test_roles_without_reports_view_get_a_403(tenant_a, client_a, role):
    client_a.force_login(UserFactory(role=role))

    for url in (REPORTS, f"{REPORTS}2025/", f"{FIGURES}?year=2025"):
        assert_forbidden(client_a.get(url))
