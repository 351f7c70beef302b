"""The member portal: giving and revoking access, the member's own details and contacts, its cases and kit."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import PermissionDenied
from django.template.loader import render_to_string
from django.test import RequestFactory

from accounts.models import User
from core.links import firm_site_url as site_url
from core.models import AuditEntry
from mediation.members import portal
from mediation.members.models import Contact, Member, MemberUser
from tests.factories import ContactFactory, MemberFactory, UserFactory, opened_case, received_case
from tests.members.portal_helpers import member_with_user, staff_admin


@pytest.fixture
def admin(tenant_a):
    return staff_admin()


@pytest.fixture
def link(admin):
    """A portal user of « Boulangerie Dupont SARL », whose e-mail is the business's active contact."""
    return member_with_user(by=admin, email="paul@boulangerie.fr", siren="732829320", status="active")


@pytest.fixture
def portal_a(link, client_a):
    client_a.force_login(link.user)
    return client_a


# --- grant_access / revoke_access ----------------------------------------------------------------------


def test_grant_creates_a_member_user_with_an_unusable_password_and_sends_the_invitation(
    admin, mailoutbox, django_capture_on_commit_callbacks
):
    member = MemberFactory(legal_name="Garage Central")
    contact = ContactFactory(member=member, email="Marie@Garage.fr", first_name="Marie", last_name="Curie")

    with django_capture_on_commit_callbacks(execute=True):
        link = portal.grant_access(by=admin, member=member, contact=contact)

    user = User.objects.get(email="marie@garage.fr")
    assert link.user == user and link.member == member and link.contact == contact
    assert user.role == User.Role.MEMBER
    assert not user.has_usable_password()
    assert user.is_active and not user.is_staff and (user.first_name, user.last_name) == ("Marie", "Curie")
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["marie@garage.fr"]
    assert "Garage Central" in message.subject
    site = site_url()  # the firm's host (alpha.localhost), with the configured scheme and port
    assert "alpha.localhost" in site
    assert f"{site}/accounts/login/code/" in message.body
    assert f"{site}/espace-adherent/" in message.body
    assert "marie@garage.fr" in message.body
    entry = AuditEntry.objects.get(action="members.portal_access_granted")
    assert entry.object_id == str(member.pk) and entry.actor_email == admin.email


def test_grant_again_reuses_the_user_reactivates_it_and_resends(
    admin, link, mailoutbox, django_capture_on_commit_callbacks
):
    portal.revoke_access(by=admin, member_user=link)

    with django_capture_on_commit_callbacks(execute=True):
        again = portal.grant_access(by=admin, member=link.member, contact=link.contact)

    assert again.pk == link.pk
    assert User.objects.filter(email="paul@boulangerie.fr").count() == 1
    assert User.objects.get(pk=link.user_id).is_active
    assert len(mailoutbox) == 1


def test_several_users_per_member(admin, link):
    colleague = ContactFactory(member=link.member, email="lea@boulangerie.fr")

    portal.grant_access(by=admin, member=link.member, contact=colleague)

    assert MemberUser.objects.filter(member=link.member).count() == 2


def test_grant_refuses_the_email_of_a_staff_user(admin):
    UserFactory(email="camille@cabinet.fr", role=User.Role.CASE_OFFICER)
    contact = ContactFactory(email="camille@cabinet.fr")

    with pytest.raises(portal.EmailOfStaff) as refused:
        portal.grant_access(by=admin, member=contact.member, contact=contact)

    assert "équipe du cabinet" in str(refused.value)
    assert not MemberUser.objects.exists()
    assert User.objects.get(email="camille@cabinet.fr").role == User.Role.CASE_OFFICER


def test_grant_refuses_the_user_of_another_member(admin, link):
    other = ContactFactory(member=MemberFactory(legal_name="Garage Central"), email="paul@boulangerie.fr")

    with pytest.raises(portal.EmailOfAnotherMember):
        portal.grant_access(by=admin, member=other.member, contact=other)

    assert MemberUser.objects.get().member == link.member


def test_grant_refuses_a_contact_without_email_or_inactive(admin):
    member = MemberFactory()
    with pytest.raises(portal.ContactWithoutEmail):
        portal.grant_access(by=admin, member=member, contact=ContactFactory(member=member, email=""))
    with pytest.raises(portal.InactiveContact):
        portal.grant_access(by=admin, member=member, contact=ContactFactory(member=member, is_active=False))


def test_grant_refuses_a_contact_of_another_member(admin):
    contact = ContactFactory()
    with pytest.raises(Contact.DoesNotExist):
        portal.grant_access(by=admin, member=MemberFactory(), contact=contact)


def test_grant_and_revoke_need_members_edit(tenant_a, link):
    mediator = UserFactory(role=User.Role.MEDIATOR)  # members.view only
    contact = ContactFactory()

    with pytest.raises(PermissionDenied):
        portal.grant_access(by=mediator, member=contact.member, contact=contact)
    with pytest.raises(PermissionDenied):
        portal.revoke_access(by=mediator, member_user=link)
    with pytest.raises(PermissionDenied):
        portal.grant_access(by=link.user, member=contact.member, contact=contact)


def test_revoke_deactivates_the_user_and_is_audited(admin, link):
    portal.revoke_access(by=admin, member_user=link)

    assert not User.objects.get(pk=link.user_id).is_active
    assert portal.member_of(User.objects.get(pk=link.user_id)) is None
    assert AuditEntry.objects.filter(action="members.portal_access_revoked", object_id=str(link.member_id)).exists()


def test_member_of(admin, link):
    assert portal.member_of(link.user) == link.member
    assert portal.member_of(admin) is None
    assert portal.member_of(UserFactory(role=User.Role.MEMBER)) is None  # no MemberUser


# --- The member's own details ----------------------------------------------------------------------------


def test_update_own_details_is_audited_with_the_member_user_as_actor(link):
    member = portal.update_own_details(
        user=link.user, trade_name="Au Bon Pain", city="Villeurbanne", websites=["https://aubonpain.fr"]
    )

    assert (member.trade_name, member.city, member.websites) == (
        "Au Bon Pain",
        "Villeurbanne",
        ["https://aubonpain.fr"],
    )
    entry = AuditEntry.objects.get(action="members.member_updated", object_id=str(member.pk))
    assert entry.actor_id == link.user_id and entry.actor_email == "paul@boulangerie.fr"
    assert entry.changes["trade_name"] == ["", "Au Bon Pain"]


@pytest.mark.parametrize(
    "field, value",
    [("siren", "552100554"), ("status", "terminated"), ("legal_name", "Autre"), ("vat_number", ""), ("group", None)],
)
def test_update_own_details_cannot_touch_identifiers_or_status(link, field, value):
    with pytest.raises(TypeError):
        portal.update_own_details(user=link.user, **{field: value})

    member = Member.objects.get(pk=link.member_id)
    assert (member.siren, member.status, member.legal_name) == ("732829320", "active", "Boulangerie Dupont SARL")


def test_update_own_details_needs_a_member_user(admin, link):
    with pytest.raises(PermissionDenied):
        portal.update_own_details(user=admin, trade_name="Piraté")


def test_details_form_saves_the_safe_fields_and_ignores_the_others(portal_a):
    response = portal_a.post(
        "/espace-adherent/fiche/modifier/",
        {
            "trade_name": "Au Bon Pain",
            "address_line1": "3 rue de la Paix",
            "postcode": "69002",
            "city": "Lyon",
            "country": "FR",
            "websites": "aubonpain.fr",
            "siren": "552100554",
            "status": "terminated",
            "legal_name": "Piraté",
        },
    )

    assert response.status_code == 302 and response["Location"] == "/espace-adherent/fiche/"
    member = Member.objects.get(siren="732829320")
    assert (member.trade_name, member.websites) == ("Au Bon Pain", ["https://aubonpain.fr"])
    assert (member.status, member.legal_name) == ("active", "Boulangerie Dupont SARL")


def test_details_form_shows_errors_next_to_fields(portal_a):
    response = portal_a.post(
        "/espace-adherent/fiche/modifier/", {"postcode": "6900", "country": "FR", "websites": "pas une adresse"}
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert 'role="alert"' in page
    assert "n&#x27;est pas une adresse de site valide" in page or "n'est pas une adresse de site valide" in page
    assert Member.objects.get(siren="732829320").postcode == "69001"


# --- Contacts --------------------------------------------------------------------------------------------------


def test_contacts_page_lists_the_business_contacts_only(portal_a, link):
    ContactFactory(member=link.member, last_name="Martin")
    ContactFactory(member=MemberFactory(), last_name="Étranger")

    page = portal_a.get("/espace-adherent/contacts/").content.decode()

    assert "Martin" in page and "paul@boulangerie.fr" in page
    assert "Étranger" not in page


def test_update_own_contact_is_audited(link):
    contact = ContactFactory(member=link.member, phone="")

    portal.update_own_contact(user=link.user, contact=contact, phone="04 78 00 00 00", email="Compta@Boulangerie.fr")

    contact.refresh_from_db()
    assert (contact.phone, contact.email) == ("04 78 00 00 00", "compta@boulangerie.fr")
    entry = AuditEntry.objects.get(action="members.contact_updated")
    assert entry.actor_id == link.user_id and entry.object_id == str(link.member_id)


def test_update_own_contact_cannot_change_roles_or_deactivate(link):
    with pytest.raises(TypeError):
        portal.update_own_contact(user=link.user, contact=link.contact, roles=["billing"])
    with pytest.raises(TypeError):
        portal.update_own_contact(user=link.user, contact=link.contact, is_active=False)


def test_the_login_email_of_a_contact_stays_with_staff(link, portal_a):
    with pytest.raises(portal.EmailInUse):
        portal.update_own_contact(user=link.user, contact=link.contact, email="autre@ailleurs.fr")

    # On the page the field is disabled: a posted value is ignored, the rest is saved.
    response = portal_a.post(
        f"/espace-adherent/contacts/{link.contact_id}/modifier/",
        {"first_name": "Paul", "last_name": "Dupont", "email": "autre@ailleurs.fr", "phone": "0600000000"},
    )
    assert response.status_code == 302
    contact = Contact.objects.get(pk=link.contact_id)
    assert (contact.email, contact.phone, contact.last_name) == ("paul@boulangerie.fr", "0600000000", "Dupont")


def test_another_members_contact_is_a_404(portal_a):
    stranger = ContactFactory(member=MemberFactory(legal_name="Garage Central"))

    assert portal_a.get(f"/espace-adherent/contacts/{stranger.pk}/modifier/").status_code == 404
    response = portal_a.post(
        f"/espace-adherent/contacts/{stranger.pk}/modifier/", {"last_name": "Piraté", "email": "x@y.fr"}
    )
    assert response.status_code == 404
    assert Contact.objects.get(pk=stranger.pk).last_name != "Piraté"
    with pytest.raises(PermissionDenied):
        portal.update_own_contact(user=MemberUser.objects.get().user, contact=stranger, last_name="Piraté")


# --- Cases ------------------------------------------------------------------------------------------------------


def test_cases_page_shows_the_business_cases_from_the_seizure_on(admin, link, portal_a):
    seized = opened_case(admin, link.member)
    before_seizure = received_case(link.member)
    elsewhere = opened_case(admin, MemberFactory(legal_name="Garage Central"))

    page = portal_a.get("/espace-adherent/dossiers/").content.decode()

    assert seized.reference in page
    assert before_seizure.reference not in page
    assert elsewhere.reference not in page
    assert "Issue de la médiation attendue au plus tard le" in page


def test_answering_a_case_opens_it_in_the_parties_space_as_the_business(admin, link, portal_a):
    case = opened_case(admin, link.member)

    response = portal_a.post(f"/espace-adherent/dossiers/{case.reference}/repondre/")

    assert response.status_code == 302 and response["Location"] == f"/suivi/dossiers/{case.reference}/"
    page = portal_a.get(response["Location"])
    assert page.status_code == 200
    assert page.context["identity"].party == "business"
    assert page.context["can_answer_participation"]


def test_another_members_case_is_a_404(admin, portal_a):
    elsewhere = opened_case(admin, MemberFactory(legal_name="Garage Central"))

    assert portal_a.post(f"/espace-adherent/dossiers/{elsewhere.reference}/repondre/").status_code == 404
    assert "party_space" not in portal_a.session


def test_a_user_whose_email_is_no_active_contact_sees_but_cannot_answer(admin, link, portal_a):
    case = opened_case(admin, link.member)
    Contact.objects.filter(pk=link.contact_id).update(is_active=False)

    page = portal_a.get("/espace-adherent/dossiers/").content.decode()
    response = portal_a.post(f"/espace-adherent/dossiers/{case.reference}/repondre/")

    assert case.reference in page and "/repondre/" not in page
    assert response.status_code == 302 and response["Location"] == "/espace-adherent/dossiers/"
    assert "party_space" not in portal_a.session


def test_answering_needs_post(admin, link, portal_a):
    case = opened_case(admin, link.member)
    assert portal_a.get(f"/espace-adherent/dossiers/{case.reference}/repondre/").status_code == 405


# --- Home and kit ------------------------------------------------------------------------------------------------


def test_home_shows_the_business_and_its_coverage(portal_a):
    page = portal_a.get("/espace-adherent/").content.decode()

    assert "Boulangerie Dupont SARL" in page
    # Active but no paid membership term: the coverage module says why it is not covered.
    assert "Aucune adhésion en cours" in page or "pas réglée" in page or "pas encore pris effet" in page


def test_kit_poster_is_the_logged_in_members(portal_a):
    from pypdf import PdfReader

    MemberFactory(legal_name="Garage Central")
    response = portal_a.get("/espace-adherent/kit/affiche-A5.pdf")

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Boulangerie Dupont" in text and "Garage Central" not in text
    assert portal_a.get("/espace-adherent/kit/affiche-A3.pdf").status_code == 404


def test_kit_certificate_of_an_uncovered_member_is_refused_with_a_message(portal_a):
    response = portal_a.get("/espace-adherent/kit/certificat.pdf", follow=True)

    assert response.redirect_chain[-1][0] == "/espace-adherent/kit/"
    assert "pas de certificat" in response.content.decode()


def test_kit_certificate_of_a_covered_member(link, portal_a):
    import datetime

    from django.utils import timezone
    from pypdf import PdfReader

    from mediation.members.models import Membership

    today = timezone.localdate()
    Membership.objects.create(
        member=link.member,
        starts_on=today - datetime.timedelta(days=10),
        ends_on=today + datetime.timedelta(days=355),
        paid_at=timezone.now(),
    )

    assert "Couvert par le médiateur" in portal_a.get("/espace-adherent/").content.decode()
    response = portal_a.get("/espace-adherent/kit/certificat.pdf")

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Boulangerie Dupont" in text


def test_kit_page_holds_the_members_texts(portal_a):
    MemberFactory(legal_name="Garage Central")
    page = portal_a.get("/espace-adherent/kit/").content.decode()

    assert "Boulangerie Dupont SARL" in page and "adherent=732829320" in page
    assert "Garage Central" not in page


# --- Staff side -------------------------------------------------------------------------------------------------


def test_staff_grant_and_revoke_from_the_member_page(admin, client_a, mailoutbox, django_capture_on_commit_callbacks):
    member = MemberFactory()
    contact = ContactFactory(member=member, email="lea@garage.fr")
    client_a.force_login(admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(f"/espace-adherent/staff/{member.pk}/acces/", {"contact": contact.pk})

    assert response.status_code == 302 and response["Location"] == f"/staff/adherents/{member.pk}/"
    link = MemberUser.objects.get(member=member)
    assert link.user.email == "lea@garage.fr" and len(mailoutbox) == 1

    response = client_a.post(f"/espace-adherent/staff/{member.pk}/acces/{link.pk}/revoquer/")
    assert response.status_code == 302
    assert not User.objects.get(pk=link.user_id).is_active


def test_staff_grant_shows_the_refusal(admin, client_a):
    UserFactory(email="camille@cabinet.fr")
    contact = ContactFactory(email="camille@cabinet.fr")
    client_a.force_login(admin)

    response = client_a.post(f"/espace-adherent/staff/{contact.member_id}/acces/", {"contact": contact.pk}, follow=True)

    assert "équipe du cabinet" in response.content.decode()
    assert not MemberUser.objects.exists()


def test_staff_cannot_grant_a_contact_of_another_member_through_the_url(admin, client_a):
    member = MemberFactory()
    stranger = ContactFactory()
    client_a.force_login(admin)

    client_a.post(f"/espace-adherent/staff/{member.pk}/acces/", {"contact": stranger.pk})
    assert client_a.post("/espace-adherent/staff/999999/acces/", {"contact": stranger.pk}).status_code == 404

    assert not MemberUser.objects.exists()


def test_staff_revoke_of_another_members_user_is_a_404(admin, link, client_a):
    client_a.force_login(admin)
    other = MemberFactory()

    assert client_a.post(f"/espace-adherent/staff/{other.pk}/acces/{link.pk}/revoquer/").status_code == 404
    assert User.objects.get(pk=link.user_id).is_active


def test_staff_portal_buttons_need_members_edit(tenant_a, link, client_a):
    client_a.force_login(UserFactory(role=User.Role.MEDIATOR))

    assert (
        client_a.post(f"/espace-adherent/staff/{link.member_id}/acces/", {"contact": link.contact_id}).status_code
        == 403
    )
    assert client_a.post(f"/espace-adherent/staff/{link.member_id}/acces/{link.pk}/revoquer/").status_code == 403
    assert User.objects.get(pk=link.user_id).is_active


def test_portal_access_include_lists_users_and_buttons(admin, link):
    ContactFactory(member=link.member, email="lea@boulangerie.fr", first_name="Léa", last_name="Martin")
    request = RequestFactory().get("/")
    request.user = admin
    member = Member.objects.get(pk=link.member_id)

    html = render_to_string(
        "members/_portal_access.html",
        {"member": member, "contacts": member.contacts.all(), "can_edit": True},
        request=request,
    )

    assert "paul@boulangerie.fr" in html and "Accès ouvert" in html
    assert f"/espace-adherent/staff/{member.pk}/acces/{link.pk}/revoquer/" in html
    assert f'value="{link.contact_id}"' in html and "Donner l&#x27;accès au portail" in html.replace("'", "&#x27;")
    read_only = render_to_string(
        "members/_portal_access.html",
        {"member": member, "contacts": member.contacts.all(), "can_edit": False},
        request=request,
    )
    assert "revoquer" not in read_only and "/acces/" not in read_only
