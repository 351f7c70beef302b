"""Joining online: a proposal accepted from its link, and self-service joining from the SIREN."""

from __future__ import annotations

import datetime
import hashlib

import pytest
import time_machine

from mediation.members import membership as ms
from mediation.members.models import ConventionAcceptance, Member, Membership, Proposal
from tests.factories import AdminFactory, MemberFactory
from tests.members.membership_helpers import (
    CONVENTION_TEXT,
    active_member,
    member_with_contacts,
    normalise,
    pdf_text,
    publish,
    tariffs,
)

S = Member.Status
SIREN = "732829320"


@pytest.fixture
def admin(tenant_a, media_root):
    return AdminFactory(email="admin@cabinet.fr")


@pytest.fixture
def sent(admin):
    """A sent proposal (1 year, 300 € a year) and its token, with the convention published."""
    tariffs()
    publish(admin)
    member = member_with_contacts(legal_name="Cave Martin")
    proposal = ms.create_proposal(
        by=admin,
        member=member,
        term_years=1,
        upfront=False,
        lines=None,
        valid_until=datetime.date.today() + datetime.timedelta(days=15),
    )
    proposal, token = ms.send_proposal(by=admin, proposal=proposal)
    return proposal, token


def url(token):
    return f"/adherer/proposition/{token}/"


def accept_data(version=1, **extra):
    return {"signer_name": "Claire Martin", "signer_role": "Gérante", "accept": "on", "version": version, **extra}


# --- A proposal accepted from its link ----------------------------------------------------------


def test_the_proposal_page_shows_the_offer_and_the_exact_convention(sent, client_a):
    _proposal, token = sent
    response = client_a.get(url(token))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Cave Martin" in page
    assert "Article 1 - Objet." in page and "se renouvelle sur demande" in page
    assert "J&#x27;ai lu et j&#x27;accepte" in page
    assert response["Cache-Control"].startswith("max-age=0")


def test_accepting_from_the_link(sent, client_a, mailoutbox, django_capture_on_commit_callbacks):
    proposal, token = sent
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(url(token), accept_data(), REMOTE_ADDR="203.0.113.50", follow=True)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Proposition acceptée" in page and "réception du paiement" in page
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.ACCEPTED
    acceptance = ConventionAcceptance.objects.get(member=proposal.member)
    assert (acceptance.signer_name, acceptance.signer_role, acceptance.ip_address) == (
        "Claire Martin",
        "Gérante",
        "203.0.113.50",
    )
    content = ms.acceptance_pdf_bytes(acceptance)
    assert hashlib.sha256(content).hexdigest() == acceptance.sha256
    assert normalise(CONVENTION_TEXT) in pdf_text(content)
    assert Membership.objects.get(member=proposal.member).paid_at is None  # no fake payment
    assert mailoutbox[-1].attachments[0][1] == content


def test_the_checkbox_and_the_signer_are_required(sent, client_a):
    _proposal, token = sent
    response = client_a.post(url(token), {"signer_name": "", "signer_role": "", "version": 1})
    page = response.content.decode()
    assert response.status_code == 400
    assert 'role="alert"' in page and "Cochez la case" in page
    assert not ConventionAcceptance.objects.exists()


def test_a_convention_published_meanwhile_is_shown_before_accepting(sent, client_a, admin):
    _proposal, token = sent
    publish(admin, text="Article 1 - Nouvelle version du texte.")

    response = client_a.post(url(token), accept_data(version=1))

    assert response.status_code == 400
    page = response.content.decode()
    assert "La convention a changé" in page and "Nouvelle version du texte" in page
    assert not ConventionAcceptance.objects.exists()
    assert client_a.post(url(token), accept_data(version=2)).status_code == 302
    assert ConventionAcceptance.objects.get().convention.version == 2


def test_an_accepted_proposal_says_so(sent, client_a):
    _proposal, token = sent
    client_a.post(url(token), accept_data())
    again = client_a.get(url(token))
    assert again.status_code == 200 and "Proposition acceptée" in again.content.decode()
    assert "J&#x27;accepte la convention" not in again.content.decode()
    assert client_a.post(url(token), accept_data()).status_code == 200
    assert ConventionAcceptance.objects.count() == 1


def test_an_expired_proposal_says_so(sent, client_a):
    _proposal, token = sent
    later = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(days=30)
    with time_machine.travel(later, tick=False):
        response = client_a.get(url(token))
        posted = client_a.post(url(token), accept_data())
    assert response.status_code == 410 and "n'est plus valable" in response.content.decode()
    assert posted.status_code == 410
    assert not ConventionAcceptance.objects.exists()


def test_an_unknown_token_is_404(sent, client_a):
    assert client_a.get(url("pas-un-jeton")).status_code == 404
    assert client_a.get(url("x" * 500)).status_code == 404


def test_a_token_of_firm_a_is_404_on_firm_b(sent, client_b):
    _proposal, token = sent
    assert client_b.get(url(token)).status_code == 404
    assert client_b.get(f"{url(token)}pdf/").status_code == 404


def test_the_proposal_pdf_is_downloadable_from_the_link(sent, client_a):
    _proposal, token = sent
    response = client_a.get(f"{url(token)}pdf/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")


# --- Self-service joining ----------------------------------------------------------------------------

DETAILS = {
    "legal_name": "Maison Bio SAS",
    "address_line1": "1 rue de la Paix",
    "postcode": "75002",
    "city": "Paris",
    "headcount_band": "10_49",
    "contact_first_name": "Paul",
    "contact_last_name": "Martin",
    "contact_role": "Président",
    "contact_email": "Paul@MaisonBio.fr",
}


@pytest.fixture
def open_joining(admin):
    tariffs()
    publish(admin)


def test_joining_happy_path(open_joining, client_a, mailoutbox, django_capture_on_commit_callbacks):
    assert client_a.get("/adherer/").status_code == 200
    response = client_a.post("/adherer/", {"siren": "732 829 320"})
    assert response.status_code == 302 and response["Location"] == "/adherer/coordonnees/"

    response = client_a.post("/adherer/coordonnees/", DETAILS)
    assert response.status_code == 302 and response["Location"] == "/adherer/offre/"
    member = Member.objects.get(siren=SIREN)
    assert member.status == S.PROSPECT and member.contacts.get().email == "paul@maisonbio.fr"

    offer = client_a.get("/adherer/offre/").content.decode().replace("\u202f", " ").replace("\xa0", " ")
    assert "300,00 €" in offer and "750,00 €" in offer  # 1 year; 3 years at 250 € a year
    assert client_a.post("/adherer/offre/", {"term_years": "3"})["Location"] == "/adherer/convention/"

    page = client_a.get("/adherer/convention/").content.decode()
    assert "Article 2 - Duree." in page and "Paul Martin" in page  # signer prefilled
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(
            "/adherer/convention/",
            {"signer_name": "Paul Martin", "signer_role": "Président", "accept": "on", "version": 1},
            REMOTE_ADDR="198.51.100.4",
            follow=True,
        )

    page = response.content.decode()
    assert response.redirect_chain[-1][0] == "/adherer/confirmation/"
    assert "votre adhésion démarre à réception du paiement" in page.lower()
    member.refresh_from_db()
    assert member.status == S.CONVENTION_ACCEPTED
    term = Membership.objects.get(member=member)
    assert term.term_years == 3 and term.paid_at is None
    assert term.proposal.total_cents == 25_000 and term.proposal.status == Proposal.Status.ACCEPTED
    acceptance = term.acceptance
    assert acceptance.ip_address == "198.51.100.4"
    (mail,) = mailoutbox
    assert mail.to == ["paul@maisonbio.fr"]
    assert mail.attachments[0][1] == ms.acceptance_pdf_bytes(acceptance)
    # The joining is over: its pages start again from the SIREN.
    assert client_a.get("/adherer/convention/")["Location"] == "/adherer/"


@pytest.mark.parametrize(
    ("siren", "message"),
    [
        ("732829321", "clé de contrôle est fausse"),
        ("12345", "doit compter 9 chiffres"),
        ("abcdefghi", "ne doit contenir que des chiffres"),
        ("", "obligatoire"),
    ],
)
def test_a_bad_siren_is_explained(open_joining, client_a, siren, message):
    response = client_a.post("/adherer/", {"siren": siren})
    page = response.content.decode()
    assert response.status_code == 400
    assert message in page.replace("&#x27;", "'") and 'role="alert"' in page
    assert not Member.objects.exists()


def test_an_active_member_is_told_so(open_joining, admin, client_a):
    with time_machine.travel(datetime.datetime(2025, 3, 1, 10, tzinfo=datetime.UTC), tick=False):
        member, _term = active_member(admin, siren=SIREN)
        response = client_a.post("/adherer/", {"siren": SIREN})
    page = response.content.decode()
    assert response.status_code == 200
    assert "déjà adhérent jusqu'au 28 février 2026" in page
    assert Membership.objects.filter(member=member).count() == 1


def test_a_business_waiting_for_payment_is_told_so(open_joining, client_a):
    member = member_with_contacts(siren=SIREN)
    ms.accept_convention(
        member=member,
        convention=ms.current_convention(),
        signer_name="A",
        signer_role="B",
        ip_address=None,
    )
    page = client_a.post("/adherer/", {"siren": SIREN}).content.decode()
    assert "réception du paiement" in page


def test_a_former_member_can_rejoin_without_overwriting_its_record(open_joining, client_a):
    MemberFactory(siren=SIREN, legal_name="Nom au registre", status=S.LAPSED, headcount_band="1_9")
    client_a.post("/adherer/", {"siren": SIREN})
    form = client_a.get("/adherer/coordonnees/").content.decode()
    assert "Nom au registre" in form

    response = client_a.post("/adherer/coordonnees/", {**DETAILS, "legal_name": "Autre nom"})

    assert response.status_code == 302
    member = Member.objects.get(siren=SIREN)
    assert member.legal_name == "Nom au registre" and member.headcount_band == "1_9"


def test_a_stranger_joining_for_a_known_business_gets_no_role_but_the_convention(
    open_joining, client_a, mailoutbox, django_capture_on_commit_callbacks
):
    member = member_with_contacts(siren=SIREN, status=S.LAPSED, headcount_band="1_9")
    client_a.post("/adherer/", {"siren": SIREN})
    client_a.post("/adherer/coordonnees/", DETAILS)
    client_a.post("/adherer/offre/", {"term_years": "1"})
    with django_capture_on_commit_callbacks(execute=True):
        client_a.post(
            "/adherer/convention/",
            {"signer_name": "Paul Martin", "signer_role": "Président", "accept": "on", "version": 1},
        )

    newcomer = member.contacts.get(email="paul@maisonbio.fr")
    assert newcomer.roles == []
    assert "paul@maisonbio.fr" not in ms.member_recipients(member)
    (mail,) = mailoutbox
    assert sorted(mail.to) == ["compta@entreprise.fr", "dirigeant@entreprise.fr", "paul@maisonbio.fr"]


def test_bad_details_are_explained(open_joining, client_a):
    client_a.post("/adherer/", {"siren": SIREN})
    response = client_a.post("/adherer/coordonnees/", {**DETAILS, "postcode": "750", "contact_email": "pas-un-email"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "5 chiffres" in page and 'role="alert"' in page
    assert not Member.objects.exists()


def test_steps_cannot_be_skipped(open_joining, client_a):
    for path in ("/adherer/coordonnees/", "/adherer/offre/", "/adherer/convention/", "/adherer/confirmation/"):
        response = client_a.get(path)
        assert response.status_code == 302 and response["Location"] == "/adherer/", path


def test_without_tariff_or_convention_joining_says_to_wait(tenant_a, media_root, client_a):
    client_a.post("/adherer/", {"siren": SIREN})
    client_a.post("/adherer/coordonnees/", DETAILS)
    page = client_a.get("/adherer/offre/").content.decode()
    assert "pas encore d'offre en ligne" in page

    tariffs()
    client_a.post("/adherer/offre/", {"term_years": "1"})
    page = client_a.get("/adherer/convention/").content.decode()
    assert "pas encore ouverte" in page
    assert not ConventionAcceptance.objects.exists()
