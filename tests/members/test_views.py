"""The staff pages: list with search, filters, sort and pages; forms with errors next to fields; detail."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mediation.members.models import Member
from tests.factories import ContactFactory, GroupFactory, MemberFactory, UserFactory


@pytest.fixture
def officer(tenant_a, client_a):
    user = UserFactory(role="case_officer", email="officer@example.fr")
    client_a.force_login(user)
    return user


def _names(response):
    return [member.legal_name for member in response.context["page"].object_list]


def test_search_matches_name_trade_name_siren_and_city(officer, client_a):
    MemberFactory(legal_name="Boulangerie Dupont SARL", trade_name="Boulangerie du Marché", city="Lyon")
    MemberFactory(legal_name="Garage Central", siren="732829320", city="Villeurbanne")
    MemberFactory(legal_name="Maison Bio", city="Grenoble")

    assert _names(client_a.get("/staff/adherents/", {"q": "marché"})) == ["Boulangerie Dupont SARL"]
    assert _names(client_a.get("/staff/adherents/", {"q": "732 829"})) == ["Garage Central"]
    assert _names(client_a.get("/staff/adherents/", {"q": "grenoble"})) == ["Maison Bio"]


def test_filters_by_status_sector_group_and_headcount(officer, client_a):
    group = GroupFactory(name="Fédération des artisans")
    MemberFactory(legal_name="A", status="active", sector="construction", group=group, headcount_band="10_49")
    MemberFactory(legal_name="B", status="active", sector="construction", headcount_band="10_49")
    MemberFactory(legal_name="C", status="prospect", sector="construction", group=group, headcount_band="10_49")
    MemberFactory(legal_name="D", status="active", sector="retail", group=group, headcount_band="1_9")

    assert _names(client_a.get("/staff/adherents/", {"status": "active"})) == ["A", "B", "D"]
    assert _names(client_a.get("/staff/adherents/", {"sector": "construction", "group": group.pk})) == ["A", "C"]
    assert _names(
        client_a.get("/staff/adherents/", {"status": "active", "group": group.pk, "headcount_band": "10_49"})
    ) == ["A"]


def test_sort_and_pages_of_fifty(officer, client_a):
    for n in range(51):
        MemberFactory(legal_name=f"Entreprise {n:02d}")

    first = client_a.get("/staff/adherents/", {"sort": "-name"})
    # The "next" link carries the sort and an opaque cursor (keyset pages); old ?page=N links still work.
    next_link = re.search(r'href="\?(sort=-name&amp;cursor=[^"]+)" rel="next"', first.content.decode())
    second = client_a.get("/staff/adherents/?" + unescape(next_link.group(1)))
    legacy = client_a.get("/staff/adherents/", {"sort": "-name", "page": 2})

    assert len(_names(first)) == 50 and _names(first)[0] == "Entreprise 50"
    assert _names(second) == _names(legacy) == ["Entreprise 00"]
    assert "51 adhérents" in first.content.decode()


def test_list_query_count_does_not_grow_with_the_page(officer, client_a):
    group = GroupFactory()
    MemberFactory.create_batch(2, group=group)
    client_a.get("/staff/adherents/")  # warms per-process caches (firm profile, content types)
    with CaptureQueriesContext(connection) as small:
        assert len(_names(client_a.get("/staff/adherents/"))) == 2
    MemberFactory.create_batch(45, group=group)
    for member in Member.objects.all():
        ContactFactory(member=member)
    with CaptureQueriesContext(connection) as full:
        assert len(_names(client_a.get("/staff/adherents/"))) == 47

    assert len(full.captured_queries) == len(small.captured_queries)


def test_create_form_shows_errors_next_to_the_fields(officer, client_a, use_tenant):
    MemberFactory(legal_name="Boulangerie du Marché", siren="732829320")

    response = client_a.post(
        "/staff/adherents/nouveau/",
        {
            "legal_name": "Doublon",
            "siren": "732 829 320",
            "siret": "55208131700011",
            "country": "FR",
            "sector": "retail",
        },
    )

    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["siren"] == [
        "Le SIREN 732829320 est déjà celui de l'adhérent « Boulangerie du Marché » : "
        "modifiez sa fiche plutôt que d'en créer une seconde."
    ]
    assert "Ce numéro SIRET n'existe pas" in form.errors["siret"][0]
    use_tenant("alpha")
    assert Member.objects.count() == 1


def test_create_then_see_the_detail_with_its_history(officer, client_a):
    response = client_a.post(
        "/staff/adherents/nouveau/",
        {
            "legal_name": "Garage Central SAS",
            "trade_name": "Garage Central",
            "siren": "732 829 320",
            "vat_number": "FR44732829320",
            "naf_code": "4520a",
            "country": "FR",
            "postcode": "69003",
            "city": "Lyon",
            "sector": "automotive",
            "websites": "garage-central.fr",
            "is_ess": "on",
        },
        follow=True,
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "Garage Central SAS" in body and "45.20A" in body and "https://garage-central.fr" in body
    assert "Fiche créée" in body and "officer@example.fr" in body


def test_contact_added_from_the_page_shows_its_roles(officer, client_a):
    member = MemberFactory()

    response = client_a.post(
        f"/staff/adherents/{member.pk}/contacts/nouveau/",
        {"first_name": "Lucie", "last_name": "Moreau", "roles": ["legal_representative", "billing"], "is_active": "on"},
        follow=True,
    )

    body = response.content.decode()
    assert "Lucie Moreau" in body
    assert "Représentant légal" in body and "Facturation" in body
    assert "Contact ajouté" in body


def test_editing_a_member_keeps_other_fields(officer, client_a, use_tenant):
    member = MemberFactory(legal_name="Maison Bio", city="Lyon", siren="732829320")

    client_a.post(
        f"/staff/adherents/{member.pk}/modifier/",
        {"legal_name": "Maison Bio", "siren": "732829320", "city": "Grenoble", "country": "FR", "sector": "retail"},
    )

    use_tenant("alpha")
    member.refresh_from_db()
    assert (member.city, member.siren) == ("Grenoble", "732829320")


def test_group_list_counts_members(officer, client_a):
    group = GroupFactory(name="Fédération des boulangers")
    MemberFactory.create_batch(3, group=group)

    body = client_a.get("/staff/adherents/groupements/").content.decode()

    assert "Fédération des boulangers" in body and "<td>3</td>" in body


def test_member_page_lists_its_cases_for_case_handlers(tenant_a, client_a, media_root):
    from accounts.models import User
    from tests.factories import MemberFactory, UserFactory, received_case

    member = MemberFactory()
    case = received_case(member)
    received_case()  # another member's
    client_a.force_login(UserFactory(role=User.Role.CASE_OFFICER))
    response = client_a.get(f"/staff/adherents/{member.pk}/")
    assert [c.pk for c in response.context["cases"]] == [case.pk]
    assert case.reference in response.content.decode()
    client_a.force_login(UserFactory(role=User.Role.FINANCE))
    assert "cases" not in client_a.get(f"/staff/adherents/{member.pk}/").context
