"""The staff case page: what it shows, only the actions the state and the role allow, each action, downloads."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone

from mediation.cases import services
from mediation.cases.models import Case, CaseDocument, CaseMessage, Party
from tests.factories import (
    PDF_BYTES,
    MemberFactory,
    UserFactory,
    in_mediation_case,
    opened_case,
    pdf_upload,
    received_case,
)


@pytest.fixture
def mediator(tenant_a, client_a, media_root):
    user = UserFactory(role="mediator", email="mediatrice@example.fr", first_name="Hélène", last_name="Médiatrice")
    client_a.force_login(user)
    return user


def _actions(response) -> set[str]:
    return set(re.findall(r'id="action-([a-z_]+)"', response.content.decode()))


def _post(client, case, action, data=None, **kwargs):
    payload = {f"{action}-{key}": value for key, value in (data or {}).items()}
    return client.post(f"/staff/dossiers/{case.reference}/action/{action}/", payload, **kwargs)


def _status(case) -> str:
    return Case.objects.get(pk=case.pk).status


def test_page_shows_parties_dispute_deadlines_timeline_and_documents(mediator, client_a):
    member = MemberFactory(legal_name="Garage Central SAS")
    case = opened_case(mediator, member, consumer_phone="06 12 34 56 78")

    response = client_a.get(f"/staff/dossiers/{case.reference}/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "Jeanne Martin" in body and "jeanne.martin@example.org" in body and "06 12 34 56 78" in body
    assert f'href="/staff/adherents/{member.pk}/"' in body
    assert "129,90\u00a0€" in body
    assert "Issue attendue avant le" in body and "90 jours restants" in body
    assert "Prescription suspendue depuis le" in body
    assert "Reçu → Saisine notifiée" in body
    document = case.documents.get()
    assert f"/staff/dossiers/{case.reference}/pieces/{document.pk}/" in body
    assert "css/cases.css" in body


def test_closed_case_shows_when_the_limitation_runs_again(mediator, client_a):
    case = services.close(case=in_mediation_case(mediator), by=mediator, outcome="failure", note="Aucun accord")

    body = client_a.get(f"/staff/dossiers/{case.reference}/").content.decode()

    assert "La prescription court de nouveau, au moins jusqu" in body


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda by: received_case(),
            {
                "request_documents",
                "declare_inadmissible",
                "reorient",
                "open",
                "withdraw",
                "assign",
                "message",
                "upload",
            },
        ),
        (
            lambda by: services.request_documents(case=received_case(), by=by, what="La facture"),
            {"mark_complete", "declare_inadmissible", "reorient", "withdraw", "assign", "message", "upload"},
        ),
        (
            opened_case,
            {"business_answer", "extend", "withdraw", "interrupt", "assign", "recommendations", "message", "upload"},
        ),
        (
            in_mediation_case,
            {
                "send_proposal",
                "extend",
                "close",
                "withdraw",
                "interrupt",
                "assign",
                "recommendations",
                "message",
                "upload",
            },
        ),
        (
            lambda by: services.close(case=in_mediation_case(by), by=by, outcome="agreement"),
            {"recommendations", "execution", "message", "upload"},
        ),
    ],
)
def test_only_the_actions_the_state_allows(mediator, client_a, make, expected):
    case = make(mediator)

    assert _actions(client_a.get(f"/staff/dossiers/{case.reference}/")) == expected


def test_case_officer_does_not_see_the_mediator_decisions(tenant_a, client_a, media_root):
    client_a.force_login(UserFactory(role="case_officer"))
    case = received_case()

    assert _actions(client_a.get(f"/staff/dossiers/{case.reference}/")) == {
        "request_documents",
        "reorient",
        "withdraw",
        "assign",
        "message",
        "upload",
    }
    assert _post(client_a, case, "open").status_code == 403
    assert _status(case) == "received"


def test_read_only_gets_no_action_forms_and_403_on_post(tenant_a, client_a, media_root):
    client_a.force_login(UserFactory(role="read_only"))
    case = received_case()

    response = client_a.get(f"/staff/dossiers/{case.reference}/")
    assert response.status_code == 200
    assert _actions(response) == set()
    assert "/action/" not in response.content.decode()
    assert _post(client_a, case, "request_documents", {"what": "La facture"}).status_code == 403
    assert _post(client_a, case, "message", {"channel": "internal", "body": "Note"}).status_code == 403
    assert _status(case) == "received"


def test_unknown_action_is_404_and_get_is_not_allowed(mediator, client_a):
    case = received_case()

    assert _post(client_a, case, "explode").status_code == 404
    assert client_a.get(f"/staff/dossiers/{case.reference}/action/open/").status_code == 405


def test_an_illegal_action_shows_the_error_and_leaves_the_case(mediator, client_a):
    case = received_case()

    response = _post(client_a, case, "close", {"outcome": "agreement", "note": ""})

    assert response.status_code == 409
    body = response.content.decode()
    assert "Impossible de passer un dossier « Reçu » à « Clos »" in body
    assert _status(case) == "received"


def test_an_invalid_form_is_shown_with_its_errors(mediator, client_a):
    case = received_case()

    response = _post(client_a, case, "request_documents", {"what": ""})

    assert response.status_code == 400
    assert 'id="action-request_documents" open' in response.content.decode()
    assert _status(case) == "received"


def test_before_seizure_actions_move_the_state(mediator, client_a):
    case = received_case()

    response = _post(client_a, case, "request_documents", {"what": "La facture d'achat"}, follow=True)
    assert response.redirect_chain[-1][0] == f"/staff/dossiers/{case.reference}/"
    assert "Les pièces sont demandées au consommateur." in response.content.decode()
    assert _status(case) == "incomplete"

    assert _post(client_a, case, "mark_complete").status_code == 302
    assert _status(case) == "received"

    assert _post(client_a, case, "assign", {"assignee": mediator.pk}).status_code == 302
    assert Case.objects.get(pk=case.pk).assignee == mediator

    assert _post(client_a, case, "open", {"note": "Saisine"}).status_code == 302
    assert _status(case) == "opened"


def test_inadmissible_reorient_and_withdraw(mediator, client_a):
    inadmissible, reoriented, withdrawn = received_case(), received_case(), received_case()
    page = client_a.get(f"/staff/dossiers/{reoriented.reference}/").content.decode()
    assert re.search(r'<datalist id="sector-mediators"><option value="[^"]+">', page)

    _post(client_a, inadmissible, "declare_inadmissible", {"reason": "too_late", "note": "Réclamation de 2019"})
    _post(client_a, reoriented, "reorient", {"to": "Médiateur de l'énergie", "note": ""})
    _post(client_a, withdrawn, "withdraw", {"party": "consumer", "note": "Courrier du 3 mars"})

    assert Case.objects.get(pk=inadmissible.pk).inadmissibility_reason == "too_late"
    assert _status(inadmissible) == "inadmissible"
    assert Case.objects.get(pk=reoriented.pk).reoriented_to == "Médiateur de l'énergie"
    assert _status(withdrawn) == "withdrawn"


def test_mediation_to_accepted_proposal_and_execution(mediator, client_a):
    case = opened_case(mediator)

    assert _post(client_a, case, "business_answer", {"accepts": "true"}).status_code == 302
    assert _status(case) == "in_mediation"

    until = Case.objects.get(pk=case.pk).outcome_due_on + datetime.timedelta(days=30)
    assert _post(client_a, case, "extend", {"until": until.isoformat(), "reason": "Expertise"}).status_code == 302
    assert Case.objects.get(pk=case.pk).extended_until == until

    answer_by = timezone.localdate() + datetime.timedelta(days=20)
    proposal = {"text": "Remboursement de 100 €", "answer_due_on": answer_by.isoformat()}
    assert _post(client_a, case, "send_proposal", proposal).status_code == 302
    assert _status(case) == "proposal_sent"
    assert Case.objects.get(pk=case.pk).proposal_answer_due_on == answer_by

    _post(client_a, case, "answer_proposal", {"party": "consumer", "accepts": "true"})
    page = client_a.get(f"/staff/dossiers/{case.reference}/").content.decode()
    assert "Acceptée" in page and "Pas encore de réponse" in page
    again = _post(client_a, case, "answer_proposal", {"party": "consumer", "accepts": "true"})
    assert again.status_code == 409 and "Cette partie a déjà répondu" in again.content.decode()
    _post(client_a, case, "answer_proposal", {"party": "business", "accepts": "true"})
    closed = Case.objects.get(pk=case.pk)
    assert closed.status == "closed" and closed.outcome == "proposal_accepted"

    assert _post(client_a, case, "recommendations", {"text": "Mieux informer"}).status_code == 302
    assert _post(client_a, case, "execution", {"execution": "carried_out", "party": "consumer"}).status_code == 302
    closed.refresh_from_db()
    assert closed.recommendations == "Mieux informer" and closed.execution == "carried_out"


def test_resume_close_and_interrupt(mediator, client_a):
    case = services.send_proposal(case=in_mediation_case(mediator), by=mediator, text="Proposition")
    assert _post(client_a, case, "resume_mediation", {"note": "Nouvelle proposition demandée"}).status_code == 302
    assert _status(case) == "in_mediation"
    assert _post(client_a, case, "close", {"outcome": "agreement", "note": "Accord"}).status_code == 302
    assert Case.objects.get(pk=case.pk).outcome == "agreement"

    other = opened_case(mediator)
    assert _post(client_a, other, "interrupt", {"note": "Tribunal saisi"}).status_code == 302
    assert _status(other) == "interrupted"


def test_business_refusal_closes(mediator, client_a):
    case = opened_case(mediator)

    _post(client_a, case, "business_answer", {"accepts": "false", "note": "Refus"})

    assert Case.objects.get(pk=case.pk).outcome == "business_refused"


def test_message_upload_and_share(mediator, client_a):
    case = opened_case(mediator)

    response = _post(client_a, case, "message", {"channel": "internal", "body": "À rappeler lundi"}, follow=True)
    assert "À rappeler lundi" in response.content.decode()
    assert CaseMessage.objects.get(case=case).channel == "internal"

    upload = client_a.post(
        f"/staff/dossiers/{case.reference}/action/upload/",
        {"upload-file": pdf_upload("expertise.pdf"), "upload-kind": "evidence", "upload-channel": "business"},
    )
    assert upload.status_code == 302
    staff_document = CaseDocument.objects.get(case=case, original_name="expertise.pdf")
    assert staff_document.channel == "business" and staff_document.party == Party.STAFF

    bad = client_a.post(
        f"/staff/dossiers/{case.reference}/action/upload/",
        {"upload-file": pdf_upload("virus.pdf", b"MZ not a pdf"), "upload-kind": "evidence", "upload-channel": "all"},
    )
    assert bad.status_code == 400 and "ni un PDF" in bad.content.decode()

    complaint = case.documents.get(kind="complaint")
    assert _post(client_a, case, "share", {"document": complaint.pk, "channel": "all"}).status_code == 302
    complaint.refresh_from_db()
    assert complaint.channel == "all"


def test_cannot_share_another_case_document(mediator, client_a):
    case, other = received_case(), received_case()
    foreign = other.documents.get()

    response = _post(client_a, case, "share", {"document": foreign.pk, "channel": "all"})

    assert response.status_code == 400
    foreign.refresh_from_db()
    assert foreign.channel == "consumer"


def test_document_download(mediator, client_a):
    case = received_case()
    document = case.documents.get()

    response = client_a.get(f"/staff/dossiers/{case.reference}/pieces/{document.pk}/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="reclamation.pdf"'
    assert b"".join(response.streaming_content) == PDF_BYTES


def test_document_of_another_case_is_404(mediator, client_a):
    case, other = received_case(), received_case()

    response = client_a.get(f"/staff/dossiers/{case.reference}/pieces/{other.documents.get().pk}/")

    assert response.status_code == 404


def test_download_needs_cases_view(tenant_a, client_a, media_root):
    case = received_case()
    document = case.documents.get()
    url = f"/staff/dossiers/{case.reference}/pieces/{document.pk}/"

    client_a.force_login(UserFactory(role="finance"))
    assert client_a.get(url).status_code == 403
    assert client_a.get(f"/staff/dossiers/{case.reference}/").status_code == 403
    client_a.force_login(UserFactory(role="read_only"))
    assert client_a.get(url).status_code == 200
    client_a.logout()
    assert client_a.get(url).status_code == 302


def test_another_firm_cannot_open_the_case(tenant_a, media_root, use_tenant, client_b):
    case = received_case()
    document = case.documents.get()
    use_tenant("beta")
    client_b.force_login(UserFactory(role="admin"))

    assert client_b.get(f"/staff/dossiers/{case.reference}/").status_code == 404
    assert client_b.get(f"/staff/dossiers/{case.reference}/pieces/{document.pk}/").status_code == 404
    assert _post(client_b, case, "request_documents", {"what": "x"}).status_code == 404
    use_tenant("alpha")
    assert _status(case) == "received"


def test_unknown_reference_is_404(mediator, client_a):
    assert client_a.get("/staff/dossiers/2099-99999/").status_code == 404
