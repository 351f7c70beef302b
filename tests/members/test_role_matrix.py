"""Every members page and endpoint, for each role of the table and an anonymous visitor."""

from __future__ import annotations

import json

import pytest

from accounts.permissions import Perm
from tests.factories import ContactFactory, GroupFactory, MemberFactory
from tests.roles import ROLES_AND_ANONYMOUS, assert_api_outcome, assert_html_outcome, log_in_with_role, role_id

READ_PAGES = [
    "/staff/adherents/",
    "/staff/adherents/export.csv",
    "/staff/adherents/export.xlsx",
    "/staff/adherents/{member}/",
    "/staff/adherents/groupements/",
]
EDIT_PAGES = [
    "/staff/adherents/nouveau/",
    "/staff/adherents/{member}/modifier/",
    "/staff/adherents/{member}/contacts/nouveau/",
    "/staff/adherents/{member}/contacts/{contact}/modifier/",
    "/staff/adherents/groupements/nouveau/",
    "/staff/adherents/groupements/{group}/modifier/",
]
VALID_MEMBER = {"legal_name": "Garage Central", "siren": "732829320", "country": "FR", "sector": "automotive"}
POSTS = [
    ("/staff/adherents/nouveau/", VALID_MEMBER),
    ("/staff/adherents/{member}/modifier/", {**VALID_MEMBER, "siren": "552081317"}),
    ("/staff/adherents/{member}/contacts/nouveau/", {"last_name": "Moreau", "roles": ["billing"], "is_active": "on"}),
    ("/staff/adherents/{member}/contacts/{contact}/modifier/", {"last_name": "Moreau", "is_active": "on"}),
    ("/staff/adherents/{member}/contacts/{contact}/supprimer/", {}),
    ("/staff/adherents/groupements/nouveau/", {"name": "Fédération du commerce", "kind": "federation"}),
    ("/staff/adherents/groupements/{group}/modifier/", {"name": "Groupement renommé", "kind": "group"}),
]


def _objects():
    contact = ContactFactory()
    return {"member": contact.member.pk, "contact": contact.pk, "group": GroupFactory().pk}


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=role_id)
@pytest.mark.parametrize("url", READ_PAGES)
def test_reading_pages_need_members_view(tenant_a, client_a, role, url):
    ids = _objects()
    log_in_with_role(client_a, role)

    assert_html_outcome(client_a.get(url.format(**ids)), role=role, perm=Perm.MEMBERS_VIEW, success=200)


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=role_id)
@pytest.mark.parametrize("url", EDIT_PAGES)
def test_edit_pages_need_members_edit(tenant_a, client_a, role, url):
    ids = _objects()
    log_in_with_role(client_a, role)

    assert_html_outcome(client_a.get(url.format(**ids)), role=role, perm=Perm.MEMBERS_EDIT, success=200)


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=role_id)
@pytest.mark.parametrize(("url", "data"), POSTS, ids=[url for url, _data in POSTS])
def test_edit_forms_need_members_edit(tenant_a, client_a, role, url, data):
    ids = _objects()
    log_in_with_role(client_a, role)

    response = client_a.post(url.format(**ids), data)

    assert_html_outcome(response, role=role, perm=Perm.MEMBERS_EDIT, success=302)


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=role_id)
@pytest.mark.parametrize("url", ["/api/v1/members/", "/api/v1/members/{member}/"])
def test_reading_the_api_needs_members_view(tenant_a, client_a, role, url):
    member = MemberFactory()
    log_in_with_role(client_a, role)

    assert_api_outcome(client_a.get(url.format(member=member.pk)), role=role, perm=Perm.MEMBERS_VIEW)


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=role_id)
def test_creating_through_the_api_needs_members_edit(tenant_a, client_a, role):
    log_in_with_role(client_a, role)

    response = client_a.post("/api/v1/members/", json.dumps(VALID_MEMBER), content_type="application/json")

    assert_api_outcome(response, role=role, perm=Perm.MEMBERS_EDIT, success=201)


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=role_id)
def test_changing_through_the_api_needs_members_edit(tenant_a, client_a, role):
    member = MemberFactory()
    log_in_with_role(client_a, role)

    response = client_a.patch(
        f"/api/v1/members/{member.pk}/", json.dumps({"city": "Lyon"}), content_type="application/json"
    )

    assert_api_outcome(response, role=role, perm=Perm.MEMBERS_EDIT)


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=role_id)
def test_staff_nav_shows_members_to_those_who_may_read_them(tenant_a, client_a, role):
    from tests.roles import allowed

    log_in_with_role(client_a, role)

    body = client_a.get("/staff/", follow=True).content.decode()

    assert ('href="/staff/adherents/"' in body) is allowed(role, Perm.MEMBERS_VIEW)
