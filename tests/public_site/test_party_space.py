"""The parties' personal space at /suivi/: one-time codes, what each party sees (L612-3), their actions."""

from __future__ import annotations

import datetime
import html
import re

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from mediation.cases import party, services
from mediation.cases.models import Case, CaseEvent, Channel, Outcome, Party, PartyAccess, Status
from tests.factories import (
    ContactFactory,
    MemberFactory,
    UserFactory,
    in_mediation_case,
    opened_case,
    pdf_upload,
    received_case,
)

CONSUMER_EMAIL = "jeanne.martin@example.org"
BUSINESS_EMAIL = "correspondant@electroplus.fr"


def _text(response):
    return html.unescape(response.content.decode())


@pytest.fixture
def mediator(tenant_a):
    return UserFactory(role="mediator")


@pytest.fixture
def member(tenant_a):
    member = MemberFactory(legal_name="ElectroPlus SAS", status="active")
    ContactFactory(member=member, email=BUSINESS_EMAIL, roles=["mediation_correspondent"])
    return member


def _code_from(mail) -> str:
    return re.search(r"\b(\d{6})\b", mail.body).group(1)


def _login(client, email, who, mailoutbox, capture):
    with capture(execute=True):
        client.post("/suivi/", {"email": email, "party": who})
    code = _code_from(mailoutbox[-1])
    response = client.post("/suivi/code/", {"code": code})
    assert response.status_code == 302 and response["Location"] == "/suivi/dossiers/"
    return response


@pytest.fixture
def login(mailoutbox, django_capture_on_commit_callbacks):
    def do(client, email, who):
        return _login(client, email, who, mailoutbox, django_capture_on_commit_callbacks)

    return do


# --- Login by code ------------------------------------------------------------------------------


def test_the_right_code_opens_the_space_and_rotates_the_session(member, client_a, login):
    case = received_case(member)
    client_a.get("/suivi/")
    client_a.post("/suivi/", {"email": "JEANNE.Martin@example.org", "party": "consumer"})
    before = client_a.session.session_key
    login(client_a, CONSUMER_EMAIL, "consumer")
    assert client_a.session.session_key != before
    listing = client_a.get("/suivi/dossiers/")
    assert case.reference in _text(listing)


def test_a_wrong_code_is_refused(member, client_a, mailoutbox, django_capture_on_commit_callbacks):
    received_case(member)
    with django_capture_on_commit_callbacks(execute=True):
        client_a.post("/suivi/", {"email": CONSUMER_EMAIL, "party": "consumer"})
    right = _code_from(mailoutbox[-1])
    wrong = "000000" if right != "000000" else "111111"
    response = client_a.post("/suivi/code/", {"code": wrong})
    assert response.status_code == 400 and "n'est pas le bon" in _text(response)
    assert client_a.get("/suivi/dossiers/")["Location"] == "/suivi/"


def test_an_expired_code_is_refused(member, client_a, mailoutbox, django_capture_on_commit_callbacks):
    received_case(member)
    with django_capture_on_commit_callbacks(execute=True):
        client_a.post("/suivi/", {"email": CONSUMER_EMAIL, "party": "consumer"})
    code = _code_from(mailoutbox[-1])
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=16)):
        response = client_a.post("/suivi/code/", {"code": code})
    assert "expiré" in _text(response)
    assert client_a.get("/suivi/dossiers/")["Location"] == "/suivi/"


def test_five_wrong_attempts_lock_the_code_even_the_right_one(
    member, client_a, mailoutbox, django_capture_on_commit_callbacks
):
    received_case(member)
    with django_capture_on_commit_callbacks(execute=True):
        client_a.post("/suivi/", {"email": CONSUMER_EMAIL, "party": "consumer"})
    right = _code_from(mailoutbox[-1])
    wrong = "000000" if right != "000000" else "111111"
    for _attempt in range(party.MAX_ATTEMPTS):
        last = client_a.post("/suivi/code/", {"code": wrong})
    assert "bloqué" in _text(last)
    assert PartyAccess.objects.get().attempts == party.MAX_ATTEMPTS
    response = client_a.post("/suivi/code/", {"code": right})
    assert "bloqué" in _text(response)
    assert client_a.get("/suivi/dossiers/")["Location"] == "/suivi/"


def test_an_unknown_email_gets_the_same_answer_and_no_code(
    member, client_a, mailoutbox, django_capture_on_commit_callbacks
):
    received_case(member)
    with django_capture_on_commit_callbacks(execute=True):
        known = client_a.post("/suivi/", {"email": CONSUMER_EMAIL, "party": "consumer"})
        unknown = Client(HTTP_HOST="alpha.localhost").post(
            "/suivi/", {"email": "nobody@example.org", "party": "consumer"}
        )
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == "/suivi/code/"
    assert [mail.to for mail in mailoutbox] == [[CONSUMER_EMAIL]]
    assert not PartyAccess.objects.filter(email="nobody@example.org").exists()


def test_a_draft_gives_no_access(member, client_a, mailoutbox, django_capture_on_commit_callbacks):
    from tests.factories import draft_case

    draft_case(member)
    with django_capture_on_commit_callbacks(execute=True):
        client_a.post("/suivi/", {"email": CONSUMER_EMAIL, "party": "consumer"})
    assert mailoutbox == []


def test_codes_are_stored_hashed_and_issued_a_few_times_an_hour_at_most(member):
    received_case(member)
    access, code = party.issue_code(email=CONSUMER_EMAIL, party=Party.CONSUMER)
    assert code not in access.code_hash and len(access.code_hash) == 64
    assert access.expires_at - access.created_at == datetime.timedelta(minutes=15)
    for _n in range(party.MAX_CODES_PER_HOUR - 1):
        party.issue_code(email=CONSUMER_EMAIL, party=Party.CONSUMER)
    assert party.issue_code(email=CONSUMER_EMAIL, party=Party.CONSUMER) is None


def test_a_code_issued_on_one_firm_does_not_log_in_on_another(
    member, client_a, client_b, tenant_b, use_tenant, mailoutbox, django_capture_on_commit_callbacks
):
    use_tenant("beta")
    received_case(MemberFactory(status="active"))
    use_tenant("alpha")
    received_case(member)
    with django_capture_on_commit_callbacks(execute=True):
        client_a.post("/suivi/", {"email": CONSUMER_EMAIL, "party": "consumer"})
    code_a = _code_from(mailoutbox[-1])
    client_b.post("/suivi/", {"email": CONSUMER_EMAIL, "party": "consumer"})
    response = client_b.post("/suivi/code/", {"code": code_a})
    assert response.status_code == 400
    assert client_b.get("/suivi/dossiers/")["Location"] == "/suivi/"


def test_a_session_opened_on_one_firm_is_not_valid_on_another(member, client_a, login, tenant_b, use_tenant):
    use_tenant("alpha")
    received_case(member)
    login(client_a, CONSUMER_EMAIL, "consumer")
    cookie = client_a.cookies["sessionid"].value
    other = Client(HTTP_HOST="beta.localhost")
    other.cookies["sessionid"] = cookie
    assert other.get("/suivi/dossiers/")["Location"] == "/suivi/"


def test_logout_ends_the_session(member, client_a, login):
    received_case(member)
    login(client_a, CONSUMER_EMAIL, "consumer")
    client_a.post("/suivi/deconnexion/")
    assert client_a.get("/suivi/dossiers/")["Location"] == "/suivi/"


# --- Confidentiality (L612-3) -----------------------------------------------------------------------


def _with_exchanges(case, staff):
    services.post_message(
        case=case, party=Party.STAFF, by=staff, channel=Channel.CONSUMER, body="Pour le consommateur seul"
    )
    services.post_message(
        case=case, party=Party.STAFF, by=staff, channel=Channel.BUSINESS, body="Pour le professionnel seul"
    )
    services.post_message(case=case, party=Party.STAFF, by=staff, channel=Channel.INTERNAL, body="Note interne secrète")
    services.post_message(case=case, party=Party.STAFF, by=staff, channel=Channel.ALL, body="Pour toutes les parties")
    business_doc = services.add_document(case=case, file=pdf_upload("offre-pro.pdf"), party=Party.BUSINESS)
    consumer_doc = services.add_document(case=case, file=pdf_upload("photos-client.pdf"), party=Party.CONSUMER)
    internal_doc = services.add_document(
        case=case, file=pdf_upload("analyse-interne.pdf"), party=Party.STAFF, by=staff, channel=Channel.INTERNAL
    )
    return business_doc, consumer_doc, internal_doc


def test_the_consumer_sees_only_their_channel_and_the_shared_one(member, mediator, client_a, login, media_root):
    case = in_mediation_case(mediator, member)
    business_doc, consumer_doc, internal_doc = _with_exchanges(case, mediator)
    login(client_a, CONSUMER_EMAIL, "consumer")
    page = _text(client_a.get(f"/suivi/dossiers/{case.reference}/"))
    assert "Pour le consommateur seul" in page and "Pour toutes les parties" in page
    assert "Pour le professionnel seul" not in page and "Note interne secrète" not in page
    assert "photos-client.pdf" in page
    assert "offre-pro.pdf" not in page and "analyse-interne.pdf" not in page
    ok = client_a.get(f"/suivi/dossiers/{case.reference}/pieces/{consumer_doc.pk}/")
    assert ok.status_code == 200 and b"".join(ok.streaming_content).startswith(b"%PDF-")
    for hidden in (business_doc, internal_doc):
        assert client_a.get(f"/suivi/dossiers/{case.reference}/pieces/{hidden.pk}/").status_code == 404


def test_the_business_sees_only_its_channel_and_the_shared_one(member, mediator, client_a, login, media_root):
    case = in_mediation_case(mediator, member)
    business_doc, consumer_doc, _internal = _with_exchanges(case, mediator)
    login(client_a, BUSINESS_EMAIL, "business")
    page = _text(client_a.get(f"/suivi/dossiers/{case.reference}/"))
    assert "Pour le professionnel seul" in page and "Pour toutes les parties" in page
    assert "Pour le consommateur seul" not in page and "Note interne secrète" not in page
    assert "offre-pro.pdf" in page and "photos-client.pdf" not in page
    assert client_a.get(f"/suivi/dossiers/{case.reference}/pieces/{business_doc.pk}/").status_code == 200
    assert client_a.get(f"/suivi/dossiers/{case.reference}/pieces/{consumer_doc.pk}/").status_code == 404


def test_internal_timeline_lines_are_never_shown(member, mediator, client_a, login):
    case = in_mediation_case(mediator, member)
    CaseEvent.objects.create(
        case=case, kind=CaseEvent.Kind.STATUS, after=Status.IN_MEDIATION, channel=Channel.INTERNAL, note="Avis interne"
    )
    login(client_a, CONSUMER_EMAIL, "consumer")
    timeline = client_a.get(f"/suivi/dossiers/{case.reference}/").context["timeline"]
    assert timeline and all(line["note"] != "Avis interne" for line in timeline)


def test_a_party_cannot_open_another_persons_case_nor_its_documents(member, mediator, client_a, login, media_root):
    mine = received_case(member)
    other = received_case(member, consumer_email="autre@example.org")
    doc = services.add_document(case=other, file=pdf_upload(), party=Party.CONSUMER)
    login(client_a, CONSUMER_EMAIL, "consumer")
    assert client_a.get(f"/suivi/dossiers/{mine.reference}/").status_code == 200
    assert client_a.get(f"/suivi/dossiers/{other.reference}/").status_code == 404
    assert client_a.get(f"/suivi/dossiers/{other.reference}/pieces/{doc.pk}/").status_code == 404
    assert client_a.get(f"/suivi/dossiers/{mine.reference}/pieces/{doc.pk}/").status_code == 404
    assert client_a.post(f"/suivi/dossiers/{other.reference}/message/", {"body": "Bonjour"}).status_code == 404


def test_a_business_does_not_see_cases_before_the_seizure(member, mediator, client_a, login):
    opened = opened_case(mediator, member)
    before = received_case(member)
    login(client_a, BUSINESS_EMAIL, "business")
    listing = _text(client_a.get("/suivi/dossiers/"))
    assert opened.reference in listing and before.reference not in listing
    assert client_a.get(f"/suivi/dossiers/{before.reference}/").status_code == 404


def test_a_business_without_a_seized_case_gets_no_code(
    member, client_a, mailoutbox, django_capture_on_commit_callbacks
):
    received_case(member)
    with django_capture_on_commit_callbacks(execute=True):
        client_a.post("/suivi/", {"email": BUSINESS_EMAIL, "party": "business"})
    assert mailoutbox == []


def test_an_inactive_contact_gets_no_access(member, mediator, client_a, mailoutbox, django_capture_on_commit_callbacks):
    opened_case(mediator, member)
    member.contacts.update(is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        client_a.post("/suivi/", {"email": BUSINESS_EMAIL, "party": "business"})
    assert mailoutbox == []


# --- Actions ---------------------------------------------------------------------------------------


def test_the_consumer_accepts_the_proposal_seeing_the_r612_4_mentions(member, mediator, client_a, login):
    case = in_mediation_case(mediator, member)
    services.send_proposal(case=case, by=mediator, text="Remboursement de 129,90 euros sous 15 jours.")
    login(client_a, CONSUMER_EMAIL, "consumer")
    page = _text(client_a.get(f"/suivi/dossiers/{case.reference}/"))
    assert "Remboursement de 129,90 euros" in page
    assert "libre d'accepter ou de refuser" in page and "saisir un tribunal" in page
    assert "différente de la décision qu'un juge" in page and "pour répondre" in page
    response = client_a.post(f"/suivi/dossiers/{case.reference}/proposition/", {"accepts": "yes"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.consumer_answer == "accepted" and case.status == Status.PROPOSAL_SENT
    again = client_a.post(f"/suivi/dossiers/{case.reference}/proposition/", {"accepts": "no"}, follow=True)
    assert "déjà répondu" in _text(again)
    case.refresh_from_db()
    assert case.consumer_answer == "accepted"


def test_the_business_refuses_to_take_part_and_the_case_closes(member, mediator, client_a, login):
    case = opened_case(mediator, member)
    login(client_a, BUSINESS_EMAIL, "business")
    assert "Acceptez-vous d'entrer en médiation" in _text(client_a.get(f"/suivi/dossiers/{case.reference}/"))
    client_a.post(f"/suivi/dossiers/{case.reference}/participation/", {"accepts": "no", "note": "Hors délai"})
    case.refresh_from_db()
    assert case.status == Status.CLOSED and case.outcome == Outcome.BUSINESS_REFUSED
    assert case.events.filter(after=Status.CLOSED, party=Party.BUSINESS).exists()


def test_the_business_accepts_to_take_part(member, mediator, client_a, login):
    case = opened_case(mediator, member)
    login(client_a, BUSINESS_EMAIL, "business")
    client_a.post(f"/suivi/dossiers/{case.reference}/participation/", {"accepts": "yes"})
    case.refresh_from_db()
    assert case.status == Status.IN_MEDIATION and case.business_accepted_at is not None


def test_the_consumer_cannot_answer_for_the_business(member, mediator, client_a, login):
    case = opened_case(mediator, member)
    login(client_a, CONSUMER_EMAIL, "consumer")
    assert client_a.post(f"/suivi/dossiers/{case.reference}/participation/", {"accepts": "no"}).status_code == 404
    case.refresh_from_db()
    assert case.status == Status.OPENED


def test_the_consumer_withdraws_after_confirming(member, client_a, login):
    case = received_case(member)
    login(client_a, CONSUMER_EMAIL, "consumer")
    page = client_a.get(f"/suivi/dossiers/{case.reference}/retrait/")
    assert page.status_code == 200
    unconfirmed = client_a.post(f"/suivi/dossiers/{case.reference}/retrait/", {})
    assert unconfirmed.status_code == 400
    case.refresh_from_db()
    assert case.status == Status.RECEIVED
    client_a.post(f"/suivi/dossiers/{case.reference}/retrait/", {"confirm": "on", "note": "Réglé à l'amiable"})
    case.refresh_from_db()
    assert case.status == Status.WITHDRAWN and case.closed_by_party == Party.CONSUMER


def test_the_business_withdraws_during_the_mediation(member, mediator, client_a, login):
    case = in_mediation_case(mediator, member)
    login(client_a, BUSINESS_EMAIL, "business")
    client_a.post(f"/suivi/dossiers/{case.reference}/retrait/", {"confirm": "on"})
    case.refresh_from_db()
    assert case.status == Status.WITHDRAWN and case.closed_by_party == Party.BUSINESS


def test_a_party_writes_and_uploads_on_its_own_channel(member, mediator, client_a, login, media_root):
    case = in_mediation_case(mediator, member)
    login(client_a, BUSINESS_EMAIL, "business")
    client_a.post(f"/suivi/dossiers/{case.reference}/message/", {"body": "Nous proposons un avoir."})
    client_a.post(f"/suivi/dossiers/{case.reference}/envoyer-une-piece/", {"file": pdf_upload("avoir.pdf")})
    message = case.messages.get()
    assert message.channel == Channel.BUSINESS and message.party == Party.BUSINESS
    document = case.documents.get(original_name="avoir.pdf")
    assert document.channel == Channel.BUSINESS
    bad = client_a.post(
        f"/suivi/dossiers/{case.reference}/envoyer-une-piece/",
        {"file": pdf_upload("faux.pdf", content=b"du texte")},
        follow=True,
    )
    assert "n'est ni un PDF" in _text(bad)


def test_the_case_page_shows_the_deadline_with_the_days_left(member, client_a, login):
    case = received_case(member)
    login(client_a, CONSUMER_EMAIL, "consumer")
    page = client_a.get(f"/suivi/dossiers/{case.reference}/")
    deadlines = page.context["deadlines"]
    assert deadlines[0]["date"] == case.admissibility_due_on and deadlines[0]["days_left"] == 21
    assert "encore 21 jours" in _text(page)


def test_a_message_on_a_final_case_is_refused_with_a_clear_message(member, client_a, login):
    case = received_case(member)
    services.withdraw(case=case, party=Party.CONSUMER)
    login(client_a, CONSUMER_EMAIL, "consumer")
    response = client_a.post(f"/suivi/dossiers/{case.reference}/message/", {"body": "Encore là ?"}, follow=True)
    assert "terminé" in _text(response)
    assert not Case.objects.get(pk=case.pk).messages.exists()
