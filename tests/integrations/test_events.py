"""Each event type fires from the real service that changes the object, and reaches the endpoint signed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from billing import services as billing
from integrations import signing
from integrations.models import WebhookDelivery
from mediation.cases import services as cases
from mediation.members import membership
from mediation.members.models import Member
from tests.billing.helpers import issued_invoice
from tests.factories import MemberFactory, UserFactory, draft_case, received_case
from tests.integrations.conftest import Receiver

pytestmark = pytest.mark.usefixtures("media_root", "eager_celery")


def _events(receiver: Receiver, endpoint: Any) -> list[dict[str, Any]]:
    """What the receiver got, each request's signature checked."""
    events = []
    for request in receiver.requests:
        signing.verify(secret=endpoint.secret, headers=request.headers, body=request.body)
        events.append(json.loads(request.body))
    return events


def _of_type(events: list[dict[str, Any]], event_type: str) -> list[dict[str, Any]]:
    return [event for event in events if event["type"] == event_type]


def test_an_online_filing_sends_case_created_and_its_status_change(
    endpoint, receiver, django_capture_on_commit_callbacks
):
    draft = draft_case()
    with django_capture_on_commit_callbacks(execute=True):
        case = cases.submit(case=draft, consent=True)

    events = _events(receiver, endpoint)
    [created] = _of_type(events, "case.created")
    assert created["data"]["id"] == case.pk
    assert created["data"]["reference"] == case.reference
    assert created["data"]["status"] == "received"
    assert created["data"]["source"] == "online"
    assert created["data"]["amount_cents"] == 12_990
    [changed] = _of_type(events, "case.status_changed")
    assert (changed["data"]["before"], changed["data"]["after"]) == ("draft", "received")
    body = json.dumps(events)
    assert "Jeanne" not in body and "Martin" not in body and "jeanne.martin" not in body
    assert "jamais livrée" not in body  # never the description


def test_a_postal_case_entered_by_staff_sends_case_created(endpoint, receiver, django_capture_on_commit_callbacks):
    officer = UserFactory(role="case_officer")
    draft = draft_case()
    with django_capture_on_commit_callbacks(execute=True):
        cases.submit(case=draft, consent=False, by=officer)

    [created] = _of_type(_events(receiver, endpoint), "case.created")
    assert created["data"]["source"] == "postal"


def test_a_transition_sends_case_status_changed(endpoint, receiver, django_capture_on_commit_callbacks):
    case = received_case()
    mediator = UserFactory(role="mediator")
    with django_capture_on_commit_callbacks(execute=True):
        cases.open_case(case=case, by=mediator)

    [changed] = _of_type(_events(receiver, endpoint), "case.status_changed")
    assert changed["data"]["reference"] == case.reference
    assert (changed["data"]["before"], changed["data"]["after"]) == ("received", "opened")


def test_a_membership_status_change_sends_membership_changed(
    endpoint, receiver, admin, django_capture_on_commit_callbacks
):
    member = MemberFactory(legal_name="Boulangerie du Marché SARL")
    with django_capture_on_commit_callbacks(execute=True):
        membership.set_status(member=member, to=Member.Status.PROPOSAL_SENT, reason="Proposition envoyée.", by=admin)

    [changed] = _of_type(_events(receiver, endpoint), "membership.changed")
    assert changed["data"] == {
        "member_id": member.pk,
        "siren": member.siren,
        "legal_name": "Boulangerie du Marché SARL",
        "status": "proposal_sent",
        "before": "prospect",
        "after": "proposal_sent",
    }


def test_issuing_an_invoice_sends_invoice_issued(endpoint, receiver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invoice = issued_invoice()

    [issued] = _of_type(_events(receiver, endpoint), "invoice.issued")
    assert issued["data"]["id"] == invoice.pk
    assert issued["data"]["number"] == invoice.number
    assert issued["data"]["gross_cents"] == 36_000
    assert issued["data"]["status"] == invoice.status
    assert issued["data"]["currency"] == "EUR"


def test_paying_an_invoice_in_full_sends_invoice_paid(endpoint, receiver, django_capture_on_commit_callbacks):
    invoice = issued_invoice()
    finance = UserFactory(role="finance")
    with django_capture_on_commit_callbacks(execute=True):
        billing.record_payment(by=finance, invoice=invoice, amount_cents=invoice.gross_cents, method="transfer")

    [paid] = _of_type(_events(receiver, endpoint), "invoice.paid")
    assert paid["data"]["id"] == invoice.pk
    assert paid["data"]["paid_cents"] == 36_000
    assert paid["data"]["paid_at"] is not None


def test_an_endpoint_receives_only_the_events_it_subscribed_to(admin, receiver, django_capture_on_commit_callbacks):
    from integrations import services

    services.create_endpoint(by=admin, url=receiver.url, events=["invoice.paid"])
    draft = draft_case()
    with django_capture_on_commit_callbacks(execute=True):
        cases.submit(case=draft, consent=True)

    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()
