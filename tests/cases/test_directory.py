"""The directory of sector mediators and the search of the firm's covered members."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from mediation.cases import directory
from tests.factories import MemberFactory


def test_every_body_has_a_name_a_sector_an_https_website_and_a_description():
    keys = [body.key for body in directory.entries()]
    assert len(keys) == len(set(keys))
    for body in directory.entries():
        assert str(body.name) and str(body.sector) and str(body.description)
        assert urlparse(body.website).scheme == "https" and urlparse(body.website).netloc


@pytest.mark.parametrize(
    "key, domain",
    [
        ("energie", "energie-mediateur.fr"),
        ("telecom", "mediateur-telecom.fr"),
        ("assurance", "mediation-assurance.org"),
        ("banque", "lemediateur.fbf.fr"),
        ("tourisme", "mtv.travel"),
        ("conciliateur", "conciliateurs.fr"),
    ],
)
def test_the_real_public_bodies_are_listed_with_their_sites(key, domain):
    body = directory.body(key)
    assert body is not None
    assert urlparse(body.website).netloc.removeprefix("www.") == domain


def test_a_member_sector_points_to_its_sector_mediator_then_the_conciliateurs():
    assert [body.key for body in directory.for_member_sector("energy")] == ["energie", "conciliateur"]
    assert [body.key for body in directory.for_member_sector("retail")] == ["conciliateur"]


def test_search_finds_covered_members_by_name_trade_name_siren_and_website(tenant_a):
    shop = MemberFactory(
        legal_name="Société Lumière SAS",
        trade_name="Lampes & Co",
        siren="732829320",
        websites=["https://www.lampes-co.fr"],
        status="active",
    )
    due = MemberFactory(legal_name="Renouveau SARL", status="renewal_due")
    MemberFactory(legal_name="Lumière Éteinte", status="lapsed")
    MemberFactory(legal_name="Lumière Prospect", status="prospect")

    assert directory.search_covered_members("lumière") == [shop]
    assert directory.search_covered_members("lampes") == [shop]
    assert directory.search_covered_members("732 829 320") == [shop]
    assert directory.search_covered_members("https://lampes-co.fr/") == [shop]
    assert directory.search_covered_members("renouveau") == [due]
    assert directory.search_covered_members("l") == []


def test_only_an_active_or_renewal_due_member_is_found_by_siren(tenant_a):
    active = MemberFactory(status="active")
    lapsed = MemberFactory(status="lapsed")
    assert directory.covered_member_by_siren(active.siren) == active
    assert directory.covered_member_by_siren(lapsed.siren) is None
    assert directory.member_by_siren(lapsed.siren) == lapsed
    assert directory.covered_member_by_siren("not a siren") is None
