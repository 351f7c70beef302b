"""A request received by post, typed in by staff: recorded at the letter's date with its written complaint."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from mediation.cases.models import Case, CaseDocument
from tests.factories import PNG_BYTES, MemberFactory, UserFactory, pdf_upload

URL = "/staff/dossiers/nouveau/"


@pytest.fixture
def officer(tenant_a, client_a, media_root):
    user = UserFactory(role="case_officer")
    client_a.force_login(user)
    return user


def _data(**overrides):
    data = {
        "consumer_first_name": "Marcel",
        "consumer_last_name": "Leblanc",
        "consumer_address": "3 rue des Lilas",
        "consumer_postcode": "69003",
        "consumer_city": "Lyon",
        "business_name": "",
        "is_consumer": "true",
        "complained_on": (timezone.localdate() - datetime.timedelta(days=60)).isoformat(),
        "other_proceedings": "false",
        "subject": "defect",
        "description": "Lave-linge en panne après deux semaines.",
        "amount": "449.90",
        "desired_outcome": "Le remplacement",
        "received_on": (timezone.localdate() - datetime.timedelta(days=2)).isoformat(),
        "complaint": pdf_upload("reclamation.pdf"),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_form_is_shown_with_today_as_receipt_date(officer, client_a):
    response = client_a.get(URL)

    assert response.status_code == 200
    assert f'value="{timezone.localdate().isoformat()}"' in response.content.decode()


def test_happy_path_creates_a_received_postal_case(officer, client_a):
    member = MemberFactory(legal_name="Électro Ménager SA")
    extra = pdf_upload("facture.pdf")
    photo = pdf_upload("photo.png", PNG_BYTES)

    response = client_a.post(URL, _data(member=f"{member.siren} — {member.legal_name}", documents=[extra, photo]))

    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/staff/dossiers/{case.reference}/"
    assert case.status == "received" and case.source == "postal"
    assert case.member == member and case.amount_cents == 44_990 and case.consent_at is None
    assert timezone.localdate(case.received_at) == timezone.localdate() - datetime.timedelta(days=2)
    assert case.admissibility_due_on == timezone.localdate() + datetime.timedelta(days=19)
    kinds = sorted(case.documents.values_list("kind", "channel", "original_name"))
    assert kinds == [
        ("complaint", "consumer", "reclamation.pdf"),
        ("evidence", "consumer", "facture.pdf"),
        ("evidence", "consumer", "photo.png"),
    ]
    assert case.events.filter(kind="status", after="received", by=officer).exists()


def test_a_non_member_business_by_name(officer, client_a):
    response = client_a.post(URL, _data(business_name="Boutique inconnue"))

    assert response.status_code == 302
    case = Case.objects.get()
    assert case.member is None and case.business_name == "Boutique inconnue"


def test_an_ineligible_letter_is_still_recorded(officer, client_a):
    old = (timezone.localdate() - datetime.timedelta(days=500)).isoformat()

    response = client_a.post(URL, _data(business_name="Boutique", complained_on=old, is_consumer="false"))

    assert response.status_code == 302
    assert Case.objects.get().status == "received"


def test_missing_complaint_is_a_form_error(officer, client_a):
    response = client_a.post(URL, _data(business_name="Boutique", complaint=None))

    assert response.status_code == 400
    assert "complaint" in response.context["form"].errors
    assert not Case.objects.exists()


def test_receipt_date_cannot_be_in_the_future(officer, client_a):
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()

    response = client_a.post(URL, _data(business_name="Boutique", received_on=tomorrow))

    assert response.status_code == 400
    assert response.context["form"].errors["received_on"] == ["La date de réception ne peut pas être dans le futur."]
    assert not Case.objects.exists()


def test_business_and_an_address_are_required(officer, client_a):
    response = client_a.post(URL, _data(consumer_address="", consumer_city=""))

    errors = response.context["form"].errors
    assert response.status_code == 400
    assert "member" in errors and "consumer_address" in errors


def test_unknown_member_is_a_form_error(officer, client_a):
    response = client_a.post(URL, _data(member="999999999 — Personne"))

    assert response.status_code == 400
    assert "Aucun adhérent unique" in response.context["form"].errors["member"][0]


def test_a_refused_document_keeps_the_draft_which_resumes(officer, client_a):
    bad = pdf_upload("notes.pdf", b"not a pdf at all")

    response = client_a.post(URL, _data(business_name="Boutique", documents=[bad]))

    assert response.status_code == 400
    assert "ni un PDF" in response.content.decode()
    draft = Case.objects.get()
    assert draft.status == "draft" and draft.documents.filter(kind="complaint").count() == 1
    assert f'name="draft" value="{draft.pk}"' in response.content.decode()

    resumed = client_a.post(URL, _data(business_name="Boutique", complaint=None, draft=draft.pk))

    assert resumed.status_code == 302
    draft.refresh_from_db()
    assert draft.status == "received" and Case.objects.count() == 1
    assert CaseDocument.objects.filter(case=draft, kind="complaint").count() == 1


def test_read_only_cannot_file(tenant_a, client_a):
    client_a.force_login(UserFactory(role="read_only"))

    assert client_a.get(URL).status_code == 403
    assert client_a.post(URL, _data(business_name="Boutique")).status_code == 403
