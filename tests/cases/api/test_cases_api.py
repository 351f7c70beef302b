"""/api/v1/cases/: list (filters, cursor pages, constant queries), detail, postal filing, actions, errors, isolation."""

from __future__ import annotations

import datetime
import json
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mediation.cases import clock, services
from mediation.cases.models import Case, CaseEvent, Channel, Status
from tests.factories import (
    PDF_BYTES,
    PNG_BYTES,
    MemberFactory,
    UserFactory,
    draft_case,
    in_mediation_case,
    opened_case,
    pdf_upload,
    received_case,
)

pytestmark = pytest.mark.usefixtures("media_root")

API = "/api/v1/cases/"


def _post(client: Any, url: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(url, json.dumps(data or {}), content_type="application/json")


@pytest.fixture
def mediator(tenant_a, client_a):
    user = UserFactory(role="mediator", email="mediatrice@example.fr", first_name="Hélène", last_name="Roux")
    client_a.force_login(user)
    return user


@pytest.fixture
def officer(tenant_a):
    return UserFactory(role="case_officer", email="officer@example.fr")


def _login(client: Any, user: Any) -> Any:
    client.force_login(user)
    return client


# --- List ----------------------------------------------------------------------------------------


def test_list_filters_by_status_member_subject_assignee_and_search(mediator, client_a, use_tenant):
    member = MemberFactory(legal_name="Garage Central SARL")
    received = received_case(member, consumer_last_name="Lefebvre", subject="defect")
    opened = opened_case(mediator, consumer_last_name="Moreau", consumer_email="paul.moreau@example.org")
    services.assign(case=opened, by=mediator, assignee=mediator)
    incomplete = services.request_documents(case=received_case(), by=mediator, what="La facture.")
    draft_case(consumer_last_name="Brouillon")

    def references(**params: Any) -> list[str]:
        response = client_a.get(API, params)
        assert response.status_code == 200, response.content
        return sorted(row["reference"] for row in response.json()["results"])

    everything = references()
    assert everything == sorted([received.reference, opened.reference, incomplete.reference])  # no draft
    assert references(status=["received", "opened"]) == sorted([received.reference, opened.reference])
    assert references(member=member.pk) == [received.reference]
    assert references(subject="defect") == [received.reference]
    assert references(assignee=mediator.pk) == [opened.reference]
    assert references(assignee="me") == [opened.reference]
    assert references(assignee="none") == sorted([received.reference, incomplete.reference])
    assert references(search="moreau") == [opened.reference]
    assert references(search="paul.moreau@example") == [opened.reference]
    assert references(search="garage central") == [received.reference]
    assert references(search=received.reference) == [received.reference]


def test_list_filters_on_dates_and_overdue(mediator, client_a):
    with time_machine.travel(timezone.now() - datetime.timedelta(days=40), tick=False):
        late = received_case(consumer_last_name="Ancien")
    recent = received_case(consumer_last_name="Récent")
    today = timezone.localdate()

    def references(**params: Any) -> list[str]:
        return sorted(row["reference"] for row in client_a.get(API, params).json()["results"])

    assert references(overdue="true") == [late.reference]
    assert references(overdue="false") == [recent.reference]
    assert references(received_after=(today - datetime.timedelta(days=5)).isoformat()) == [recent.reference]
    assert references(received_before=(today - datetime.timedelta(days=5)).isoformat()) == [late.reference]
    assert references(due_before=(today + datetime.timedelta(days=1)).isoformat()) == [late.reference]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "asleep"},
        {"received_after": "yesterday"},
        {"overdue": "maybe"},
        {"assignee": "bob"},
        {"ordering": "x"},
    ],
)
def test_bad_filter_is_a_400_with_a_code(mediator, client_a, params):
    response = client_a.get(API, params)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_filter"


def _all_pages(client: Any, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    response = client.get(API, params).json()
    rows += response["results"]
    while response["next"]:
        cursor = parse_qs(urlparse(response["next"]).query)["cursor"][0]
        response = client.get(API, {**params, "cursor": cursor}).json()
        rows += response["results"]
    return rows


def test_cursor_pages_cover_every_case_once_newest_first(mediator, client_a):
    cases = []
    for days in (9, 7, 5, 3, 1):
        with time_machine.travel(timezone.now() - datetime.timedelta(days=days), tick=False):
            cases.append(received_case())

    rows = _all_pages(client_a, page_size=2)

    assert [row["reference"] for row in rows] == [case.reference for case in reversed(cases)]


def test_deadline_ordering_puts_the_nearest_first_and_finished_cases_last(mediator, client_a):
    with time_machine.travel(timezone.now() - datetime.timedelta(days=10), tick=False):
        older = received_case()
    newer = received_case()
    finished = services.withdraw(case=received_case(), by=mediator, party="consumer")
    opened = opened_case(mediator)

    rows = _all_pages(client_a, page_size=2, ordering="deadline")

    assert [row["reference"] for row in rows] == [
        older.reference,
        newer.reference,
        opened.reference,
        finished.reference,
    ]
    assert rows[0]["days_left"] == 11 and rows[-1]["next_due_on"] is None


def _list_queries(client: Any) -> int:
    client.get(API)  # warm the per-process caches (the firm's domain, the session)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(API)
    assert response.status_code == 200
    return len(queries)


def test_list_query_count_does_not_depend_on_the_number_of_cases(mediator, officer, client_a, use_tenant):
    for n in range(5):
        case = received_case()
        services.assign(case=case, by=mediator, assignee=officer if n % 2 else mediator)
    five = _list_queries(client_a)
    use_tenant("alpha")
    for n in range(25):
        case = received_case()
        services.assign(case=case, by=mediator, assignee=officer if n % 2 else mediator)

    thirty = _list_queries(client_a)

    assert len(client_a.get(API).json()["results"]) == 30
    assert thirty == five


# --- Detail ----------------------------------------------------------------------------------------


def test_detail_has_parties_dispute_deadlines_and_limitation(mediator, client_a):
    member = MemberFactory(legal_name="Boulangerie du Marché", siren="732829320")
    case = opened_case(mediator, member, amount_cents=4_500)
    opened_on = timezone.localdate(case.opened_at)

    body = client_a.get(f"{API}{case.reference}/").json()

    assert (body["id"], body["reference"], body["status"]) == (case.pk, case.reference, "opened")
    assert body["consumer"]["last_name"] == "Martin"
    assert body["business"]["member"]["siren"] == "732829320"
    assert body["dispute"] == {
        "subject": "delivery",
        "description": "Commande jamais livrée malgré deux relances écrites.",
        "amount_cents": 4_500,
        "currency": "EUR",
        "desired_outcome": "Le remboursement de la commande.",
    }
    deadlines = body["deadlines"]
    assert deadlines["outcome_due_on"] == clock.outcome_due(opened_on).isoformat()
    assert deadlines["next_due_on"] == deadlines["outcome_due_on"]
    assert (
        deadlines["admissibility_due_on"] == clock.admissibility_due(timezone.localdate(case.received_at)).isoformat()
    )
    assert deadlines["days_left"] == 90
    assert deadlines["extended_until"] is None and deadlines["proposal_answer_due_on"] is None
    assert body["limitation_suspended_since"] == opened_on.isoformat()
    # The same case is reached by its id.
    assert client_a.get(f"{API}{case.pk}/").json()["reference"] == case.reference


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("mediator", ["business-answer", "extend", "withdraw", "interrupt", "assign"]),
        ("case_officer", ["business-answer", "withdraw", "assign"]),
        ("read_only", []),
    ],
)
def test_allowed_actions_of_an_opened_case_follow_the_role(tenant_a, client_a, use_tenant, role, expected):
    case = opened_case(UserFactory(role="mediator"))
    _login(client_a, UserFactory(role=role))

    assert client_a.get(f"{API}{case.reference}/").json()["allowed_actions"] == expected


def test_allowed_actions_of_received_and_closed_cases(mediator, client_a):
    received = received_case()
    closed = services.close(case=in_mediation_case(mediator), by=mediator, outcome="agreement")

    assert client_a.get(f"{API}{received.reference}/").json()["allowed_actions"] == [
        "request-documents",
        "declare-inadmissible",
        "reorient",
        "open",
        "withdraw",
        "assign",
    ]
    assert client_a.get(f"{API}{closed.reference}/").json()["allowed_actions"] == []


def test_unknown_reference_and_online_draft_are_404(mediator, client_a):
    draft = draft_case()

    assert client_a.get(f"{API}2020-99999/").json()["code"] == "not_found"
    assert client_a.get(f"{API}{draft.pk}/").status_code == 404
    assert client_a.get(f"{API}99999999999999999999999/").status_code == 404


@pytest.mark.parametrize("key", ["²", "١٢", "𝟙"])
def test_non_ascii_digits_in_the_key_are_a_404_not_a_500(mediator, client_a, key):
    # str.isdigit() is true of these, int() is not: the contract run got a 500 from "²".
    assert client_a.get(f"{API}{key}/").status_code == 404
    response = _post(client_a, f"{API}{key}/resume-mediation/", {"note": "Reprise."})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- Postal filing -----------------------------------------------------------------------------------


def _postal_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "consumer": {"first_name": "Louis", "last_name": "Bernard", "address": "3 rue Neuve", "city": "Lyon"},
        "eligibility": {"is_consumer": True, "complained_on": "2025-01-10", "other_proceedings": False},
        "dispute": {"subject": "billing", "description": "Facture erronée.", "amount_cents": 8_000},
    }
    body.update(overrides)
    return body


def test_postal_filing_then_documents_then_submit(mediator, client_a, use_tenant):
    member = MemberFactory()
    received_at = (timezone.now() - datetime.timedelta(days=2)).replace(microsecond=0)

    created = _post(client_a, API, _postal_body(member=member.pk, received_at=received_at.isoformat()))
    assert created.status_code == 201, created.content
    draft = created.json()
    assert (draft["status"], draft["reference"], draft["source"]) == ("draft", None, "postal")
    assert draft["allowed_actions"] == ["submit"]
    assert draft["business"]["member"]["id"] == member.pk

    refused = _post(client_a, f"{API}{draft['id']}/submit/", {"received_at": received_at.isoformat()})
    assert refused.status_code == 409
    assert refused.json()["code"] == "incomplete_filing"

    upload = client_a.post(f"{API}{draft['id']}/documents/", {"file": pdf_upload("courrier.pdf"), "kind": "complaint"})
    assert upload.status_code == 201, upload.content
    assert upload.json()["content_type"] == "application/pdf"
    assert [doc["original_name"] for doc in client_a.get(f"{API}{draft['id']}/documents/").json()] == ["courrier.pdf"]

    submitted = _post(client_a, f"{API}{draft['id']}/submit/", {"received_at": received_at.isoformat()})
    assert submitted.status_code == 200, submitted.content
    body = submitted.json()
    assert body["status"] == "received" and body["reference"]
    assert (
        body["deadlines"]["admissibility_due_on"]
        == clock.admissibility_due(timezone.localdate(received_at)).isoformat()
    )
    assert client_a.get(f"{API}{body['reference']}/").json()["id"] == draft["id"]
    use_tenant("alpha")
    assert Case.objects.get(pk=draft["id"]).received_at == received_at


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"member": 999_999}, "member"),
        ({"dispute": {"amount_cents": -5}}, "dispute"),
        ({"eligibility": {"complained_on": "10/01/2025"}}, "eligibility"),
        ({"received_at": "hier"}, "received_at"),
        # Before consumer mediation began: the contract run sent year 763 (offset +00:09:21 in Paris' local time).
        ({"received_at": "0763-03-01T04:05:03+00:00"}, "received_at"),
        ({"received_at": "2015-12-31T22:00:00+00:00"}, "received_at"),
        ({"business_name": ""}, "business_name"),
    ],
)
def test_postal_filing_with_bad_input_is_a_400(mediator, client_a, use_tenant, overrides, field):
    response = _post(client_a, API, _postal_body(**overrides))

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["detail"]
    use_tenant("alpha")
    assert not Case.objects.exists()


def test_submit_with_a_receipt_before_2016_is_a_400_and_the_draft_stays(mediator, client_a, use_tenant):
    draft = draft_case()
    Case.objects.filter(pk=draft.pk).update(source=Case.Source.POSTAL)  # a postal draft is reachable by its id

    response = _post(client_a, f"{API}{draft.pk}/submit/", {"received_at": "0763-03-01T04:05:03+00:00"})

    assert response.status_code == 400
    assert "received_at" in response.json()["detail"]
    use_tenant("alpha")
    draft.refresh_from_db()
    assert (draft.status, draft.reference) == (Status.DRAFT, None)


def test_upload_that_is_not_a_pdf_or_image_is_a_400_invalid_document(mediator, client_a, use_tenant):
    case = received_case()
    fake = pdf_upload("facture.pdf", b"MZ\x90\x00 not really a pdf")

    response = client_a.post(f"{API}{case.reference}/documents/", {"file": fake})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_document"
    assert "facture.pdf" in response.json()["detail"]
    use_tenant("alpha")
    assert case.documents.count() == 1  # the consumer's complaint only


def test_png_upload_is_stored_as_an_internal_evidence(mediator, client_a):
    case = received_case()

    response = client_a.post(
        f"{API}{case.reference}/documents/", {"file": pdf_upload("photo.png", PNG_BYTES), "channel": "business"}
    )

    assert response.status_code == 201
    assert (response.json()["content_type"], response.json()["kind"], response.json()["channel"]) == (
        "image/png",
        "evidence",
        "business",
    )
    assert PDF_BYTES  # the complaint in the factory is a real PDF header


# --- Actions -----------------------------------------------------------------------------------------


def test_documents_request_then_complete_restarts_the_admissibility_clock(mediator, client_a, use_tenant):
    with time_machine.travel(timezone.now() - datetime.timedelta(days=10), tick=False):
        case = received_case()

    asked = _post(client_a, f"{API}{case.reference}/request-documents/", {"what": "La facture d'achat."})
    complete = _post(client_a, f"{API}{case.reference}/mark-complete/")

    assert asked.status_code == 200 and asked.json()["status"] == "incomplete"
    assert complete.json()["status"] == "received"
    today = timezone.localdate()
    assert complete.json()["deadlines"]["admissibility_due_on"] == clock.admissibility_due(today).isoformat()
    use_tenant("alpha")
    assert list(case.events.filter(kind=CaseEvent.Kind.STATUS).values_list("after", flat=True)) == [
        "received",
        "incomplete",
        "received",
    ]


def test_the_mediation_path_through_the_api(mediator, client_a):
    case = received_case()
    url = f"{API}{case.reference}"

    assert _post(client_a, f"{url}/open/", {"note": "Saisine."}).json()["status"] == "opened"
    assert _post(client_a, f"{url}/business-answer/", {"accepts": True}).json()["status"] == "in_mediation"
    until = timezone.localdate() + datetime.timedelta(days=120)
    extended = _post(client_a, f"{url}/extend/", {"until": until.isoformat(), "reason": "Expertise nécessaire."})
    assert extended.json()["deadlines"]["extended_until"] == until.isoformat()
    assert extended.json()["deadlines"]["outcome_due_on"] == until.isoformat()
    proposal = _post(client_a, f"{url}/send-proposal/", {"text": "Remboursement de 50 %."})
    assert proposal.json()["status"] == "proposal_sent"
    assert (
        proposal.json()["deadlines"]["next_due_on"]
        == (timezone.localdate() + datetime.timedelta(days=clock.PROPOSAL_ANSWER_DAYS)).isoformat()
    )
    _post(client_a, f"{url}/proposal-answer/", {"party": "consumer", "accepts": True})
    closed = _post(client_a, f"{url}/proposal-answer/", {"party": "business", "accepts": True}).json()
    assert (closed["status"], closed["decisions"]["outcome"]) == ("closed", "proposal_accepted")
    assert closed["allowed_actions"] == []


def test_assign_and_unassign(mediator, officer, client_a):
    case = received_case()

    assigned = _post(client_a, f"{API}{case.reference}/assign/", {"assignee": officer.pk}).json()
    unassigned = _post(client_a, f"{API}{case.reference}/assign/", {"assignee": None}).json()

    assert assigned["assignee"] == {"id": officer.pk, "name": "Camille Durand", "email": "officer@example.fr"}
    assert unassigned["assignee"] is None


def test_refused_transition_is_a_409_with_its_code(mediator, client_a, use_tenant):
    case = received_case()

    response = _post(client_a, f"{API}{case.reference}/mark-complete/")

    assert response.status_code == 409
    assert response.json()["code"] == "transition_not_allowed"
    assert "Reçu" in response.json()["detail"]
    use_tenant("alpha")
    assert Case.objects.get(pk=case.pk).status == Status.RECEIVED


def test_missing_condition_is_a_409_with_the_service_code(mediator, client_a):
    case = services.update_case(case=received_case(), by=mediator, member=None, business_name="Non adhérent SARL")

    response = _post(client_a, f"{API}{case.reference}/open/")

    assert response.status_code == 409
    assert response.json()["code"] == "member_required"


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("extend", {"until": "bientôt", "reason": "Complexe."}, "until"),
        ("declare-inadmissible", {"reason": "because"}, "reason"),
        ("request-documents", {}, "what"),
        ("assign", {"assignee": 999_999}, "assignee"),
        ("close", {"outcome": "business_refused"}, "outcome"),
    ],
)
def test_bad_action_input_is_a_400(mediator, client_a, action, body, field):
    case = in_mediation_case(mediator) if action in {"extend", "close"} else received_case()

    response = _post(client_a, f"{API}{case.reference}/{action}/", body)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["detail"]


def test_read_only_user_cannot_act(tenant_a, client_a, use_tenant):
    case = received_case()
    _login(client_a, UserFactory(role="read_only"))

    assert client_a.get(f"{API}{case.reference}/").status_code == 200
    opened = _post(client_a, f"{API}{case.reference}/open/")
    message = _post(client_a, f"{API}{case.reference}/messages/", {"channel": "internal", "body": "Note"})

    assert opened.status_code == 403 and opened.json()["code"] == "permission_denied"
    assert message.status_code == 403
    use_tenant("alpha")
    assert Case.objects.get(pk=case.pk).status == Status.RECEIVED


def test_case_officer_cannot_take_a_mediators_decision(tenant_a, client_a, officer):
    case = received_case()
    _login(client_a, officer)

    assert _post(client_a, f"{API}{case.reference}/open/").status_code == 403
    assert _post(client_a, f"{API}{case.reference}/request-documents/", {"what": "RIB"}).status_code == 200


def test_anonymous_gets_a_401_with_a_code(tenant_a, client_a):
    response = client_a.get(API)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


# --- Messages and timeline ------------------------------------------------------------------------------


def test_staff_messages_on_each_channel_and_filtering(mediator, client_a):
    case = opened_case(mediator)
    url = f"{API}{case.reference}/messages/"

    note = _post(client_a, url, {"channel": "internal", "body": "Appeler le professionnel."})
    to_consumer = _post(client_a, url, {"channel": "consumer", "body": "Pouvez-vous envoyer la facture ?"})
    bad = _post(client_a, url, {"channel": "everyone", "body": "?"})

    assert note.status_code == 201 and to_consumer.status_code == 201
    assert to_consumer.json()["author_name"] == "Hélène Roux"
    assert bad.status_code == 400
    assert [m["channel"] for m in client_a.get(url).json()] == [Channel.INTERNAL, Channel.CONSUMER]
    assert [m["body"] for m in client_a.get(url, {"channel": "consumer"}).json()] == [
        "Pouvez-vous envoyer la facture ?"
    ]
    assert client_a.get(url, {"channel": "business"}).json() == []
    assert client_a.get(url, {"channel": "nope"}).json()["code"] == "invalid_filter"


def test_message_on_a_finished_case_is_a_409(mediator, client_a):
    case = services.withdraw(case=received_case(), by=mediator, party="consumer")

    response = _post(client_a, f"{API}{case.reference}/messages/", {"channel": "consumer", "body": "Bonjour"})

    assert response.status_code == 409
    assert response.json()["code"] == "case_final"


def test_events_are_the_timeline_oldest_first(mediator, client_a):
    case = opened_case(mediator)

    events = client_a.get(f"{API}{case.reference}/events/").json()

    assert [(e["kind"], e["after"]) for e in events] == [("created", ""), ("status", "received"), ("status", "opened")]
    assert events[-1]["by"]["email"] == "mediatrice@example.fr"


# --- Tenant isolation ---------------------------------------------------------------------------------------


def test_another_firms_user_sees_nothing_of_this_firms_cases(tenant_a, client_b, use_tenant):
    case = received_case()
    use_tenant("beta")
    _login(client_b, UserFactory(role="mediator"))

    assert client_b.get(f"{API}{case.reference}/").status_code == 404
    assert client_b.get(f"{API}{case.pk}/").status_code == 404
    assert _post(client_b, f"{API}{case.reference}/open/").status_code == 404
    assert client_b.get(f"{API}{case.reference}/messages/").status_code == 404
    assert client_b.get(API).json()["results"] == []
    use_tenant("alpha")
    assert Case.objects.get(pk=case.pk).status == Status.RECEIVED


def test_schema_documents_every_cases_endpoint(mediator, client_a):
    schema = client_a.get("/api/schema/", {"format": "json"}).json()

    paths = set(schema["paths"])
    assert {"/api/v1/cases/", "/api/v1/cases/{key}/", "/api/v1/cases/{key}/documents/"} <= paths
    for action in ("submit", "open", "close", "assign", "proposal-answer", "request-documents"):
        operation = schema["paths"][f"/api/v1/cases/{{key}}/{action}/"]["post"]
        assert {"200", "400", "403", "404", "409"} <= set(operation["responses"])
