"""Who reaches the member portal: login by e-mail code, landing pages, 403s on the staff side, tenants."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from accounts.models import User
from firm.models import FirmProfile
from mediation.members import portal
from tests.conftest import PASSWORD
from tests.factories import MemberFactory, UserFactory
from tests.members.portal_helpers import CODE_RE, login_by_code, member_with_user, staff_admin


@pytest.fixture
def admin(tenant_a):
    return staff_admin()


@pytest.fixture
def link(admin):
    return member_with_user(by=admin, email="paul@boulangerie.fr")


def test_a_member_user_logs_in_by_email_code_and_lands_on_the_portal(link, client_a):
    response = login_by_code(client_a, "paul@boulangerie.fr")

    assert response.status_code == 302 and response["Location"] == "/espace-adherent/"
    page = client_a.get("/espace-adherent/")
    assert page.status_code == 200
    assert "Boulangerie Dupont SARL" in page.content.decode()


def test_a_login_with_next_still_goes_where_asked(link, client_a):
    assert client_a.get("/espace-adherent/contacts/")["Location"] == "/accounts/login/?next=/espace-adherent/contacts/"


def test_staff_still_land_on_the_staff_area(admin, client_a):
    response = client_a.post("/accounts/login/", {"login": admin.email, "password": PASSWORD})

    assert response["Location"] == "/staff/"


def test_staff_visiting_the_portal_are_sent_to_the_staff_area(admin, client_a):
    client_a.force_login(admin)

    assert client_a.get("/espace-adherent/")["Location"] == "/staff/"
    assert client_a.get("/espace-adherent/fiche/")["Location"] == "/staff/"


def test_a_member_role_user_without_a_business_gets_403(tenant_a, client_a):
    client_a.force_login(UserFactory(role=User.Role.MEMBER))

    for path in ("/espace-adherent/", "/espace-adherent/fiche/", "/espace-adherent/kit/", "/espace-adherent/dossiers/"):
        assert client_a.get(path).status_code == 403, path


@pytest.mark.parametrize(
    "path",
    [
        "/staff/",
        "/staff/adherents/",
        "/staff/dossiers/",
        "/staff/equipe/",
        "/staff/cabinet/",
        "/api/v1/members/",
        "/api/v1/cases/",
        "/api/v1/staff/",
    ],
)
def test_a_member_user_gets_403_on_the_staff_side(link, client_a, path):
    client_a.force_login(link.user)

    assert client_a.get(path).status_code == 403


def test_a_member_user_cannot_use_the_staff_portal_buttons(link, client_a):
    client_a.force_login(link.user)

    assert client_a.post(f"/espace-adherent/staff/{link.member_id}/acces/{link.pk}/revoquer/").status_code == 403


def test_a_member_user_is_not_asked_for_totp_when_the_firm_requires_mfa(link, client_a):
    FirmProfile.objects.update_or_create(pk=FirmProfile.SINGLETON_PK, defaults={"require_mfa": True})
    client_a.force_login(link.user)

    assert client_a.get("/espace-adherent/").status_code == 200
    # Refused as a member, not sent to the TOTP page as a staff member would be.
    staff_page = client_a.get("/staff/adherents/")
    assert staff_page.status_code == 403
    api = client_a.get("/api/v1/members/")
    assert api.status_code == 403 and api.json()["code"] != "mfa_required"


def test_a_member_user_sees_only_its_own_business(admin, link, client_a, use_tenant):
    other = member_with_user(by=admin, email="lea@garage.fr", legal_name="Garage Central")
    client_a.force_login(link.user)

    pages = "".join(
        client_a.get(path).content.decode()
        for path in ("/espace-adherent/", "/espace-adherent/fiche/", "/espace-adherent/contacts/")
    )
    assert "Boulangerie Dupont SARL" in pages
    assert "Garage Central" not in pages and "lea@garage.fr" not in pages
    assert client_a.get(f"/espace-adherent/contacts/{other.contact_id}/modifier/").status_code == 404


def test_a_revoked_user_cannot_log_in_and_its_session_ends(admin, link, client_a):
    client_a.force_login(link.user)
    assert client_a.get("/espace-adherent/").status_code == 200

    portal.revoke_access(by=admin, member_user=link)

    # The open session no longer authenticates...
    assert client_a.get("/espace-adherent/")["Location"].startswith("/accounts/login/")
    # ...and a new login by code opens none.
    fresh = Client(HTTP_HOST="alpha.localhost")
    mail.outbox.clear()
    fresh.post("/accounts/login/code/", {"email": "paul@boulangerie.fr"})
    for message in mail.outbox:  # whatever allauth sends, the code must not log in
        found = CODE_RE.search(message.body)
        if found:
            fresh.post("/accounts/login/code/confirm/", {"code": found.group(1)})
    assert "_auth_user_id" not in fresh.session
    assert fresh.get("/espace-adherent/").status_code == 302


def test_the_user_of_tenant_a_cannot_log_in_on_tenant_b(link, client_b, use_tenant):
    use_tenant("beta")
    MemberFactory(legal_name="Boulangerie Dupont SARL")  # the same business, a member of the other firm too

    mail.outbox.clear()
    client_b.post("/accounts/login/code/", {"email": "paul@boulangerie.fr"})
    assert mail.outbox == []
    assert "_auth_user_id" not in client_b.session
    assert client_b.get("/espace-adherent/").status_code == 302


def test_a_session_of_tenant_a_is_anonymous_on_tenant_b(link, client_a):
    client_a.force_login(link.user)
    replay = Client(HTTP_HOST="beta.localhost")
    replay.cookies["sessionid"] = client_a.cookies["sessionid"].value

    response = replay.get("/espace-adherent/")

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
