"""The platform-wide coverage index (public schema) and the platform host's "find your mediator" page."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from tenants import coverage_index
from tenants.models import CoveredBusiness, Tenant
from tests.factories import valid_siren

URL = "/trouver-un-mediateur/"
SIREN = valid_siren(4242)
OTHER_SIREN = valid_siren(4343)


@pytest.fixture(autouse=True)
def empty_index(db):
    # The public schema is never flushed between tests: start from an empty index whatever ran before.
    CoveredBusiness.objects.all().delete()


@pytest.fixture
def firms(db):
    return Tenant.objects.get(schema_name="alpha"), Tenant.objects.get(schema_name="beta")


def later(days: int = 200) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


def add(tenant, siren=SIREN, name="Boulangerie Étienne", trade_name="", until=None):
    return coverage_index.upsert(
        tenant=tenant, siren=siren, name=name, trade_name=trade_name, covered_until=until or later()
    )


# --- The index ---------------------------------------------------------------------------------------


def test_the_index_holds_no_private_field():
    fields = {field.name for field in CoveredBusiness._meta.get_fields()}
    assert fields == {"id", "tenant", "siren", "name", "trade_name", "search_text", "covered_until", "updated_at"}


def test_search_text_is_lower_case_without_accents_or_punctuation():
    assert coverage_index.search_text(name="L'Été Œnologique SARL", trade_name="Château-Neuf") == (
        "l ete oenologique sarl chateau neuf"
    )


def test_upsert_replaces_the_firms_row_for_a_siren(firms):
    alpha, _beta = firms
    add(alpha, name="Ancien nom")
    add(alpha, name="Nouveau nom", until=later(10))
    row = CoveredBusiness.objects.get(tenant=alpha, siren=SIREN)
    assert (row.name, row.covered_until) == ("Nouveau nom", later(10))
    assert CoveredBusiness.objects.filter(siren=SIREN).count() == 1


def test_remove_touches_only_that_firm(firms):
    alpha, beta = firms
    add(alpha)
    add(beta)
    assert coverage_index.remove(tenant=alpha, siren=SIREN) == 1
    assert list(CoveredBusiness.objects.values_list("tenant__schema_name", flat=True)) == ["beta"]


def test_replace_for_tenant_reconciles_one_firm_only(firms):
    alpha, beta = firms
    add(alpha, siren=SIREN, name="Restée")
    add(alpha, siren=OTHER_SIREN, name="Partie")
    add(beta, siren=OTHER_SIREN, name="Chez Beta")
    third = valid_siren(4444)
    counts = coverage_index.replace_for_tenant(
        tenant=alpha,
        rows=[
            coverage_index.IndexRow(siren=SIREN, name="Restée", trade_name="", covered_until=later()),
            coverage_index.IndexRow(siren=third, name="Arrivée", trade_name="", covered_until=later()),
        ],
    )
    assert counts == {"added": 1, "updated": 0, "removed": 1, "unchanged": 1}
    assert set(CoveredBusiness.objects.filter(tenant=alpha).values_list("siren", flat=True)) == {SIREN, third}
    assert CoveredBusiness.objects.filter(tenant=beta, siren=OTHER_SIREN).exists()


def test_search_by_siren_with_spaces(firms):
    alpha, _beta = firms
    add(alpha)
    spaced = f"{SIREN[:3]} {SIREN[3:6]} {SIREN[6:]}"
    [found] = coverage_index.search(spaced)
    assert (found.siren, found.firm_name, found.siren_display) == (SIREN, "Cabinet Alpha Médiation", spaced)


def test_search_by_name_without_accents_or_case(firms):
    alpha, _beta = firms
    add(alpha, name="Boulangerie Étienne", trade_name="Le Fournil d'Été")
    assert [f.siren for f in coverage_index.search("etienne BOULANGERIE")] == [SIREN]
    assert [f.siren for f in coverage_index.search("fournil d ete")] == [SIREN]
    assert coverage_index.search("boulangerie martin") == []


def test_two_firms_covering_the_same_siren_are_both_listed(firms):
    alpha, beta = firms
    add(alpha)
    add(beta, until=later(30))
    found = coverage_index.search(SIREN)
    assert [(f.firm_name, f.covered_until) for f in found] == [
        ("Beta Médiation Conseil", later(30)),
        ("Cabinet Alpha Médiation", later()),
    ]


def test_an_entry_past_its_date_is_never_shown(firms):
    alpha, _beta = firms
    today = timezone.localdate()
    add(alpha, until=today)
    assert coverage_index.search(SIREN, today=today)
    assert coverage_index.search(SIREN, today=today + datetime.timedelta(days=1)) == []


def test_a_suspended_or_closed_firms_entries_are_not_shown(firms):
    alpha, beta = firms
    add(alpha)
    add(beta)
    Tenant.objects.filter(pk=alpha.pk).update(is_active=False, suspended_at=timezone.now())
    Tenant.objects.filter(pk=beta.pk).update(closed_at=timezone.now())
    assert coverage_index.search(SIREN) == []


def test_drop_inactive_firms_removes_only_their_rows(firms):
    alpha, beta = firms
    add(alpha)
    add(beta)
    Tenant.objects.filter(pk=alpha.pk).update(is_active=False)
    assert coverage_index.drop_inactive_firms() == 1
    assert list(CoveredBusiness.objects.values_list("tenant_id", flat=True)) == [beta.pk]


def test_drop_expired_removes_rows_past_their_date(firms):
    alpha, _beta = firms
    add(alpha, until=timezone.localdate() - datetime.timedelta(days=1))
    add(alpha, siren=OTHER_SIREN)
    assert coverage_index.drop_expired() == 1


def test_search_is_one_query(firms, django_assert_num_queries):
    alpha, beta = firms
    for n in range(5):
        add(alpha, siren=valid_siren(5000 + n), name=f"Boulangerie {n}")
        add(beta, siren=valid_siren(5000 + n), name=f"Boulangerie {n}")
    with django_assert_num_queries(1):
        found = coverage_index.search("boulangerie")
    assert len(found) == 10
    assert all(f.firm_url for f in found)


def test_search_links_the_firms_primary_domain(firms, settings):
    alpha, _beta = firms
    add(alpha)
    settings.SITE_SCHEME, settings.SITE_PORT = "https", ""
    assert coverage_index.search(SIREN)[0].firm_url == "https://alpha.localhost"
    settings.SITE_SCHEME, settings.SITE_PORT = "http", "8000"
    assert coverage_index.search(SIREN)[0].firm_url == "http://alpha.localhost:8000"


def test_a_too_short_query_finds_nothing(firms):
    alpha, _beta = firms
    add(alpha, name="B")
    assert coverage_index.search("b") == []
    assert coverage_index.search("  ") == []


def test_the_name_search_uses_the_trigram_index(firms):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexname = 'covered_business_search_trgm'"
        )
        [(definition,)] = cursor.fetchall()
    assert "gin" in definition and "gin_trgm_ops" in definition


# --- The page ------------------------------------------------------------------------------------------


def test_the_page_finds_a_business_by_name(firms, public_client, settings):
    alpha, _beta = firms
    settings.SITE_SCHEME, settings.SITE_PORT = "https", ""
    add(alpha, name="Boulangerie Étienne", until=datetime.date(2031, 3, 14))
    response = public_client.get(URL, {"q": "boulangerie etienne"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Boulangerie Étienne" in body
    assert f"{SIREN[:3]} {SIREN[3:6]} {SIREN[6:]}" in body
    assert 'href="https://alpha.localhost"' in body
    assert "couvert jusqu&#x27;au 14 mars 2031" in body or "couvert jusqu'au 14 mars 2031" in body


def test_the_page_without_a_query_shows_the_form_only(db, public_client):
    response = public_client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'role="search"' in body and "Aucun résultat" not in body
    assert "https://www.economie.gouv.fr/mediation-conso/mediateurs-references" in body


def test_none_found_points_to_the_official_list(firms, public_client):
    response = public_client.get(URL, {"q": SIREN})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Aucun cabinet de médiation de cette plateforme ne couvre" in body
    assert 'href="https://www.economie.gouv.fr/mediation-conso/mediateurs-references"' in body
    assert "conciliateur de justice" in body


def test_a_siren_with_a_bad_checksum_gets_a_clear_message(db, public_client):
    bad = SIREN[:8] + str((int(SIREN[8]) + 1) % 10)
    response = public_client.get(URL, {"q": bad})
    assert response.status_code == 400
    body = response.content.decode()
    assert "clé de contrôle est fausse" in body
    assert 'aria-invalid="true"' in body


def test_a_siret_searches_its_siren(firms, public_client):
    from stdnum import luhn

    alpha, _beta = firms
    add(alpha)
    base = SIREN + "0001"
    siret = base + luhn.calc_check_digit(base)
    response = public_client.get(URL, {"q": siret})
    assert response.status_code == 200
    assert "Boulangerie Étienne" in response.content.decode()


@pytest.mark.parametrize("query", ["12345", "x", "<script>alert(1)</script>", "1" * 200 + "a"])
def test_bad_input_never_crashes(db, public_client, query):
    response = public_client.get(URL, {"q": query})
    assert response.status_code in (200, 400)
    assert "<script>alert" not in response.content.decode()


def test_a_suspended_firm_is_not_shown_on_the_page(firms, public_client):
    alpha, _beta = firms
    add(alpha)
    Tenant.objects.filter(pk=alpha.pk).update(is_active=False)
    assert "Boulangerie Étienne" not in public_client.get(URL, {"q": SIREN}).content.decode()


def test_a_firm_host_has_no_such_page(db, client_a):
    assert client_a.get(URL, {"q": SIREN}).status_code == 404
