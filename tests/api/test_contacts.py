"""/api/v1/members/{id}/contacts/ and /{contact_id}/: members.view reads, members.edit writes."""

from __future__ import annotations

import pytest

from core.models import AuditEntry
from mediation.members.models import Contact
from tests.api.conftest import assert_anonymous_refused, assert_forbidden, call, list_queries
from tests.factories import AdminFactory, ContactFactory, MemberFactory, UserFactory


def contacts_url(member_pk: int, contact_pk: int | None = None) -> str:
    return f"/api/v1/members/{member_pk}/contacts/" + (f"{contact_pk}/" if contact_pk else "")


@pytest.fixture
def admin(tenant_a, client_a):
    user = AdminFactory()
    client_a.force_login(user)
    return user


@pytest.fixture
def member(tenant_a):
    member = MemberFactory(legal_name="Garage Central")
    ContactFactory(member=member, last_name="Martin", roles=["billing"])
    ContactFactory(member=member, last_name="Bernard", roles=["legal_representative"], is_active=False)
    ContactFactory(last_name="Autre")  # another member's
    return member


def names(response) -> list[str]:
    assert response.status_code == 200, response.content[:300]
    return [row["last_name"] for row in response.json()["results"]]


def test_list_gives_the_members_contacts_by_name(client_a, admin, member):
    response = client_a.get(contacts_url(member.pk))

    assert names(response) == ["Bernard", "Martin"]
    row = response.json()["results"][1]
    assert row["member"] == member.pk
    assert row["roles"] == ["billing"]
    assert row["is_active"] is True


@pytest.mark.parametrize(
    ("query", "expected"),
    [("role=billing", ["Martin"]), ("is_active=false", ["Bernard"]), ("role=mediation_correspondent", [])],
)
def test_list_filters(client_a, admin, member, query, expected):
    assert names(client_a.get(f"{contacts_url(member.pk)}?{query}")) == expected


@pytest.mark.parametrize("query", ["role=boss", "is_active=yes", "cursor=bad"])
def test_a_refused_filter_is_a_400(client_a, admin, member, query):
    response = client_a.get(f"{contacts_url(member.pk)}?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_filter"


def test_list_costs_the_same_number_of_queries_for_many_contacts(client_a, admin, member):
    few = list_queries(client_a, contacts_url(member.pk), rows=2)
    ContactFactory.create_batch(20, member=member)

    assert list_queries(client_a, contacts_url(member.pk), rows=22) == few


def test_create_adds_a_contact_and_audits_it_on_the_member(client_a, admin, member):
    response = call(
        client_a,
        "post",
        contacts_url(member.pk),
        {"last_name": " Durand ", "first_name": "Léa", "email": "Lea.Durand@Garage.fr", "roles": ["billing"]},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["last_name"] == "Durand"
    assert body["email"] == "lea.durand@garage.fr"
    contact = Contact.objects.get(pk=body["id"])
    assert contact.member == member
    assert AuditEntry.objects.filter(action="members.contact_added", object_id=str(member.pk)).exists()


@pytest.mark.parametrize(
    "body",
    [
        {"first_name": "Sans nom"},
        {"last_name": "Durand", "email": "pas-une-adresse"},
        {"last_name": "Durand", "roles": ["boss"]},
        {"last_name": "x" * 151},
    ],
)
def test_create_refuses_invalid_input(client_a, admin, member, body):
    response = call(client_a, "post", contacts_url(member.pk), body)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert member.contacts.count() == 2


def test_retrieve(client_a, admin, member):
    contact = member.contacts.get(last_name="Martin")

    response = client_a.get(contacts_url(member.pk, contact.pk))

    assert response.status_code == 200
    assert response.json()["id"] == contact.pk


def test_patch_changes_only_the_fields_sent(client_a, admin, member):
    contact = member.contacts.get(last_name="Martin")

    response = call(client_a, "patch", contacts_url(member.pk, contact.pk), {"phone": "04 72 00 00 00"})

    assert response.status_code == 200, response.content
    contact.refresh_from_db()
    assert contact.phone == "04 72 00 00 00"
    assert contact.last_name == "Martin"
    assert contact.roles == ["billing"]
    assert AuditEntry.objects.filter(action="members.contact_updated", object_id=str(member.pk)).exists()


def test_patch_refuses_an_empty_last_name(client_a, admin, member):
    contact = member.contacts.get(last_name="Martin")

    response = call(client_a, "patch", contacts_url(member.pk, contact.pk), {"last_name": ""})

    assert response.status_code == 400
    contact.refresh_from_db()
    assert contact.last_name == "Martin"


def test_delete_removes_the_contact(client_a, admin, member):
    contact = member.contacts.get(last_name="Martin")

    response = call(client_a, "delete", contacts_url(member.pk, contact.pk))

    assert response.status_code == 204
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert AuditEntry.objects.filter(action="members.contact_removed", object_id=str(member.pk)).exists()


def test_another_members_contact_is_404(client_a, admin, member):
    other = Contact.objects.get(last_name="Autre")

    assert client_a.get(contacts_url(member.pk, other.pk)).status_code == 404
    assert call(client_a, "patch", contacts_url(member.pk, other.pk), {"phone": "1"}).status_code == 404
    assert call(client_a, "delete", contacts_url(member.pk, other.pk)).status_code == 404
    assert Contact.objects.filter(pk=other.pk, phone="").exists()


def test_another_firms_member_and_contact_are_404(tenant_b, use_tenant, client_a):
    beta_contact = ContactFactory()
    beta_member = beta_contact.member
    use_tenant("alpha")
    client_a.force_login(AdminFactory())

    assert client_a.get(contacts_url(beta_member.pk)).status_code == 404
    assert client_a.get(contacts_url(beta_member.pk, beta_contact.pk)).status_code == 404
    assert call(client_a, "post", contacts_url(beta_member.pk), {"last_name": "Intrus"}).status_code == 404
    assert call(client_a, "delete", contacts_url(beta_member.pk, beta_contact.pk)).status_code == 404
    use_tenant("beta")
    assert Contact.objects.filter(pk=beta_contact.pk).exists()
    assert not Contact.objects.filter(last_name="Intrus").exists()


def test_anonymous_is_refused(tenant_a, client_a, member):
    contact = member.contacts.first()

    assert_anonymous_refused(client_a.get(contacts_url(member.pk)))
    assert_anonymous_refused(client_a.get(contacts_url(member.pk, contact.pk)))
    assert_anonymous_refused(call(client_a, "post", contacts_url(member.pk), {"last_name": "X"}))
    assert_anonymous_refused(call(client_a, "delete", contacts_url(member.pk, contact.pk)))
    assert Contact.objects.filter(pk=contact.pk).exists()


@pytest.mark.parametrize("role", ["mediator", "finance", "read_only"])
def test_roles_without_members_edit_read_but_cannot_write(tenant_a, client_a, member, role):
    contact = member.contacts.get(last_name="Martin")
    client_a.force_login(UserFactory(role=role))

    assert client_a.get(contacts_url(member.pk)).status_code == 200
    assert_forbidden(call(client_a, "post", contacts_url(member.pk), {"last_name": "Durand"}))
    assert_forbidden(call(client_a, "patch", contacts_url(member.pk, contact.pk), {"phone": "1"}))
    assert_forbidden(call(client_a, "delete", contacts_url(member.pk, contact.pk)))
    assert member.contacts.count() == 2
    contact.refresh_from_db()
    assert contact.phone == ""


def test_a_member_business_user_cannot_read(tenant_a, client_a, member):
    client_a.force_login(UserFactory(role="member"))

    assert_forbidden(client_a.get(contacts_url(member.pk)))
