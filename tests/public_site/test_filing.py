"""The consumer's filing wizard at /deposer/: eligibility, each step saved, documents, submission."""

from __future__ import annotations

import datetime
import html

import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st

from mediation.cases.models import Case, CaseDocument, Status
from public_site.filing_views import TOKEN_KEY, format_euros
from public_site.forms import parse_euros
from tests.factories import MemberFactory, pdf_upload

PHONE = {"HTTP_USER_AGENT": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"}


@pytest.fixture
def member(tenant_a):
    return MemberFactory(legal_name="Électro Ménager SAS", trade_name="ElectroPlus", status="active")


def _eligibility(member, **overrides):
    data = {
        "action": "next",
        "is_consumer": "yes",
        "member": str(member.pk) if member else "",
        "business_name": "",
        "complained": "yes",
        "complained_on": (datetime.date.today() - datetime.timedelta(days=20)).isoformat(),
        "other_proceedings": "no",
    }
    data.update(overrides)
    return data


YOU = {
    "consumer_first_name": "Jeanne",
    "consumer_last_name": "Martin",
    "consumer_email": "Jeanne.Martin@example.org",
    "consumer_phone": "06 12 34 56 78",
    "consumer_address": "3 rue des Lilas",
    "consumer_postcode": "69003",
    "consumer_city": "Lyon",
}
DISPUTE = {
    "subject": "delivery",
    "description": "Commande payée le 2 mars, jamais livrée.",
    "amount": "129,90",
    "desired_outcome": "Le remboursement.",
}


def _text(response):
    return html.unescape(response.content.decode())


def _draft(client):
    from mediation.cases import services

    return services.draft_by_token(client.session[TOKEN_KEY])


# --- Eligibility -------------------------------------------------------------------------------


def test_a_consumer_with_a_recent_complaint_gets_a_draft_and_goes_on(member, client_a):
    response = client_a.post("/deposer/", _eligibility(member))
    assert response.status_code == 302 and response["Location"] == "/deposer/coordonnees/"
    draft = _draft(client_a)
    assert draft.status == Status.DRAFT and draft.member == member and draft.is_consumer is True


def test_not_a_consumer_is_told_why_and_where_to_go(member, client_a):
    response = client_a.post("/deposer/", _eligibility(member, is_consumer="no"))
    body = _text(response)
    assert response.status_code == 200
    assert "réservée aux litiges entre un consommateur et un professionnel" in body
    assert "Médiateur des entreprises" in body and "conciliateurs.fr" in body
    assert TOKEN_KEY not in client_a.session
    assert not Case.objects.exists()


def test_no_written_complaint_shows_the_way_forward_and_the_model_letter(member, client_a):
    response = client_a.post("/deposer/", _eligibility(member, complained="no", complained_on=""))
    body = _text(response)
    assert "réclamation écrite" in body and "/deposer/modele-de-reclamation/" in body
    assert not Case.objects.exists()
    letter = client_a.get("/deposer/modele-de-reclamation/")
    assert letter.status_code == 200 and "Objet : réclamation" in _text(letter)


def test_a_date_is_required_when_the_consumer_says_they_complained(member, client_a):
    response = client_a.post("/deposer/", _eligibility(member, complained_on=""))
    body = _text(response)
    assert "Indiquez la date de votre réclamation écrite." in body
    assert 'aria-describedby="id_complained_on_helptext id_complained_on_error"' in body
    assert not Case.objects.exists()


def test_a_complaint_more_than_a_year_old_is_too_late(member, client_a):
    with time_machine.travel(datetime.datetime(2025, 6, 15, 10, tzinfo=datetime.UTC)):
        too_old = _eligibility(member, complained_on="2024-06-14")
        response = client_a.post("/deposer/", too_old)
        assert "plus d'un an" in _text(response)
        assert not Case.objects.exists()
        just_in_time = client_a.post("/deposer/", _eligibility(member, complained_on="2024-06-15"))
        assert just_in_time.status_code == 302


def test_other_proceedings_stop_the_request(member, client_a):
    response = client_a.post("/deposer/", _eligibility(member, other_proceedings="yes"))
    assert "déjà examiné" in _text(response)
    assert not Case.objects.exists()


def test_a_business_that_is_not_a_member_shows_the_directory(member, client_a):
    response = client_a.post("/deposer/", _eligibility(None, business_name="Boutique Inconnue"))
    body = _text(response)
    assert "n'est pas adhérent" in body
    assert "Médiateur national de l'énergie" in body and "conciliateurs.fr" in body
    assert "plateforme" in body
    assert not Case.objects.exists()


def test_a_non_member_request_goes_on_only_when_the_consumer_confirms(member, client_a):
    data = _eligibility(None, business_name="Boutique Inconnue", non_member_confirmed="on")
    assert client_a.post("/deposer/", data).status_code == 302
    assert _draft(client_a).business_name == "Boutique Inconnue" and _draft(client_a).member is None


def test_a_lapsed_member_cannot_be_chosen(tenant_a, client_a):
    lapsed = MemberFactory(status="lapsed")
    response = client_a.post("/deposer/", _eligibility(lapsed))
    assert response.status_code == 200 and not Case.objects.exists()
    assert "pas adhérent" in _text(response)


def test_search_lists_covered_members_and_keeps_the_answers(member, client_a):
    MemberFactory(legal_name="Électro Fermé", status="terminated")
    data = {**_eligibility(None), "action": "search", "business_query": "électro", "is_consumer": "yes"}
    response = client_a.post("/deposer/", data)
    assert [m.pk for m in response.context["results"]] == [member.pk]
    body = _text(response)
    assert 'value="yes" id="id_is_consumer_0" checked' in body or 'value="yes"' in body
    assert "Électro Fermé" not in body
    assert not Case.objects.exists()


def test_the_poster_qr_code_prefills_the_member(member, client_a):
    response = client_a.get(f"/deposer/?adherent={member.siren}")
    assert response.status_code == 200
    assert f'value="{member.pk}" id="member-{member.pk}" checked' in _text(response)


# --- The whole flow ------------------------------------------------------------------------------


def test_the_happy_path_on_a_phone_ends_with_a_reference_and_the_case_received(
    member, client_a, media_root, mailoutbox
):
    start = client_a.get("/deposer/", **PHONE)
    assert 'name="viewport" content="width=device-width' in _text(start)
    assert "Étape 1 sur 5" in _text(start)

    assert client_a.post("/deposer/", _eligibility(member), **PHONE).status_code == 302
    response = client_a.post("/deposer/coordonnees/", YOU, **PHONE)
    assert response["Location"] == "/deposer/litige/"
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["jeanne.martin@example.org"]
    assert "/deposer/reprendre/" in mailoutbox[0].body
    # Saving the step again does not send the link twice.
    client_a.post("/deposer/coordonnees/", YOU, **PHONE)
    assert len(mailoutbox) == 1

    assert "Étape 3 sur 5" in _text(client_a.get("/deposer/litige/", **PHONE))
    assert client_a.post("/deposer/litige/", DISPUTE, **PHONE)["Location"] == "/deposer/documents/"
    upload = {"action": "upload", "kind": "complaint", "file": pdf_upload("ma-reclamation.pdf")}
    assert client_a.post("/deposer/documents/", upload, **PHONE).status_code == 302
    evidence = {"action": "upload", "kind": "evidence", "file": pdf_upload("facture.pdf")}
    client_a.post("/deposer/documents/", evidence, **PHONE)
    page = _text(client_a.get("/deposer/documents/", **PHONE))
    assert "ma-reclamation.pdf" in page and "facture.pdf" in page
    assert client_a.post("/deposer/documents/", {"action": "continue"}, **PHONE)["Location"] == "/deposer/verification/"

    review = _text(client_a.get("/deposer/verification/", **PHONE))
    assert "129,90 €" in review and "ElectroPlus" in review
    refused = client_a.post("/deposer/verification/", {}, **PHONE)
    assert refused.status_code == 400 and "Cochez cette case" in _text(refused)

    sent = client_a.post("/deposer/verification/", {"consent": "on"}, REMOTE_ADDR="203.0.113.9", **PHONE)
    assert sent["Location"] == "/deposer/envoyee/"
    case = Case.objects.get()
    assert case.status == Status.RECEIVED and case.reference
    assert case.amount_cents == 12990 and case.consumer_email == "jeanne.martin@example.org"
    assert case.consent_at is not None and case.admissibility_due_on is not None
    assert case.documents.filter(kind=CaseDocument.Kind.COMPLAINT).count() == 1
    assert case.events.filter(after=Status.RECEIVED, data__ip="203.0.113.9").exists()

    done = _text(client_a.get("/deposer/envoyee/", **PHONE))
    assert case.reference in done and "jeanne.martin@example.org" in done
    # The acknowledgement is the letters slice's (after commit): the wizard sends nothing more itself.
    assert len(mailoutbox) == 1
    # The draft is gone from the session: the steps start over.
    assert client_a.get("/deposer/litige/")["Location"] == "/deposer/"


def test_steps_cannot_be_skipped(member, client_a):
    assert client_a.get("/deposer/litige/")["Location"] == "/deposer/"
    client_a.post("/deposer/", _eligibility(member))
    assert client_a.get("/deposer/verification/")["Location"] == "/deposer/coordonnees/"


def test_the_resume_link_restores_the_draft_in_another_browser(member, client_a, mailoutbox):
    from django.test import Client

    client_a.post("/deposer/", _eligibility(member))
    client_a.post("/deposer/coordonnees/", YOU)
    client_a.post("/deposer/litige/", DISPUTE)
    link = next(line for line in mailoutbox[0].body.splitlines() if "/deposer/reprendre/" in line)
    path = link[link.index("/deposer/") :].strip()

    other = Client(HTTP_HOST="alpha.localhost")
    response = other.get(path)
    assert response.status_code == 302 and response["Location"] == "/deposer/documents/"
    page = _text(other.get("/deposer/litige/"))
    assert "Commande payée le 2 mars" in page and "129,90" in page


def test_an_unknown_resume_link_is_a_clear_404(tenant_a, client_a):
    response = client_a.get("/deposer/reprendre/not-a-token/")
    assert response.status_code == 404
    assert "ne permet plus de reprendre" in _text(response)


def test_a_pdf_that_is_really_text_is_refused_and_the_draft_is_kept(member, client_a, media_root):
    client_a.post("/deposer/", _eligibility(member))
    client_a.post("/deposer/coordonnees/", YOU)
    client_a.post("/deposer/litige/", DISPUTE)
    fake = pdf_upload("reclamation.pdf", content=b"Bonjour, ceci est un simple texte.\n")
    response = client_a.post("/deposer/documents/", {"action": "upload", "kind": "complaint", "file": fake})
    body = _text(response)
    assert response.status_code == 400
    assert "n'est ni un PDF, ni une image JPEG ou PNG" in body
    assert 'role="alert"' in body and "id_file_error" in body
    draft = _draft(client_a)
    assert draft.documents.count() == 0
    assert draft.description == DISPUTE["description"] and draft.consumer_last_name == "Martin"


def test_a_missing_complaint_blocks_the_submission_with_a_clear_message(member, client_a, media_root):
    client_a.post("/deposer/", _eligibility(member))
    client_a.post("/deposer/coordonnees/", YOU)
    client_a.post("/deposer/litige/", DISPUTE)
    client_a.post("/deposer/documents/", {"action": "upload", "kind": "evidence", "file": pdf_upload("facture.pdf")})

    blocked = client_a.post("/deposer/documents/", {"action": "continue"})
    assert blocked.status_code == 400 and "Ajoutez la copie de votre réclamation écrite" in _text(blocked)
    refused = client_a.post("/deposer/verification/", {"consent": "on"})
    assert refused.status_code == 400
    assert "la copie de votre réclamation écrite au professionnel" in _text(refused)
    assert _draft(client_a).status == Status.DRAFT


def test_the_amount_is_required_to_be_a_french_amount(member, client_a):
    client_a.post("/deposer/", _eligibility(member))
    client_a.post("/deposer/coordonnees/", YOU)
    response = client_a.post("/deposer/litige/", {**DISPUTE, "amount": "douze euros"})
    assert "Indiquez un montant en euros" in _text(response)
    assert _draft(client_a).amount_cents is None


def test_the_english_interface_works(member, client_a):
    client_a.post("/i18n/setlang/", {"language": "en", "next": "/deposer/"})
    response = client_a.get("/deposer/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200


def test_a_draft_of_another_firm_cannot_be_resumed(member, client_a, client_b, tenant_b, use_tenant):
    use_tenant("alpha")
    client_a.post("/deposer/", _eligibility(member))
    client_a.post("/deposer/coordonnees/", YOU)
    token = client_a.session[TOKEN_KEY]
    assert client_b.get(f"/deposer/reprendre/{token}/").status_code == 404


# --- Amounts -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, cents",
    [
        ("129,90", 12990),
        ("129,9", 12990),
        ("129", 12900),
        ("1 299,90 €", 129990),
        ("1\u202f299,90", 129990),
        ("1.299,90", 129990),
        ("1,299.90", 129990),
        ("1.299", 129900),
        ("12.5", 1250),
        ("0,99", 99),
        ("", None),
        ("  ", None),
    ],
)
def test_french_amounts_are_parsed_to_cents(text, cents):
    assert parse_euros(text) == cents


@pytest.mark.parametrize("text", ["abc", "-12", "12,345", "1,2,3", "12€50", ",", "1..2", "1.2.3", "12,34.5"])
def test_other_amounts_are_refused(text):
    with pytest.raises(ValueError):
        parse_euros(text)


@given(st.integers(min_value=0, max_value=10**11))
def test_an_amount_written_back_in_french_reads_the_same(cents):
    assert parse_euros(format_euros(cents)) == cents


def test_the_directory_points_to_the_platform_wide_lookup(settings):
    from django.template import Context, Template

    settings.SITE_SCHEME, settings.SITE_PORT, settings.PLATFORM_DOMAIN = "https", "", "mediation.example"
    rendered = Template('{% load platform %}{% platform_url "/trouver-un-mediateur/" %}').render(Context())
    assert rendered == "https://mediation.example/trouver-un-mediateur/"
