"""The staff inbox: filters, search, sort, pages with a constant number of queries, counts, bulk assignment."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mediation.cases import selectors, services
from mediation.cases.models import Case
from tests.factories import MediatorFactory, MemberFactory, UserFactory, draft_case, received_case


@pytest.fixture
def officer(tenant_a, client_a, media_root):
    user = UserFactory(role="case_officer", email="officer@example.fr", first_name="Olivia", last_name="Officer")
    client_a.force_login(user)
    return user


def _refs(response) -> list[str]:
    assert response.status_code == 200
    return [row.reference for row in response.context["rows"]]


def _due_in(case: Case, days: int) -> Case:
    Case.objects.filter(pk=case.pk).update(next_due_on=timezone.localdate() + datetime.timedelta(days=days))
    case.refresh_from_db()
    return case


def test_lists_received_cases_but_never_drafts(officer, client_a):
    received = received_case()
    draft_case(consumer_last_name="Brouillon")

    assert _refs(client_a.get("/staff/dossiers/")) == [received.reference]


def test_filters_by_several_statuses(officer, client_a):
    kept = received_case()
    incomplete = services.request_documents(case=received_case(), by=officer, what="La facture")
    withdrawn = services.withdraw(case=received_case(), party="consumer", by=officer)

    refs = _refs(client_a.get("/staff/dossiers/", {"status": ["received", "withdrawn"]}))
    assert sorted(refs) == sorted([kept.reference, withdrawn.reference])
    assert _refs(client_a.get("/staff/dossiers/", {"status": "incomplete"})) == [incomplete.reference]


def test_overdue_and_due_this_week(officer, client_a):
    late = _due_in(received_case(), -2)
    today = _due_in(received_case(), 0)
    soon = _due_in(received_case(), 7)
    _due_in(received_case(), 8)

    assert _refs(client_a.get("/staff/dossiers/", {"overdue": "on"})) == [late.reference]
    assert _refs(client_a.get("/staff/dossiers/", {"due_this_week": "on"})) == [today.reference, soon.reference]
    body = client_a.get("/staff/dossiers/").content.decode()
    assert "En retard" in body and "dépassée de 2 jours" in body and "Proche" in body


def test_default_sort_is_the_next_deadline_with_cases_without_one_last(officer, client_a):
    later = _due_in(received_case(), 15)
    none = services.withdraw(case=received_case(), party="consumer", by=officer)
    first = _due_in(received_case(), 3)

    assert _refs(client_a.get("/staff/dossiers/")) == [first.reference, later.reference, none.reference]
    newest_first = _refs(client_a.get("/staff/dossiers/", {"sort": "-received"}))
    assert newest_first == [first.reference, none.reference, later.reference]


def test_assignee_me_unassigned_and_someone(officer, client_a):
    colleague = UserFactory(role="case_officer")
    mine = services.assign(case=received_case(), by=officer, assignee=officer)
    theirs = services.assign(case=received_case(), by=officer, assignee=colleague)
    nobody = received_case()

    assert _refs(client_a.get("/staff/dossiers/", {"assignee": "me"})) == [mine.reference]
    assert _refs(client_a.get("/staff/dossiers/", {"assignee": "none"})) == [nobody.reference]
    assert _refs(client_a.get("/staff/dossiers/", {"assignee": str(colleague.pk)})) == [theirs.reference]


def test_filters_by_member_and_subject(officer, client_a):
    member = MemberFactory()
    of_member = received_case(member, subject="billing")
    received_case(subject="billing")
    received_case(member, subject="delivery")

    assert _refs(client_a.get("/staff/dossiers/", {"member": member.siren, "subject": "billing"})) == [
        of_member.reference
    ]
    words = member.legal_name.split()[1]  # "Entreprise 00042 SARL" → "00042"
    assert _refs(client_a.get("/staff/dossiers/", {"member": words, "subject": "billing"})) == [of_member.reference]


def test_search_by_reference_prefix_consumer_and_business(officer, client_a):
    jeanne = received_case(MemberFactory(legal_name="Garage Central SAS"))
    paul = received_case(consumer_first_name="Paul", consumer_last_name="Durand", consumer_email="paul@example.org")

    assert _refs(client_a.get("/staff/dossiers/", {"q": jeanne.reference})) == [jeanne.reference]
    assert sorted(_refs(client_a.get("/staff/dossiers/", {"q": jeanne.reference[:5]}))) == sorted(
        [jeanne.reference, paul.reference]
    )
    assert _refs(client_a.get("/staff/dossiers/", {"q": "paul durand"})) == [paul.reference]
    assert _refs(client_a.get("/staff/dossiers/", {"q": "paul@example"})) == [paul.reference]
    assert _refs(client_a.get("/staff/dossiers/", {"q": "garage central"})) == [jeanne.reference]


def test_an_invalid_filter_is_ignored(officer, client_a):
    case = received_case()

    assert _refs(client_a.get("/staff/dossiers/", {"status": "nonsense", "page": "x"})) == [case.reference]


def test_counts_per_state_in_one_query(officer, client_a):
    received_case()
    received_case()
    services.request_documents(case=received_case(), by=officer, what="La facture")
    draft_case()
    from mediation.cases import selectors

    with CaptureQueriesContext(connection) as queries:
        counts = selectors.state_counts()
    assert len([query for query in queries.captured_queries if query["sql"].startswith("SELECT")]) == 1
    assert counts["received"] == 2 and counts["incomplete"] == 1 and counts["closed"] == 0
    assert "draft" not in counts
    assert '<span class="badge" data-status="received">2</span>' in client_a.get("/staff/dossiers/").content.decode()


def test_pages_of_fifty_without_a_total_count(officer, client_a):
    member = MemberFactory()
    for _n in range(51):
        received_case(member)

    first = client_a.get("/staff/dossiers/")
    second = client_a.get("/staff/dossiers/", {"after": first.context["next_cursor"], "page": 2})

    assert len(_refs(first)) == 50 and first.context["has_next"]
    assert len(_refs(second)) == 1 and not second.context["has_next"]
    assert f'after={first.context["next_cursor"]}&amp;page=2" rel="next"' in first.content.decode()
    assert second.context["page_number"] == 2


@pytest.mark.parametrize("sort", ["deadline", "-received"])
def test_following_the_pages_lists_every_case_once_in_order(officer, client_a, sort, monkeypatch):
    from mediation.cases import views

    monkeypatch.setattr(views, "PAGE_SIZE", 4)
    with time_machine.travel(datetime.datetime(2026, 3, 1, 9, tzinfo=datetime.UTC), tick=True):
        cases = [received_case() for _n in range(7)]
    for case in cases[:3]:  # three cases without a deadline (final), last in the deadline sort
        services.withdraw(case=case, party="consumer")
    Case.objects.filter(pk=cases[4].pk).update(next_due_on=cases[5].next_due_on)  # a tie on the key
    expected = [c.reference for c in selectors.inbox_queryset(selectors.InboxFilters(sort=sort), officer)]

    seen, params = [], {"sort": sort}
    while True:
        page = client_a.get("/staff/dossiers/", params)
        seen += _refs(page)
        if not page.context["has_next"]:
            break
        params = {"sort": sort, "after": page.context["next_cursor"]}
    assert seen == expected and len(seen) == 7


def test_a_foreign_or_broken_cursor_shows_the_first_page(officer, client_a):
    case = received_case()
    for cursor in ("garbage", "eyJ4IjogMX0", ""):
        assert _refs(client_a.get("/staff/dossiers/", {"after": cursor})) == [case.reference]


def test_query_count_does_not_grow_with_the_page(officer, client_a, django_assert_max_num_queries):
    assignee = UserFactory(role="mediator")
    for _n in range(5):
        services.assign(case=received_case(), by=officer, assignee=assignee)
    client_a.get("/staff/dossiers/")  # warms per-process caches
    with CaptureQueriesContext(connection) as small:
        assert len(_refs(client_a.get("/staff/dossiers/"))) == 5
    for _n in range(45):
        services.assign(case=received_case(), by=officer, assignee=UserFactory(role="case_officer"))

    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(_refs(client_a.get("/staff/dossiers/"))) == 50


def test_bulk_assignment_reports_done_and_r613_1_conflicts(officer, client_a):
    member = MemberFactory()
    assignee = UserFactory(role="mediator", first_name="Hélène", last_name="Arbitre")
    MediatorFactory(user=assignee, conflict_sirens=[member.siren])
    free = received_case()
    conflicted = received_case(member)

    response = client_a.post(
        "/staff/dossiers/attribuer/",
        {"cases": [free.pk, conflicted.pk], "assignee": assignee.pk, "query": "status=received"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == "/staff/dossiers/?status=received"
    body = response.content.decode()
    assert f"1 dossier(s) attribué(s) : {free.reference}" in body
    assert f"{conflicted.reference} non attribué" in body and "R613-1" in body
    free.refresh_from_db()
    conflicted.refresh_from_db()
    assert free.assignee == assignee and conflicted.assignee is None


def test_bulk_assignment_without_a_case_is_an_error_message(officer, client_a):
    response = client_a.post("/staff/dossiers/attribuer/", {"assignee": officer.pk}, follow=True)

    assert "Cochez au moins un dossier." in response.content.decode()


def test_read_only_sees_the_inbox_but_cannot_assign(tenant_a, client_a):
    reader = UserFactory(role="read_only")
    client_a.force_login(reader)
    case = received_case()

    page = client_a.get("/staff/dossiers/")
    assert page.status_code == 200 and 'name="cases"' not in page.content.decode()
    assert client_a.post("/staff/dossiers/attribuer/", {"cases": [case.pk], "assignee": reader.pk}).status_code == 403
    case.refresh_from_db()
    assert case.assignee is None


def test_finance_cannot_open_the_inbox(tenant_a, client_a):
    client_a.force_login(UserFactory(role="finance"))

    assert client_a.get("/staff/dossiers/").status_code == 403


def test_staff_home_shows_the_cases_card(officer, client_a):
    _due_in(received_case(), -1)
    _due_in(received_case(), 3)

    body = client_a.get("/staff/").content.decode()

    assert "1 dossier en retard" in body and "1 échéance dans les 7 jours" in body
    assert "/staff/dossiers/?status=received" in body


def test_bulk_assignment_needs_an_explicit_choice(officer, client_a):
    case = services.assign(case=received_case(), by=officer, assignee=officer)
    response = client_a.post("/staff/dossiers/attribuer/", {"cases": [case.pk], "assignee": ""}, follow=True)
    assert "Choisissez à qui attribuer" in response.content.decode()
    case.refresh_from_db()
    assert case.assignee_id == officer.pk  # nothing chosen never removes the assignee
    client_a.post("/staff/dossiers/attribuer/", {"cases": [case.pk], "assignee": "none"})
    case.refresh_from_db()
    assert case.assignee_id is None
