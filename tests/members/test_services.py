"""Writes on members, contacts and groups: validated, audited with before/after, never a second SIREN."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from core.models import AuditEntry
from mediation.members import services
from mediation.members.models import Contact, Member
from tests.factories import AdminFactory, ContactFactory, GroupFactory, MemberFactory, UserFactory

SIREN = "732829320"


@pytest.fixture
def officer(tenant_a):
    return UserFactory(role="case_officer", email="officer@example.fr")


def test_create_member_stores_it_as_a_prospect_and_audits_every_field(officer):
    member = services.create_member(
        by=officer, legal_name="Boulangerie du Marché", siren="732 829 320", city="Lyon", websites=["https://pain.fr"]
    )

    assert (member.siren, member.status) == (SIREN, Member.Status.PROSPECT)
    entry = AuditEntry.objects.get(action="members.member_created")
    assert entry.actor_email == "officer@example.fr"
    assert entry.object_id == str(member.pk)
    assert entry.changes["siren"] == [None, SIREN]
    assert entry.changes["websites"] == [None, ["https://pain.fr"]]


def test_duplicate_siren_is_refused_naming_the_existing_member(officer):
    MemberFactory(legal_name="Boulangerie du Marché", siren=SIREN)

    with pytest.raises(ValidationError) as error:
        services.create_member(by=officer, legal_name="Autre boulangerie", siren="732 829 320")

    assert error.value.message_dict["siren"] == [
        "Le SIREN 732829320 est déjà celui de l'adhérent « Boulangerie du Marché » : "
        "modifiez sa fiche plutôt que d'en créer une seconde."
    ]
    assert Member.objects.filter(siren=SIREN).count() == 1
    assert not AuditEntry.objects.filter(action="members.member_created").exists()


def test_changing_a_siren_to_one_on_file_is_refused(officer):
    MemberFactory(legal_name="Garage Central", siren=SIREN)
    other = MemberFactory()

    with pytest.raises(ValidationError) as error:
        services.update_member(by=officer, member=other, siren=SIREN)

    assert "Garage Central" in error.value.message_dict["siren"][0]
    other.refresh_from_db()
    assert other.siren != SIREN


def test_update_member_audits_only_what_changed(officer):
    group = GroupFactory()
    member = MemberFactory(city="Lyon")

    services.update_member(by=officer, member=member, city="Villeurbanne", group=group, legal_name=member.legal_name)

    entry = AuditEntry.objects.get(action="members.member_updated")
    assert entry.changes == {"city": ["Lyon", "Villeurbanne"], "group": [None, group.pk]}
    member.refresh_from_db()
    assert member.group == group


def test_update_without_change_writes_no_audit_row(officer):
    member = MemberFactory(city="Lyon")

    services.update_member(by=officer, member=member, city="Lyon")

    assert not AuditEntry.objects.filter(action="members.member_updated").exists()


def test_invalid_change_is_refused_and_nothing_is_saved(officer):
    member = MemberFactory(siret="")

    with pytest.raises(ValidationError) as error:
        services.update_member(by=officer, member=member, siret="73282932000074")

    assert "ses 9 premiers chiffres doivent être" in error.value.message_dict["siret"][0]
    member.refresh_from_db()
    assert member.siret == ""


def test_roles_without_members_edit_cannot_write(tenant_a):
    for role in ("mediator", "finance", "read_only"):
        with pytest.raises(PermissionDenied):
            services.create_member(by=UserFactory(role=role), legal_name="X", siren=SIREN)
    assert not Member.objects.exists()


def test_contact_with_several_roles_is_added_and_audited_on_the_member(officer):
    member = MemberFactory()

    contact = services.add_contact(
        by=officer,
        member=member,
        first_name="Lucie",
        last_name="Moreau",
        email="Lucie@Boulangerie.FR",
        roles=["mediation_correspondent", "legal_representative", "legal_representative"],
    )

    assert contact.roles == ["legal_representative", "mediation_correspondent"]
    assert contact.email == "lucie@boulangerie.fr"
    entry = AuditEntry.objects.get(action="members.contact_added")
    assert (entry.object_type, entry.object_id) == ("members.member", str(member.pk))
    assert entry.changes["last_name"] == [None, "Moreau"]


def test_unknown_contact_role_is_refused(officer):
    with pytest.raises(ValidationError) as error:
        services.add_contact(by=officer, member=MemberFactory(), last_name="Moreau", roles=["boss"])

    assert "roles" in error.value.message_dict


def test_update_and_remove_contact_are_audited(officer):
    contact = ContactFactory(roles=["billing"], phone="")

    services.update_contact(
        by=officer, contact=contact, phone="04 72 00 00 00", roles=["billing", "legal_representative"]
    )
    services.remove_contact(by=officer, contact=contact)

    updated = AuditEntry.objects.get(action="members.contact_updated")
    assert updated.changes["phone"] == ["", "04 72 00 00 00"]
    assert updated.changes["roles"] == [["billing"], ["legal_representative", "billing"]]
    removed = AuditEntry.objects.get(action="members.contact_removed")
    assert removed.changes["last_name"] == [contact.last_name, None]
    assert not Contact.objects.exists()


def test_groups_are_created_and_updated_with_audit(tenant_a):
    admin = AdminFactory()

    group = services.create_group(by=admin, name=" Fédération des boulangers ", kind="federation")
    services.update_group(by=admin, group=group, notes="Remise de 10 % négociée")

    assert group.name == "Fédération des boulangers"
    assert AuditEntry.objects.get(action="members.group_created").changes["kind"] == [None, "federation"]
    assert AuditEntry.objects.get(action="members.group_updated").changes == {"notes": ["", "Remise de 10 % négociée"]}


def test_duplicate_group_name_is_refused(tenant_a):
    admin = AdminFactory()
    services.create_group(by=admin, name="Fédération des boulangers")

    with pytest.raises(ValidationError) as error:
        services.create_group(by=admin, name="Fédération des boulangers")

    assert error.value.message_dict["name"] == ["Un groupement porte déjà ce nom."]
