"""/api/v1/members/: list with filters and pages, detail, create and change with French errors and codes."""

from __future__ import annotations

import json

import pytest

from core.models import AuditEntry
from mediation.members.models import Member
from tests.factories import ContactFactory, GroupFactory, MemberFactory, UserFactory


def _post(client, data):
    return client.post("/api/v1/members/", json.dumps(data), content_type="application/json")


def _patch(client, pk, data):
    return client.patch(f"/api/v1/members/{pk}/", json.dumps(data), content_type="application/json")


@pytest.fixture
def officer(tenant_a, client_a):
    user = UserFactory(role="case_officer", email="officer@example.fr")
    client_a.force_login(user)
    return user


def test_list_is_paginated_and_filtered(officer, client_a):
    group = GroupFactory(name="Fédération du commerce")
    MemberFactory(legal_name="Boulangerie du Marché", status="active", group=group, city="Lyon")
    MemberFactory(legal_name="Garage Central", status="active", sector="automotive")
    MemberFactory(legal_name="Prospect SARL")

    everything = client_a.get("/api/v1/members/").json()
    filtered = client_a.get("/api/v1/members/", {"status": "active", "group": group.pk}).json()
    searched = client_a.get("/api/v1/members/", {"search": "garage"}).json()
    paged = client_a.get("/api/v1/members/", {"page_size": 2, "page": 2}).json()

    assert everything["count"] == 3
    assert [row["legal_name"] for row in filtered["results"]] == ["Boulangerie du Marché"]
    assert filtered["results"][0]["group"] == {"id": group.pk, "name": "Fédération du commerce", "kind": "federation"}
    assert [row["legal_name"] for row in searched["results"]] == ["Garage Central"]
    assert [row["legal_name"] for row in paged["results"]] == ["Prospect SARL"]


def test_unknown_filter_value_is_a_400_with_a_code(officer, client_a):
    response = client_a.get("/api/v1/members/", {"status": "asleep"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_filter"


def test_detail_has_the_contacts(officer, client_a):
    contact = ContactFactory(roles=["mediation_correspondent"], last_name="Moreau")

    body = client_a.get(f"/api/v1/members/{contact.member.pk}/").json()

    assert body["siren"] == contact.member.siren
    assert body["contacts"][0]["last_name"] == "Moreau"
    assert body["contacts"][0]["roles"] == ["mediation_correspondent"]


def test_create_compacts_identifiers_and_audits(officer, client_a, use_tenant):
    response = _post(
        client_a,
        {
            "legal_name": "Boulangerie du Marché",
            "siren": "732 829 320",
            "vat_number": "FR 44 732829320",
            "city": "Lyon",
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["siren"], body["vat_number"], body["status"]) == ("732829320", "FR44732829320", "prospect")
    use_tenant("alpha")
    assert AuditEntry.objects.get(action="members.member_created").actor_email == "officer@example.fr"


def test_bad_siren_is_a_400_with_a_french_message(officer, client_a):
    response = _post(client_a, {"legal_name": "X", "siren": "732829321"})

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": {"siren": ["Ce numéro SIREN n'existe pas : sa clé de contrôle est fausse. Vérifiez les 9 chiffres."]},
    }


def test_duplicate_siren_is_refused_with_its_own_code(officer, client_a, use_tenant):
    MemberFactory(legal_name="Boulangerie du Marché", siren="732829320")

    response = _post(client_a, {"legal_name": "Doublon", "siren": "732829320"})

    assert response.status_code == 400
    assert response.json()["code"] == "duplicate_siren"
    assert "Boulangerie du Marché" in response.json()["detail"]["siren"][0]
    use_tenant("alpha")
    assert Member.objects.count() == 1


def test_patch_changes_only_what_is_sent(officer, client_a, use_tenant):
    member = MemberFactory(city="Lyon", legal_name="Garage Central")

    response = _patch(client_a, member.pk, {"city": "Villeurbanne", "websites": ["https://garage.fr"]})

    assert response.status_code == 200
    assert (response.json()["city"], response.json()["legal_name"]) == ("Villeurbanne", "Garage Central")
    use_tenant("alpha")
    assert AuditEntry.objects.get(action="members.member_updated").changes == {
        "city": ["Lyon", "Villeurbanne"],
        "websites": [[], ["https://garage.fr"]],
    }


def test_patch_with_a_vat_number_of_another_company_is_refused(officer, client_a):
    member = MemberFactory(siren="552081317")

    response = _patch(client_a, member.pk, {"vat_number": "FR44732829320"})

    assert response.status_code == 400
    assert "Le bon numéro serait FR03552081317." in response.json()["detail"]["vat_number"][0]


def test_unknown_member_is_a_404_with_a_code(officer, client_a):
    response = client_a.get("/api/v1/members/999999/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_schema_documents_the_members_endpoints(officer, client_a):
    schema = client_a.get("/api/schema/", {"format": "json"}).json()

    assert {"/api/v1/members/", "/api/v1/members/{id}/"} <= set(schema["paths"])
