"""The staff membership pages: who reads, who acts, and what each action does."""

from __future__ import annotations

import datetime
import hashlib

import pytest

from mediation.members import membership as ms
from mediation.members.models import Convention, Member, Membership, Proposal, StatusChange, Tariff
from tests.factories import AdminFactory, MemberFactory, UserFactory
from tests.members.membership_helpers import accepted, active_member, member_with_contacts, publish, tariffs

BASE = "/staff/adherents/adhesions"
S = Member.Status


@pytest.fixture
def admin(tenant_a, media_root):
    return AdminFactory(email="admin@cabinet.fr")


def login(client, role):
    user = UserFactory(role=role)
    client.force_login(user)
    return user


def read_urls(member, proposal, acceptance):
    return [
        f"{BASE}/tarifs/",
        f"{BASE}/conventions/",
        f"{BASE}/conventions/1/",
        f"{BASE}/{member.pk}/",
        f"{BASE}/{member.pk}/propositions/{proposal.pk}/pdf/",
        f"{BASE}/{member.pk}/acceptations/{acceptance.pk}/pdf/",
    ]


@pytest.fixture
def world(admin):
    """A published convention, tariffs, a member with a sent proposal and an accepted convention."""
    tariffs()
    publish(admin)
    member = member_with_contacts(legal_name="Fromagerie Laurent")
    proposal = ms.create_proposal(
        by=admin, member=member, term_years=1, upfront=False, lines=None, valid_until=datetime.date.today()
    )
    proposal, _token = ms.send_proposal(by=admin, proposal=proposal)
    term = ms.accept_convention(
        member=member,
        convention=ms.current_convention(),
        signer_name="Anne Laurent",
        signer_role="Gérante",
        ip_address="192.0.2.1",
        proposal=proposal,
    )
    return member, proposal, term.acceptance


@pytest.mark.parametrize("role", ["read_only", "finance", "mediator", "case_officer", "admin"])
def test_every_role_with_members_view_reads(world, client_a, role):
    member, proposal, acceptance = world
    login(client_a, role)
    for url in read_urls(member, proposal, acceptance):
        response = client_a.get(url)
        assert response.status_code == 200, url
    page = client_a.get(f"{BASE}/{member.pk}/").content.decode()
    assert "Anne Laurent" in page and "Convention acceptée" in page


def test_a_member_user_and_anonymous_read_nothing(world, client_a):
    member, proposal, acceptance = world
    for url in read_urls(member, proposal, acceptance):
        assert client_a.get(url).status_code == 302  # to the login page
    login(client_a, "member")
    for url in read_urls(member, proposal, acceptance):
        assert client_a.get(url).status_code == 403


@pytest.mark.parametrize("role", ["read_only", "finance", "mediator"])
def test_roles_without_members_edit_cannot_act(world, client_a, role):
    member, _proposal, acceptance = world
    term = acceptance.memberships.get()
    login(client_a, role)

    page = client_a.get(f"{BASE}/{member.pk}/").content.decode()
    assert "Marquer payée" not in page and "Résilier l'adhésion" not in page

    posts = [
        (
            f"{BASE}/tarifs/nouveau/",
            {"headcount_band": "1_9", "term_years": 1, "yearly_price": "1", "valid_from": "2025-01-01"},
        ),
        (f"{BASE}/conventions/nouvelle/", {"title": "T", "text": "Autre texte"}),
        (f"{BASE}/{member.pk}/proposition/", {"term_years": 1, "valid_until": "2099-01-01"}),
        (f"{BASE}/{member.pk}/periodes/{term.pk}/payee/", {}),
        (f"{BASE}/{member.pk}/renouveler/", {"term_years": 1}),
        (f"{BASE}/{member.pk}/resilier/", {"reason": "Non"}),
        (f"{BASE}/{member.pk}/statut/", {"to": "terminated", "reason": "Non"}),
    ]
    for url, data in posts:
        assert client_a.post(url, data).status_code == 403, url
    term.refresh_from_db()
    member.refresh_from_db()
    assert term.paid_at is None and member.status == S.CONVENTION_ACCEPTED
    assert Convention.objects.count() == 1 and Tariff.objects.filter(yearly_price_cents=100).count() == 0


def test_create_a_tariff(admin, client_a):
    client_a.force_login(admin)
    response = client_a.post(
        f"{BASE}/tarifs/nouveau/",
        {"headcount_band": "10_49", "term_years": "3", "yearly_price": "1 250,50", "valid_from": "2025-01-01"},
    )
    assert response.status_code == 302
    tariff = Tariff.objects.get()
    assert (tariff.headcount_band, tariff.term_years, tariff.yearly_price_cents) == ("10_49", 3, 125_050)
    assert "1 250,50" in client_a.get(f"{BASE}/tarifs/").content.decode().replace("\u202f", " ").replace("\xa0", " ")


def test_a_bad_tariff_shows_errors(admin, client_a):
    client_a.force_login(admin)
    response = client_a.post(
        f"{BASE}/tarifs/nouveau/",
        {"headcount_band": "xx", "term_years": "2", "yearly_price": "beaucoup", "valid_from": "demain"},
    )
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert not Tariff.objects.exists()


def test_publish_and_view_a_convention_version(admin, client_a):
    client_a.force_login(admin)
    publish(admin, text="Premier texte")
    form = client_a.get(f"{BASE}/conventions/nouvelle/")
    assert "Premier texte" in form.content.decode()

    response = client_a.post(f"{BASE}/conventions/nouvelle/", {"title": "Convention", "text": "Second texte"})

    assert response.status_code == 302 and response["Location"].endswith("/conventions/2/")
    assert "Second texte" in client_a.get(f"{BASE}/conventions/2/").content.decode()
    assert Convention.objects.get(version=1).text == "Premier texte"
    assert client_a.get(f"{BASE}/conventions/9/").status_code == 404


def test_create_and_send_a_proposal(admin, client_a, mailoutbox, django_capture_on_commit_callbacks):
    tariffs()
    member = member_with_contacts()
    client_a.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(
            f"{BASE}/{member.pk}/proposition/",
            {
                "term_years": "3",
                "upfront": "on",
                "yearly_price": "200",
                "discount_percent": "10",
                "valid_until": "2099-12-31",
            },
            follow=True,
        )
    assert response.status_code == 200
    proposal = Proposal.objects.get(member=member)
    assert proposal.status == Proposal.Status.SENT and proposal.total_cents == 54_000
    assert len(mailoutbox) == 1 and "/adherer/proposition/" in mailoutbox[0].body
    assert "/adherer/proposition/" in response.content.decode()  # the link, shown once to staff
    member.refresh_from_db()
    assert member.status == S.PROPOSAL_SENT
    pdf = client_a.get(f"{BASE}/{member.pk}/propositions/{proposal.pk}/pdf/")
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")


def test_a_proposal_without_tariff_says_so(admin, client_a):
    member = member_with_contacts()
    client_a.force_login(admin)
    response = client_a.post(f"{BASE}/{member.pk}/proposition/", {"term_years": "1", "valid_until": "2099-12-31"})
    assert response.status_code == 400
    assert "Aucun tarif" in response.content.decode()
    assert not Proposal.objects.exists()


def test_the_acceptance_pdf_download_is_the_stored_file(world, client_a, admin):
    member, _proposal, acceptance = world
    client_a.force_login(admin)
    response = client_a.get(f"{BASE}/{member.pk}/acceptations/{acceptance.pk}/pdf/")
    content = b"".join(response.streaming_content)
    assert hashlib.sha256(content).hexdigest() == acceptance.sha256


def test_mark_paid_renew_and_terminate_from_the_page(world, client_a, admin):
    member, _proposal, acceptance = world
    term = acceptance.memberships.get()
    client_a.force_login(admin)

    assert client_a.post(f"{BASE}/{member.pk}/periodes/{term.pk}/payee/").status_code == 302
    member.refresh_from_db()
    assert member.status == S.ACTIVE

    assert client_a.post(f"{BASE}/{member.pk}/renouveler/", {"term_years": "1"}).status_code == 302
    assert Membership.objects.filter(member=member).count() == 2
    again = client_a.post(f"{BASE}/{member.pk}/renouveler/", {"term_years": "1"})
    assert again.status_code == 409 and "déjà renouvelée" in again.content.decode()

    assert client_a.post(f"{BASE}/{member.pk}/resilier/", {"reason": ""}).status_code == 400
    assert client_a.post(f"{BASE}/{member.pk}/resilier/", {"reason": "Cessation"}).status_code == 302
    member.refresh_from_db()
    assert member.status == S.TERMINATED
    page = client_a.get(f"{BASE}/{member.pk}/").content.decode()
    assert "Cessation" in page


def test_record_a_status_change_offers_only_legal_ones(admin, client_a):
    member = MemberFactory(status=S.PROPOSAL_SENT)
    client_a.force_login(admin)

    illegal = client_a.post(f"{BASE}/{member.pk}/statut/", {"to": "active", "reason": "Pourquoi pas"})
    assert illegal.status_code == 400
    legal = client_a.post(f"{BASE}/{member.pk}/statut/", {"to": "prospect", "reason": "Devis refusé par téléphone"})
    assert legal.status_code == 302
    change = StatusChange.objects.get(member=member)
    assert (change.after, change.reason, change.by) == ("prospect", "Devis refusé par téléphone", admin)


def test_another_firms_member_is_not_found(admin, client_a, client_b, use_tenant):
    member, _term = active_member(admin)
    use_tenant("beta")
    other = AdminFactory(email="admin@beta.fr")
    client_b.force_login(other)
    assert client_b.get(f"{BASE}/{member.pk}/").status_code == 404


def test_unpaid_terms_show_the_pay_button_to_editors(admin, client_a):
    member = member_with_contacts()
    publish(admin)
    accepted(member)
    client_a.force_login(admin)
    assert "Marquer payée" in client_a.get(f"{BASE}/{member.pk}/").content.decode()
