"""The platform host's directory of sector and public mediators, and the lookup's link to it."""

from __future__ import annotations

import html

import pytest

from mediation.cases import directory
from tenants.lookup_views import CONCILIATEUR_URL, OFFICIAL_LIST_URL
from tenants.models import CoveredBusiness
from tests.factories import valid_siren

URL = "/trouver-un-mediateur/annuaire/"


def test_the_directory_lists_the_sector_mediators_with_the_date_checked(db, public_client):
    response = public_client.get(URL)

    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "<h1>Annuaire des médiateurs sectoriels et publics</h1>" in page
    for body in directory.entries():
        assert str(body.name) in page
        assert str(body.sector) in page
        assert str(body.description) in page
        assert f'href="{body.website}"' in page
    assert f"Liste mise à jour le {directory.CHECKED_ON.day} " in page
    assert str(directory.CHECKED_ON.year) in page
    assert f'href="{OFFICIAL_LIST_URL}"' in page
    assert f'href="{CONCILIATEUR_URL}"' in page


def test_the_directory_is_not_served_on_a_firms_host(tenant_a, client_a):
    assert client_a.get(URL).status_code == 404


def test_the_directory_answers_get_only(db, public_client):
    assert public_client.post(URL).status_code == 405


def test_the_lookup_links_to_the_directory_when_no_firm_covers_the_business(db, public_client):
    CoveredBusiness.objects.all().delete()  # the public schema is not flushed between tests

    response = public_client.get("/trouver-un-mediateur/", {"q": valid_siren(9191)})

    page = response.content.decode()
    assert response.status_code == 200
    assert "Aucun cabinet de médiation de cette plateforme ne couvre" in html.unescape(page)
    assert f'href="{URL}"' in page


@pytest.mark.parametrize("path", ["/le-mediateur/", "/verifier-un-professionnel/"])
def test_the_firm_pages_are_not_served_on_the_platform_host(db, public_client, path):
    assert public_client.get(path).status_code == 404
