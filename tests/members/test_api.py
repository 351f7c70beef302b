"""/api/v1/members/: list with filters and pages, detail, create and change with French errors and codes."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import AuditEntry
from mediation.members import selectors
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
    first = client_a.get("/api/v1/members/", {"page_size": 2}).json()
    second = client_a.get(first["next"]).json()

    assert set(everything) == {"next", "previous", "results"} and len(everything["results"]) == 3
    assert everything["next"] is None and everything["previous"] is None
    assert [row["legal_name"] for row in first["results"]] == ["Boulangerie du Marché", "Garage Central"]
    assert first["previous"] is None and first["next"].startswith("http://")
    assert [row["legal_name"] for row in filtered["results"]] == ["Boulangerie du Marché"]
    assert filtered["results"][0]["group"] == {"id": group.pk, "name": "Fédération du commerce", "kind": "federation"}
    assert [row["legal_name"] for row in searched["results"]] == ["Garage Central"]
    assert [row["legal_name"] for row in second["results"]] == ["Prospect SARL"]
    assert second["next"] is None and second["previous"]


def _walk(client, url, params=None):
    """Every row of a list by following `next`, and the pages' sizes."""
    rows, sizes = [], []
    body = client.get(url, params or {}).json()
    while True:
        rows += body["results"]
        sizes.append(len(body["results"]))
        if body["next"] is None:
            return rows, sizes
        body = client.get(body["next"]).json()


@pytest.mark.parametrize("sort", ["name", "-name", "siren", "city", "status", "-created"])
def test_walking_the_pages_gives_every_member_once_in_the_sort_order(officer, client_a, sort):
    for index in range(7):
        # Two cities and statuses only: most rows tie on the sort's first field.
        MemberFactory(legal_name=f"Membre {index % 3}", city=["Lyon", "Paris"][index % 2], status="active")
    MemberFactory(legal_name="Autre", city="Lyon", status="prospect")
    expected = [member.pk for member in selectors.members(selectors.MemberFilters(sort=sort))]

    rows, sizes = _walk(client_a, "/api/v1/members/", {"sort": sort, "page_size": 3})

    assert [row["id"] for row in rows] == expected
    assert sizes == [3, 3, 2]


def test_previous_walks_back_and_links_keep_the_other_parameters(officer, client_a):
    for index in range(5):
        MemberFactory(legal_name=f"Garage {index}", status="active")
    MemberFactory(legal_name="Boulangerie", status="active")

    first = client_a.get("/api/v1/members/", {"search": "garage", "sort": "-name", "page_size": 2}).json()
    second = client_a.get(first["next"]).json()
    back = client_a.get(second["previous"]).json()

    assert "search=garage" in first["next"] and "sort=-name" in first["next"] and "page_size=2" in first["next"]
    assert [row["legal_name"] for row in first["results"]] == ["Garage 4", "Garage 3"]
    assert [row["legal_name"] for row in second["results"]] == ["Garage 2", "Garage 1"]
    assert back["results"] == first["results"]


def test_a_cursor_past_deleted_rows_ends_the_walk_without_repeating_rows(officer, client_a):
    members = [MemberFactory(legal_name=f"Membre {index}", status="active") for index in range(4)]
    first = client_a.get("/api/v1/members/", {"page_size": 2}).json()
    Member.objects.filter(pk__in=[member.pk for member in members[2:]]).delete()

    rest = client_a.get(first["next"]).json()

    assert rest["results"] == [] and rest["next"] is None


@pytest.mark.parametrize("cursor", ["garbage", "eyJzIjoibmFtZSJ9:1abc:xyz", "cD0x"])
def test_a_cursor_that_does_not_decode_is_a_400(officer, client_a, cursor):
    MemberFactory()

    response = client_a.get("/api/v1/members/", {"cursor": cursor})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_filter" and "cursor" in response.json()["detail"]


def test_a_cursor_of_another_sort_is_a_400(officer, client_a):
    MemberFactory.create_batch(3)
    next_url = client_a.get("/api/v1/members/", {"page_size": 1, "sort": "city"}).json()["next"]
    cursor = next_url.split("cursor=")[1].split("&")[0]

    response = client_a.get("/api/v1/members/", {"cursor": cursor, "sort": "name"})

    assert response.status_code == 400 and response.json()["code"] == "invalid_filter"


def test_page_size_is_capped_at_200(officer, client_a):
    MemberFactory.create_batch(3)

    assert len(client_a.get("/api/v1/members/", {"page_size": 1}).json()["results"]) == 1
    assert len(client_a.get("/api/v1/members/", {"page_size": 5000}).json()["results"]) == 3


def test_a_deep_page_costs_the_queries_of_the_first(officer, client_a):
    MemberFactory.create_batch(12)
    url = "/api/v1/members/"
    deep = client_a.get(url, {"page_size": 2}).json()
    for _ in range(4):
        deep = client_a.get(deep["next"]).json()

    with CaptureQueriesContext(connection) as first_page:
        client_a.get(url, {"page_size": 2})
    with CaptureQueriesContext(connection) as deep_page:
        response = client_a.get(deep["next"])

    assert response.status_code == 200 and len(response.json()["results"]) == 2
    assert len(deep_page.captured_queries) == len(first_page.captured_queries)


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
