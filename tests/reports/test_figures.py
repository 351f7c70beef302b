"""The R614-2 figures against a data set whose every figure was counted by hand (see the table in each test)."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mediation.cases.models import Case, InadmissibilityReason, Outcome, Party, Status, Subject
from mediation.members.models import Member
from mediation.reports import figures
from mediation.reports.figures import Period
from tests.factories import MemberFactory

UTC = datetime.UTC
YEAR = Period.year(2025)


def at(day: str, hour: int = 10) -> datetime.datetime:
    """`day` (YYYY-MM-DD) at `hour` UTC: same local date in Paris, whole days between two of them."""
    return datetime.datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def case(ref: str, **fields: object) -> Case:
    for name in ("received_at", "opened_at", "closed_at"):
        if isinstance(fields.get(name), str):
            fields[name] = at(str(fields[name]))
    fields.setdefault("source", Case.Source.ONLINE)
    return Case.objects.create(reference=ref, consumer_last_name=ref, **fields)


@pytest.fixture
def dataset(tenant_a):
    """Sixteen cases; A to L received in 2025, M ended in 2025, N refused in 2024, O a draft, P in 2026."""
    m1 = MemberFactory(legal_name="Boulangerie Un", sector=Member.Sector.RETAIL)
    m2 = MemberFactory(legal_name="Boutique Deux", sector=Member.Sector.ECOMMERCE)
    m3 = MemberFactory(legal_name="Services Trois", sector=Member.Sector.PERSONAL_SERVICES)
    refused, closed = Status.INADMISSIBLE, Status.CLOSED
    case("A", member=m1, subject=Subject.DELIVERY, status=refused, received_at="2025-01-10", closed_at="2025-01-20",
         inadmissibility_reason=InadmissibilityReason.TOO_LATE)  # fmt: skip
    case("B", member=m1, subject=Subject.DELIVERY, status=refused, received_at="2025-02-01", closed_at="2025-02-10",
         inadmissibility_reason=InadmissibilityReason.NO_PRIOR_COMPLAINT, source=Case.Source.POSTAL)  # fmt: skip
    case("C", business_name="Inconnu SA", subject=Subject.DEFECT, status=Status.REORIENTED,
         received_at="2025-03-01", closed_at="2025-03-05")  # fmt: skip
    case("D", member=m2, subject=Subject.BILLING, status=Status.WITHDRAWN, closed_by_party=Party.CONSUMER,
         received_at="2025-03-05", closed_at="2025-03-06")  # fmt: skip
    case("E", member=m2, subject=Subject.DEFECT, status=closed, outcome=Outcome.AGREEMENT,
         execution=Case.Execution.CARRIED_OUT,
         received_at="2025-03-20", opened_at="2025-04-01", closed_at="2025-05-01")  # fmt: skip
    case("F", member=m1, subject=Subject.SERVICE, status=closed, outcome=Outcome.PROPOSAL_ACCEPTED,
         execution=Case.Execution.NOT_CARRIED_OUT,
         received_at="2025-04-10", opened_at="2025-04-20", closed_at="2025-06-19")  # fmt: skip
    case("G", member=m1, subject=Subject.SERVICE, status=closed, outcome=Outcome.PROPOSAL_REFUSED,
         received_at="2025-05-01", opened_at="2025-05-10", closed_at="2025-07-09")  # fmt: skip
    case("H", member=m2, subject=Subject.REFUND, status=Status.WITHDRAWN, closed_by_party=Party.BUSINESS,
         received_at="2025-06-01", opened_at="2025-06-05", closed_at="2025-06-15")  # fmt: skip
    case("I", member=m3, subject=Subject.REFUND, status=closed, outcome=Outcome.BUSINESS_REFUSED,
         received_at="2025-07-01", opened_at="2025-07-02", closed_at="2025-07-10")  # fmt: skip
    case("J", member=m3, subject=Subject.OTHER, status=Status.INTERRUPTED, closed_by_party=Party.STAFF,
         received_at="2025-08-01", opened_at="2025-08-05", closed_at="2025-09-04")  # fmt: skip
    case("K", member=m1, subject=Subject.DELIVERY, status=Status.IN_MEDIATION,
         received_at="2025-12-20", opened_at="2025-12-28")  # fmt: skip
    case("L", member=m1, subject=Subject.DELIVERY, status=Status.RECEIVED, received_at="2025-12-30")
    case("M", member=m2, subject=Subject.CONTRACT, status=closed, outcome=Outcome.AGREEMENT,
         execution=Case.Execution.NO_ANSWER,
         received_at="2024-11-01", opened_at="2024-11-15", closed_at="2025-01-14")  # fmt: skip
    case("N", member=m3, subject=Subject.QUOTE, status=refused, received_at="2024-06-01", closed_at="2024-06-10",
         inadmissibility_reason=InadmissibilityReason.OUT_OF_SCOPE)  # fmt: skip
    Case.objects.create(status=Status.DRAFT, consumer_last_name="O", subject=Subject.DELIVERY)
    case("P", member=m1, subject=Subject.DELIVERY, status=Status.RECEIVED, received_at="2026-01-02")
    return {"m1": m1, "m2": m2, "m3": m3}


def counts(rows: list[figures.Row]) -> dict[str, int]:
    return {row.value: row.count for row in rows}


def test_requests_received_and_their_subjects(dataset):
    result = figures.compute(YEAR)
    # A B C D E F G H I J K L; not M (2024), N (2024), O (draft), P (2026).
    assert result.received == 12
    assert counts(result.by_subject) == {
        "delivery": 4,  # A B K L
        "defect": 2,  # C E
        "service": 2,  # F G
        "billing": 1,  # D
        "refund": 2,  # H I
        "contract": 0,
        "quote": 0,
        "other": 1,  # J
    }
    assert counts(result.by_source) == {"online": 11, "postal": 1}
    delivery = next(row for row in result.by_subject if row.value == "delivery")
    assert delivery.share == pytest.approx(4 / 12)


def test_refusals_by_l612_2_reason(dataset):
    result = figures.compute(YEAR)
    assert (result.refused, result.refused_share) == (2, pytest.approx(2 / 12))
    assert counts(result.by_refusal_reason) == {
        "no_prior_complaint": 1,  # B
        "unfounded_or_abusive": 0,
        "already_examined": 0,
        "too_late": 1,  # A
        "out_of_scope": 0,  # N is 2024's
    }
    assert (result.reoriented, result.withdrawn_before_opening) == (1, 1)  # C; D


def test_mediations_stopped_by_reason(dataset):
    result = figures.compute(YEAR)
    assert result.opened == 7  # E F G H I J K
    assert (result.stopped, result.stopped_share) == (3, pytest.approx(3 / 7))  # H I J
    assert counts(result.by_stop_reason) == {
        "withdrawn_consumer": 0,
        "withdrawn_business": 1,  # H
        "business_refused": 1,  # I
        "interrupted": 1,  # J
    }
    assert result.pending == 2  # K L


def test_outcomes_and_times_to_resolve_of_the_cases_ended_in_the_period(dataset):
    result = figures.compute(YEAR)
    assert result.ended == 7  # E F G H I J and M (received in 2024, ended in 2025)
    assert counts(result.by_outcome) == {
        "agreement": 2,  # E M
        "proposal_accepted": 1,  # F
        "proposal_refused": 1,  # G
        "business_refused": 1,  # I
        "failure": 0,
    }
    # From the referral: E 30, F 60, G 60, H 10, I 8, J 30, M 60 days.
    assert result.from_opening == figures.Duration(7, round(258 / 7, 1), 30.0)
    # From receipt: E 42, F 70, G 69, H 14, I 9, J 34, M 74 days.
    assert result.from_receipt == figures.Duration(7, round(312 / 7, 1), 42.0)


def test_proposals_accepted_and_followed_where_known(dataset):
    result = figures.compute(YEAR)
    assert (result.proposals_answered, result.proposals_accepted) == (2, 1)  # F G; F
    assert result.accepted_share == pytest.approx(0.5)
    assert result.solutions == 3  # E F M
    assert (result.execution_known, result.followed) == (2, 1)  # E F (M: no answer); E
    assert result.followed_share == pytest.approx(0.5)


def test_distribution_by_sector_and_by_member(dataset):
    result = figures.compute(YEAR)
    assert counts(result.by_sector) == {"retail": 6, "ecommerce": 3, "personal_services": 2, figures.UNKNOWN: 1}
    assert [(row.label, row.count) for row in result.by_member] == [
        ("Boulangerie Un", 6),
        ("Boutique Deux", 3),
        ("Services Trois", 2),
    ]
    assert result.other_members == 0


def test_previous_year_and_comparison(dataset):
    previous = figures.compute(YEAR.previous())
    assert YEAR.previous() == Period.year(2024)
    assert (previous.received, previous.refused, previous.ended) == (2, 1, 0)  # M N; N; M ends in 2025
    comparison = figures.compare(figures.compute(YEAR), previous)
    assert comparison["received"] == (12, 2)
    assert comparison["refused"] == (2, 1)


def test_every_figure_traces_to_exactly_the_cases_it_counts(dataset):
    result = figures.compute(YEAR)
    scalars = (
        "received", "refused", "reoriented", "withdrawn_before_opening", "opened", "stopped", "pending", "ended",
        "proposals_answered", "proposals_accepted", "solutions", "execution_known", "followed",
    )  # fmt: skip
    for name in scalars:
        assert figures.traced_cases(name, YEAR).count() == getattr(result, name), name
    breakdowns = (
        result.by_subject, result.by_source, result.by_sector, result.by_member,
        result.by_refusal_reason, result.by_stop_reason, result.by_outcome,
    )  # fmt: skip
    for rows in breakdowns:
        for row in rows:
            assert figures.traced_cases(row.scope, YEAR, row.value).count() == row.count, (row.scope, row.value)
    refs = set(figures.traced_cases("stopped", YEAR).values_list("reference", flat=True))
    assert refs == {"H", "I", "J"}
    assert set(figures.traced_cases("sector", YEAR, figures.UNKNOWN).values_list("reference", flat=True)) == {"C"}


def test_unknown_scope_is_refused(tenant_a):
    with pytest.raises(KeyError):
        figures.traced_cases("nothing", YEAR)
    assert figures.traced_cases("stop_reason", YEAR, "made_up").count() == 0


def test_the_year_is_cut_at_midnight_in_paris(tenant_a):
    # 23:30 in Paris on 31 December (22:30 UTC) is 2025; 00:30 on 1 January (23:30 UTC the day before) is 2026.
    case("late", status=Status.RECEIVED, received_at=datetime.datetime(2025, 12, 31, 22, 30, tzinfo=UTC))
    case("new", status=Status.RECEIVED, received_at=datetime.datetime(2025, 12, 31, 23, 30, tzinfo=UTC))
    assert set(figures.traced_cases("received", YEAR).values_list("reference", flat=True)) == {"late"}
    assert figures.compute(Period.year(2026)).received == 1


def test_still_open_means_open_at_the_end_of_the_period(tenant_a):
    # Received in December, refused in January: open on 31 December, and refused among 2025's requests.
    case("Q", status=Status.INADMISSIBLE, received_at="2025-12-15", closed_at="2026-01-10",
         inadmissibility_reason=InadmissibilityReason.TOO_LATE)  # fmt: skip
    case("R", status=Status.INADMISSIBLE, received_at="2025-12-16", closed_at="2025-12-20",
         inadmissibility_reason=InadmissibilityReason.TOO_LATE)  # fmt: skip
    result = figures.compute(YEAR)
    assert (result.received, result.refused, result.pending) == (2, 2, 1)
    assert list(figures.traced_cases("pending", YEAR).values_list("reference", flat=True)) == ["Q"]


def test_an_empty_year_has_no_share(tenant_a):
    result = figures.compute(Period.year(2019))
    assert result.received == 0 and result.refused_share is None and result.followed_share is None
    assert result.from_opening == figures.Duration(0, None, None)


def test_a_firm_counts_only_its_own_cases(dataset, tenant_b):
    assert figures.compute(YEAR).received == 0  # tenant_b is now the connection's schema
    assert not figures.traced_cases("received", YEAR).exists()


def test_query_count_does_not_grow_with_the_cases(dataset):
    with CaptureQueriesContext(connection) as few:
        figures.compute(YEAR)
    for n in range(30):
        case(f"X{n}", status=Status.RECEIVED, subject=Subject.OTHER, received_at="2025-10-01")
    with CaptureQueriesContext(connection) as many:
        figures.compute(YEAR)
    assert len(few) == len(many) <= 12


def test_a_custom_period_and_its_previous_one():
    period = Period(datetime.date(2025, 4, 1), datetime.date(2025, 6, 30))
    assert period.previous() == Period(datetime.date(2024, 12, 31), datetime.date(2025, 3, 31))
