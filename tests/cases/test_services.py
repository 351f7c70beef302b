"""Every path of the case state machine, its legal preconditions and the clocks it keeps."""

from __future__ import annotations

import datetime
import itertools
import threading

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from accounts.models import User
from mediation.cases import clock, services
from mediation.cases.errors import (
    CaseError,
    ConflictOfInterest,
    InvalidDocument,
    NotAllowedForParty,
    PreconditionFailed,
    TransitionNotAllowed,
)
from mediation.cases.models import (
    TRANSITIONS,
    Case,
    CaseEvent,
    Channel,
    InadmissibilityReason,
    Outcome,
    Party,
    Status,
)
from tests.factories import (
    PNG_BYTES,
    MediatorFactory,
    MemberFactory,
    UserFactory,
    draft_case,
    in_mediation_case,
    opened_case,
    pdf_upload,
    received_case,
)

pytestmark = pytest.mark.usefixtures("tenant_a", "media_root")

PARIS = datetime.timezone(datetime.timedelta(hours=1))


@pytest.fixture
def mediator():
    return UserFactory(role=User.Role.MEDIATOR)


@pytest.fixture
def officer():
    return UserFactory(role=User.Role.CASE_OFFICER)


def statuses(case):
    return list(case.events.filter(kind=CaseEvent.Kind.STATUS).values_list("before", "after"))


# --- The table -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "target"),
    [(a, b) for a, b in itertools.product(Status.values, Status.values) if b not in TRANSITIONS[a]],
)
def test_a_transition_outside_the_table_is_refused(current, target):
    case = Case.objects.create(status=current)
    with pytest.raises(TransitionNotAllowed) as refused:
        services._transition(case, target, by=None, party=Party.SYSTEM)
    assert refused.value.code == "transition_not_allowed"
    assert refused.value.status_code == 409
    case.refresh_from_db()
    assert case.status == current
    assert not case.events.exists()


def test_final_statuses_lead_nowhere():
    for status in (Status.INADMISSIBLE, Status.REORIENTED, Status.CLOSED, Status.WITHDRAWN, Status.INTERRUPTED):
        assert TRANSITIONS[status] == frozenset()


# --- Filing ------------------------------------------------------------------------------------


def test_submission_gives_a_yearly_reference_and_the_admissibility_clock():
    with time_machine.travel(datetime.datetime(2026, 3, 1, 10, tzinfo=PARIS), tick=False):
        first = received_case()
        second = received_case()
    assert (first.reference, second.reference) == ("2026-00001", "2026-00002")
    assert first.status == Status.RECEIVED
    assert first.admissibility_due_on == datetime.date(2026, 3, 22)
    assert first.next_due_on == datetime.date(2026, 3, 22)
    assert first.consent_at is not None
    assert first.resume_token_hash == ""
    assert statuses(first) == [(Status.DRAFT, Status.RECEIVED)]


def test_submission_needs_consent():
    case = draft_case()
    with pytest.raises(PreconditionFailed) as refused:
        services.submit(case=case, consent=False)
    assert refused.value.code == "consent_required"
    case.refresh_from_db()
    assert case.status == Status.DRAFT


def test_submission_needs_the_written_complaint():
    case, _token = services.create_draft(
        member=MemberFactory(),
        consumer_last_name="Martin",
        consumer_email="j@example.org",
        is_consumer=True,
        complained_on=timezone.localdate() - datetime.timedelta(days=3),
        other_proceedings=False,
        subject="defect",
        description="Lave-linge en panne au bout d'un mois.",
    )
    with pytest.raises(PreconditionFailed) as refused:
        services.submit(case=case, consent=True)
    assert refused.value.code == "incomplete_filing"
    assert "réclamation écrite" in refused.value.message
    assert Case.objects.get(pk=case.pk).status == Status.DRAFT


def test_online_submission_rechecks_eligibility():
    case = draft_case(complained_on=timezone.localdate() - datetime.timedelta(days=400))
    with pytest.raises(PreconditionFailed) as refused:
        services.submit(case=case, consent=True)
    assert refused.value.code == "not_eligible"


def test_postal_filing_is_recorded_even_when_ineligible(officer):
    case = services.create_postal_case(
        by=officer,
        business_name="Garage inconnu",
        consumer_last_name="Petit",
        consumer_address="3 rue des Lilas",
        consumer_city="Nantes",
        is_consumer=True,
        complained_on=timezone.localdate() - datetime.timedelta(days=500),
        other_proceedings=False,
        subject="service",
        description="Réparation mal faite.",
    )
    services.add_document(case=case, file=pdf_upload(), party=Party.CONSUMER, kind="complaint")
    received_on = timezone.now() - datetime.timedelta(days=2)
    case = services.submit(case=case, consent=False, by=officer, received_at=received_on)
    assert case.status == Status.RECEIVED
    assert case.source == Case.Source.POSTAL
    # The clock runs from the day the letter arrived, not from the day it was typed in.
    assert case.admissibility_due_on == clock.admissibility_due(timezone.localdate(received_on))


def test_postal_receipt_date_cannot_be_in_the_future(officer):
    case = draft_case()
    with pytest.raises(PreconditionFailed) as refused:
        services.submit(case=case, consent=False, by=officer, received_at=timezone.now() + datetime.timedelta(days=1))
    assert refused.value.code == "received_in_future"


def test_draft_resumes_only_with_its_token():
    case, token = services.create_draft(consumer_email="a@example.org")
    assert services.draft_by_token(token) == case
    assert services.draft_by_token(token + "x") is None
    assert services.draft_by_token("") is None


# --- Before the seizure --------------------------------------------------------------------


def test_documents_requested_then_complete_restarts_the_admissibility_period(officer):
    with time_machine.travel(datetime.datetime(2026, 3, 1, 10, tzinfo=PARIS), tick=False):
        case = received_case()
        case = services.request_documents(case=case, by=officer, what="La facture d'achat.")
    assert case.status == Status.INCOMPLETE
    with time_machine.travel(datetime.datetime(2026, 3, 10, 10, tzinfo=PARIS), tick=False):
        case = services.mark_complete(case=case, by=officer)
    assert case.status == Status.RECEIVED
    assert case.admissibility_due_on == datetime.date(2026, 3, 31)
    assert statuses(case)[-2:] == [(Status.RECEIVED, Status.INCOMPLETE), (Status.INCOMPLETE, Status.RECEIVED)]


def test_documents_request_says_which(officer):
    with pytest.raises(PreconditionFailed):
        services.request_documents(case=received_case(), by=officer, what="  ")


@pytest.mark.parametrize("reason", InadmissibilityReason.values)
def test_inadmissible_for_each_reason_of_l612_2(mediator, reason):
    case = services.declare_inadmissible(case=received_case(), by=mediator, reason=reason, note="Voir courrier.")
    assert case.status == Status.INADMISSIBLE
    assert case.inadmissibility_reason == reason
    assert case.closed_at is not None
    assert case.next_due_on is None
    event = case.events.get(kind=CaseEvent.Kind.STATUS, after=Status.INADMISSIBLE)
    assert event.data == {"reason": reason, "late": False}


def test_inadmissibility_needs_a_reason(mediator):
    with pytest.raises(PreconditionFailed) as refused:
        services.declare_inadmissible(case=received_case(), by=mediator, reason="")
    assert refused.value.code == "reason_required"


def test_inadmissibility_after_three_weeks_is_recorded_as_late(mediator):
    with time_machine.travel(datetime.datetime(2026, 3, 1, 10, tzinfo=PARIS), tick=False):
        case = received_case()
    with time_machine.travel(datetime.datetime(2026, 3, 23, 10, tzinfo=PARIS), tick=False):
        case = services.declare_inadmissible(case=case, by=mediator, reason=InadmissibilityReason.OUT_OF_SCOPE)
    assert case.events.get(after=Status.INADMISSIBLE).data["late"] is True


def test_a_case_officer_cannot_decide_inadmissibility(officer):
    case = received_case()
    with pytest.raises(PermissionDenied):
        services.declare_inadmissible(case=case, by=officer, reason=InadmissibilityReason.TOO_LATE)
    case.refresh_from_db()
    assert case.status == Status.RECEIVED


def test_reorientation_names_where(officer):
    case = services.reorient(case=received_case(), by=officer, to="Médiateur national de l'énergie")
    assert case.status == Status.REORIENTED
    assert case.reoriented_to == "Médiateur national de l'énergie"
    with pytest.raises(PreconditionFailed):
        services.reorient(case=received_case(), by=officer, to="")


def test_seizure_starts_the_ninety_day_clock_and_suspends_limitation(mediator):
    with time_machine.travel(datetime.datetime(2026, 1, 10, 9, tzinfo=PARIS), tick=False):
        case = services.open_case(case=received_case(), by=mediator)
    assert case.status == Status.OPENED
    assert case.outcome_due_on == datetime.date(2026, 4, 10)
    assert case.next_due_on == datetime.date(2026, 4, 10)
    assert case.limitation_suspended_since == datetime.date(2026, 1, 10)
    assert case.limitation_runs_again_until is None


def test_seizure_needs_a_member_business(mediator):
    case = received_case(member=None, business_name="Non adhérent SARL")
    Case.objects.filter(pk=case.pk).update(member=None)
    with pytest.raises(PreconditionFailed) as refused:
        services.open_case(case=case, by=mediator)
    assert refused.value.code == "member_required"


def test_no_seizure_of_an_incomplete_file(mediator, officer):
    case = services.request_documents(case=received_case(), by=officer, what="La facture.")
    with pytest.raises(TransitionNotAllowed):
        services.open_case(case=case, by=mediator)


# --- During the mediation ----------------------------------------------------------------------


def test_business_accepting_starts_the_mediation_and_tells_billing(
    mediator, monkeypatch, django_capture_on_commit_callbacks
):
    from mediation.cases import signals

    monkeypatch.setattr(services, "_send_letters_after_commit", lambda event: None)  # letters: test_letters.py
    heard = []
    signals.business_accepted.connect(lambda **kw: heard.append(kw["case_id"]), weak=False, dispatch_uid="t")
    try:
        case = opened_case(mediator)
        with django_capture_on_commit_callbacks(execute=True):
            case = services.record_business_answer(case=case, accepts=True)
    finally:
        signals.business_accepted.disconnect(dispatch_uid="t")
    assert case.status == Status.IN_MEDIATION
    assert case.business_accepted_at is not None
    assert heard == [case.pk]


def test_business_refusing_closes_the_case(mediator):
    case = services.record_business_answer(case=opened_case(mediator), accepts=False, note="Hors délai.")
    assert case.status == Status.CLOSED
    assert case.outcome == Outcome.BUSINESS_REFUSED
    assert case.closed_by_party == Party.BUSINESS
    assert case.limitation_runs_again_until is not None


def test_extension_needs_a_reason_and_a_later_date(mediator):
    case = in_mediation_case(mediator)
    with pytest.raises(PreconditionFailed):
        services.extend(case=case, by=mediator, until=case.outcome_due_on + datetime.timedelta(days=30), reason="")
    with pytest.raises(PreconditionFailed) as refused:
        services.extend(case=case, by=mediator, until=case.outcome_due_on, reason="Expertise technique.")
    assert refused.value.code == "not_later"
    later = case.outcome_due_on + datetime.timedelta(days=45)
    case = services.extend(case=case, by=mediator, until=later, reason="Expertise technique nécessaire.")
    assert case.outcome_due_on == later
    assert case.next_due_on == later
    assert case.events.filter(kind=CaseEvent.Kind.EXTENDED).count() == 1


def test_extension_only_while_in_progress(mediator):
    with pytest.raises(PreconditionFailed):
        services.extend(
            case=received_case(), by=mediator, until=timezone.localdate() + datetime.timedelta(days=200), reason="x"
        )


def test_proposal_sets_the_answer_deadline(mediator):
    case = in_mediation_case(mediator)
    due = timezone.localdate() + datetime.timedelta(days=15)
    case = services.send_proposal(case=case, by=mediator, text="Remboursement de 129,90 €.", answer_due_on=due)
    assert case.status == Status.PROPOSAL_SENT
    assert case.proposal_answer_due_on == due
    assert case.next_due_on == due


def test_proposal_default_answer_period(mediator):
    case = services.send_proposal(case=in_mediation_case(mediator), by=mediator, text="Avoir de 50 €.")
    assert case.proposal_answer_due_on == timezone.localdate() + datetime.timedelta(days=clock.PROPOSAL_ANSWER_DAYS)


def test_proposal_accepted_by_both_closes_and_schedules_the_execution_check(mediator):
    case = services.send_proposal(case=in_mediation_case(mediator), by=mediator, text="Remboursement.")
    case = services.answer_proposal(case=case, party=Party.CONSUMER, accepts=True)
    assert case.status == Status.PROPOSAL_SENT
    with pytest.raises(PreconditionFailed) as twice:
        services.answer_proposal(case=case, party=Party.CONSUMER, accepts=False)
    assert twice.value.code == "already_answered"
    case = services.answer_proposal(case=case, party=Party.BUSINESS, accepts=True)
    assert case.status == Status.CLOSED
    assert case.outcome == Outcome.PROPOSAL_ACCEPTED
    assert case.execution == Case.Execution.PENDING
    assert case.execution_check_on == timezone.localdate() + datetime.timedelta(days=services.EXECUTION_CHECK_DAYS)


def test_one_refusal_closes_as_refused(mediator):
    case = services.send_proposal(case=in_mediation_case(mediator), by=mediator, text="Remboursement.")
    case = services.answer_proposal(case=case, party=Party.BUSINESS, accepts=False)
    assert case.status == Status.CLOSED
    assert case.outcome == Outcome.PROPOSAL_REFUSED
    assert case.execution == ""


def test_unanswered_proposal_closes_only_after_its_deadline(mediator):
    case = services.send_proposal(case=in_mediation_case(mediator), by=mediator, text="Remboursement.")
    with pytest.raises(PreconditionFailed) as refused:
        services.close(case=case, by=mediator, outcome=Outcome.PROPOSAL_REFUSED)
    assert refused.value.code == "answer_period_running"
    with time_machine.travel(case.proposal_answer_due_on + datetime.timedelta(days=1), tick=False):
        case = services.close(case=case, by=mediator, outcome=Outcome.PROPOSAL_REFUSED, note="Sans réponse.")
    assert case.outcome == Outcome.PROPOSAL_REFUSED


def test_agreement_closes_with_execution_follow_up(mediator):
    case = services.close(case=in_mediation_case(mediator), by=mediator, outcome=Outcome.AGREEMENT)
    assert case.status == Status.CLOSED
    assert case.execution == Case.Execution.PENDING
    case = services.record_execution(case=case, carried_out=True, party=Party.CONSUMER)
    assert case.execution == Case.Execution.CARRIED_OUT


def test_failure_before_the_business_accepted_is_refused(mediator):
    with pytest.raises(PreconditionFailed) as refused:
        services.close(case=opened_case(mediator), by=mediator, outcome=Outcome.FAILURE)
    assert refused.value.code == "not_in_mediation"


def test_revised_proposal_voids_earlier_answers(mediator):
    case = services.send_proposal(case=in_mediation_case(mediator), by=mediator, text="Première proposition.")
    case = services.answer_proposal(case=case, party=Party.CONSUMER, accepts=True)
    case = services.resume_mediation(case=case, by=mediator, note="Le professionnel demande un délai.")
    assert case.status == Status.IN_MEDIATION
    assert case.consumer_answer == ""
    assert case.next_due_on == case.outcome_due_on


@pytest.mark.parametrize("stage", ["received", "opened", "in_mediation", "proposal_sent"])
def test_the_consumer_may_withdraw_at_any_time(mediator, stage):
    case = {
        "received": lambda: received_case(),
        "opened": lambda: opened_case(mediator),
        "in_mediation": lambda: in_mediation_case(mediator),
        "proposal_sent": lambda: services.send_proposal(case=in_mediation_case(mediator), by=mediator, text="x"),
    }[stage]()
    case = services.withdraw(case=case, party=Party.CONSUMER, note="Réglé à l'amiable.")
    assert case.status == Status.WITHDRAWN
    assert case.closed_by_party == Party.CONSUMER


def test_the_business_withdraws_only_once_a_party(mediator):
    with pytest.raises(NotAllowedForParty):
        services.withdraw(case=received_case(), party=Party.BUSINESS)
    case = services.withdraw(case=in_mediation_case(mediator), party=Party.BUSINESS)
    assert case.status == Status.WITHDRAWN


def test_interruption_needs_a_reason(mediator):
    with pytest.raises(PreconditionFailed):
        services.interrupt(case=in_mediation_case(mediator), by=mediator, note="")
    case = services.interrupt(case=in_mediation_case(mediator), by=mediator, note="Le tribunal a été saisi.")
    assert case.status == Status.INTERRUPTED


def test_nothing_happens_on_a_closed_case(mediator):
    case = services.withdraw(case=received_case(), party=Party.CONSUMER)
    for attempt in (
        lambda: services.open_case(case=case, by=mediator),
        lambda: services.withdraw(case=case, party=Party.CONSUMER),
        lambda: services.post_message(case=case, party=Party.CONSUMER, body="Encore moi"),
        lambda: services.assign(case=case, by=mediator, assignee=mediator),
    ):
        with pytest.raises(CaseError):
            attempt()


# --- Assignment (R613-1) ---------------------------------------------------------------------


def test_a_mediator_with_a_declared_link_is_never_assigned(mediator):
    member = MemberFactory()
    MediatorFactory(user=mediator, conflict_sirens=[member.siren])
    case = received_case(member=member)
    with pytest.raises(ConflictOfInterest) as refused:
        services.assign(case=case, by=mediator, assignee=mediator)
    assert "R613-1" in refused.value.message
    case.refresh_from_db()
    assert case.assignee is None


def test_seizure_refused_when_the_assignee_has_a_link(mediator):
    member = MemberFactory()
    linked = UserFactory(role=User.Role.MEDIATOR)
    case = services.assign(case=received_case(member=member), by=mediator, assignee=linked)
    MediatorFactory(user=linked, conflict_sirens=[member.siren])  # declared after the assignment
    with pytest.raises(ConflictOfInterest):
        services.open_case(case=case, by=mediator)


def test_bulk_assignment_reports_refusals(mediator, officer):
    member = MemberFactory()
    MediatorFactory(user=mediator, conflict_sirens=[member.siren])
    free, linked = received_case(), received_case(member=member)
    done, refused = services.bulk_assign(cases=[free, linked], by=officer, assignee=mediator)
    assert [c.pk for c in done] == [free.pk]
    assert [c.pk for c, _message in refused] == [linked.pk]


def test_only_case_handlers_are_assigned(officer):
    finance = UserFactory(role=User.Role.FINANCE)
    with pytest.raises(PreconditionFailed) as refused:
        services.assign(case=received_case(), by=officer, assignee=finance)
    assert refused.value.code == "not_a_case_handler"


# --- Messages and documents (L612-3) ----------------------------------------------------------


def test_a_party_writes_only_on_its_own_channel(mediator):
    case = in_mediation_case(mediator)
    message = services.post_message(case=case, party=Party.CONSUMER, body="Bonjour")
    assert message.channel == Channel.CONSUMER
    with pytest.raises(NotAllowedForParty):
        services.post_message(case=case, party=Party.CONSUMER, body="psst", channel=Channel.BUSINESS)
    with pytest.raises(NotAllowedForParty):
        services.post_message(case=case, party=Party.BUSINESS, body="note", channel=Channel.INTERNAL)


def test_the_business_writes_only_from_the_seizure(mediator):
    with pytest.raises(PreconditionFailed):
        services.post_message(case=received_case(), party=Party.BUSINESS, body="Bonjour")


def test_staff_internal_notes_stay_possible_after_closure(mediator):
    case = services.withdraw(case=received_case(), party=Party.CONSUMER)
    note = services.post_message(case=case, party=Party.STAFF, by=mediator, channel=Channel.INTERNAL, body="Archivé.")
    assert note.channel == Channel.INTERNAL


def test_document_type_is_checked_on_content():
    case = received_case()
    disguised = pdf_upload("facture.pdf", b"just some text, not a PDF")
    with pytest.raises(InvalidDocument) as refused:
        services.add_document(case=case, file=disguised, party=Party.CONSUMER)
    assert refused.value.status_code == 400
    png = services.add_document(case=case, file=pdf_upload("photo.txt", PNG_BYTES), party=Party.CONSUMER)
    assert png.content_type == "image/png"
    assert png.channel == Channel.CONSUMER
    assert case.documents.count() == 2  # the complaint and the photo; the refused file left nothing


def test_empty_and_oversized_documents_are_refused(monkeypatch):
    case = received_case()
    with pytest.raises(InvalidDocument):
        services.add_document(case=case, file=pdf_upload("vide.pdf", b""), party=Party.CONSUMER)
    monkeypatch.setattr(services, "MAX_DOCUMENT_BYTES", 10)
    with pytest.raises(InvalidDocument):
        services.add_document(case=case, file=pdf_upload(), party=Party.CONSUMER)


def test_stored_file_name_reveals_nothing():
    case = received_case()
    document = case.documents.get()
    assert "reclamation" not in document.file.name
    assert document.original_name == "reclamation.pdf"
    assert len(document.sha256) == 64


def test_sharing_a_document_is_recorded(officer):
    case = received_case()
    document = services.share_document(document=case.documents.get(), by=officer, channel=Channel.ALL)
    assert document.channel == Channel.ALL
    assert case.events.filter(kind=CaseEvent.Kind.DOCUMENT, channel=Channel.INTERNAL).exists()


# --- Numbering under concurrency ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_get_distinct_consecutive_references(tenant_a, media_root):
    from django.db import connections

    drafts = [draft_case() for _ in range(8)]
    errors: list[BaseException] = []

    def submit(case_pk: int) -> None:
        try:
            connection.set_tenant(tenant_a)
            services.submit(case=Case.objects.get(pk=case_pk), consent=True)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(case.pk,)) for case in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = sorted(int(ref.split("-")[1]) for ref in Case.objects.values_list("reference", flat=True))
    assert numbers == list(range(numbers[0], numbers[0] + 8))


def test_postal_draft_keeps_its_date_of_receipt(officer):
    received_on = timezone.now() - datetime.timedelta(days=4)
    case = services.create_postal_case(
        by=officer,
        received_at=received_on,
        member=MemberFactory(),
        consumer_last_name="Petit",
        consumer_address="3 rue des Lilas",
        consumer_city="Nantes",
        subject="service",
        description="Réparation mal faite.",
    )
    services.add_document(case=case, file=pdf_upload(), party=Party.CONSUMER, kind="complaint")
    case = services.submit(case=case, consent=False, by=officer)
    assert case.received_at == received_on
    assert case.admissibility_due_on == clock.admissibility_due(timezone.localdate(received_on))


def test_a_deactivated_handlers_cases_stay_and_can_be_reassigned(mediator, officer, client_a):
    from accounts import services as staff_services
    from tests.factories import AdminFactory

    case = services.assign(case=received_case(), by=officer, assignee=officer)
    staff_services.deactivate_staff(by=AdminFactory(), user=officer)

    case.refresh_from_db()
    assert case.assignee_id == officer.pk  # the case keeps its history and stays visible
    client_a.force_login(mediator)
    inbox = client_a.get("/staff/dossiers/", {"assignee": str(officer.pk)})
    assert [row.reference for row in inbox.context["rows"]] == [case.reference]
    case = services.assign(case=case, by=mediator, assignee=mediator)
    assert case.assignee_id == mediator.pk
