"""The SIRENE lookup against a local fake of INSEE's API (wsgiref on 127.0.0.1, in a thread)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from mediation.members import sirene
from tests.factories import UserFactory, valid_siren

KEY = "test-integration-key"
FOUND = "732829320"
NOT_FOUND = valid_siren(1)
SLOW = valid_siren(2)
MALFORMED = valid_siren(3)
NO_HEAD_OFFICE = valid_siren(4)

UNIT = {
    "siren": FOUND,
    "trancheEffectifsUniteLegale": "11",
    "etatAdministratifUniteLegale": "A",
    "periodesUniteLegale": [
        {
            "dateFin": None,
            "dateDebut": "2020-01-01",
            "denominationUniteLegale": "BOULANGERIE DU MARCHE",
            "denominationUsuelle1UniteLegale": "AU BON PAIN",
            "activitePrincipaleUniteLegale": "10.71C",
            "categorieJuridiqueUniteLegale": "5710",
            "nicSiegeUniteLegale": "00074",
            "economieSocialeSolidaireUniteLegale": "O",
        },
        {"dateFin": "2019-12-31", "denominationUniteLegale": "ANCIEN NOM", "nicSiegeUniteLegale": "00066"},
    ],
}
HEAD_OFFICE = {
    "etablissement": {
        "siret": f"{FOUND}00074",
        "adresseEtablissement": {
            "numeroVoieEtablissement": "12",
            "indiceRepetitionEtablissement": "B",
            "typeVoieEtablissement": "AV",
            "libelleVoieEtablissement": "JEAN JAURES",
            "complementAdresseEtablissement": "BATIMENT A",
            "codePostalEtablissement": "69007",
            "libelleCommuneEtablissement": "LYON 7E ARRONDISSEMENT",
        },
    }
}


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def fake_insee(requests: list[tuple[str, str]]) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"]
        requests.append((path, environ.get("HTTP_X_INSEE_API_KEY_INTEGRATION", "")))

        def reply(status: str, body: Any) -> list[bytes]:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            start_response(status, [("Content-Type", "application/json")])
            return [payload]

        if environ.get("HTTP_X_INSEE_API_KEY_INTEGRATION") != KEY:
            return reply("401 Unauthorized", {"message": "Invalid key"})
        if path == f"/siren/{FOUND}":
            return reply("200 OK", {"header": {"statut": 200, "message": "OK"}, "uniteLegale": UNIT})
        if path == f"/siret/{FOUND}00074":
            return reply("200 OK", {"header": {"statut": 200, "message": "OK"}, **HEAD_OFFICE})
        if path == f"/siren/{SLOW}":
            time.sleep(1.5)
            return reply("200 OK", {"uniteLegale": UNIT})
        if path == f"/siren/{MALFORMED}":
            return reply("200 OK", b'{"uniteLegale": {"siren": ')
        if path == f"/siren/{NO_HEAD_OFFICE}":
            unit = {**UNIT, "siren": NO_HEAD_OFFICE}
            return reply("200 OK", {"uniteLegale": unit})
        if path.startswith(f"/siret/{NO_HEAD_OFFICE}"):
            return reply("500 Internal Server Error", {"message": "boom"})
        return reply("404 Not Found", {"header": {"statut": 404, "message": "Aucun élément trouvé"}})

    return app


@pytest.fixture(scope="module")
def insee() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    requests: list[tuple[str, str]] = []
    server = make_server("127.0.0.1", 0, fake_insee(requests), server_class=_Server, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", requests
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def api(settings: Any, insee: tuple[str, list[tuple[str, str]]]) -> list[tuple[str, str]]:
    url, requests = insee
    settings.SIRENE_API_URL = url + "/"
    settings.SIRENE_API_KEY = KEY
    settings.SIRENE_TIMEOUT = 0.5
    requests.clear()
    return requests


def test_found_gives_the_current_period_and_the_head_office_address(api):
    info = sirene.lookup("732 829 320")

    assert info == sirene.CompanyInfo(
        siren=FOUND,
        legal_name="BOULANGERIE DU MARCHE",
        trade_name="AU BON PAIN",
        siret=f"{FOUND}00074",
        naf_code="10.71C",
        legal_form="SAS",
        address_line1="12 B Avenue JEAN JAURES",
        address_line2="BATIMENT A",
        postcode="69007",
        city="LYON 7E ARRONDISSEMENT",
        headcount_band="10_49",
        is_ess=True,
        is_active=True,
    )
    assert api == [(f"/siren/{FOUND}", KEY), (f"/siret/{FOUND}00074", KEY)]


def test_unknown_siren_gives_none(api, caplog):
    assert sirene.lookup(NOT_FOUND) is None
    assert "not found" in caplog.text


def test_timeout_gives_none_with_a_log_line(api, caplog):
    started = time.monotonic()

    assert sirene.lookup(SLOW) is None

    assert time.monotonic() - started < 1.4
    assert "lookup of" in caplog.text and SLOW in caplog.text


def test_malformed_json_gives_none(api, caplog):
    assert sirene.lookup(MALFORMED) is None
    assert "malformed JSON" in caplog.text


def test_a_failing_head_office_call_still_gives_the_legal_unit(api):
    info = sirene.lookup(NO_HEAD_OFFICE)

    assert info is not None and info.legal_name == "BOULANGERIE DU MARCHE"
    assert (info.address_line1, info.city) == ("", "")


def test_a_wrong_key_gives_none(api, settings):
    settings.SIRENE_API_KEY = "wrong"

    assert sirene.lookup(FOUND) is None


def test_an_unreachable_server_gives_none(settings):
    from benchmarks.harness import free_port

    settings.SIRENE_API_URL = f"http://127.0.0.1:{free_port()}"
    settings.SIRENE_API_KEY = KEY

    assert sirene.lookup(FOUND) is None


def test_off_without_settings_and_no_call_for_a_bad_siren(api, settings):
    assert sirene.lookup("732829321") is None  # bad checksum: no request
    settings.SIRENE_API_KEY = ""
    assert not sirene.is_enabled()
    assert sirene.lookup(FOUND) is None
    assert api == []


# --- The staff endpoint ------------------------------------------------------------


@pytest.fixture
def officer_client(tenant_a, client_a):
    client_a.force_login(UserFactory(role="case_officer"))
    return client_a


def test_endpoint_returns_the_fields_and_the_vat_number(api, officer_client):
    response = officer_client.get(f"/staff/adherents/import/sirene/{FOUND}/")

    assert response.status_code == 200
    data = response.json()
    assert data["code"] == "found"
    assert data["fields"]["legal_name"] == "BOULANGERIE DU MARCHE"
    assert data["fields"]["vat_number"] == "FR44732829320"
    assert data["fields"]["postcode"] == "69007"


@pytest.mark.parametrize(("siren", "status", "code"), [(NOT_FOUND, 404, "not_found"), (SLOW, 404, "not_found")])
def test_endpoint_never_fails_when_the_register_does(api, officer_client, siren, status, code):
    response = officer_client.get(f"/staff/adherents/import/sirene/{siren}/")

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert "à la main" in response.json()["message"]


def test_endpoint_refuses_a_bad_siren_without_calling(api, officer_client):
    response = officer_client.get("/staff/adherents/import/sirene/12345/")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_siren"
    assert api == []


def test_endpoint_says_when_the_feature_is_off(settings, officer_client):
    settings.SIRENE_API_URL = ""

    response = officer_client.get(f"/staff/adherents/import/sirene/{FOUND}/")

    assert (response.status_code, response.json()["code"]) == (404, "disabled")


def test_endpoint_needs_members_edit(api, tenant_a, client_a):
    client_a.force_login(UserFactory(role="mediator"))

    assert client_a.get(f"/staff/adherents/import/sirene/{FOUND}/").status_code == 403
    assert api == []


def test_the_form_button_is_shown_only_when_the_feature_is_on(api, settings, tenant_a):
    from django.template.loader import render_to_string

    html = render_to_string("members/import/_sirene_button.html", {"sirene_enabled": sirene.is_enabled()})
    assert "Remplir depuis le répertoire SIRENE" in html and "sirene.js" in html
    settings.SIRENE_API_URL = ""
    assert render_to_string("members/import/_sirene_button.html", {"sirene_enabled": sirene.is_enabled()}).strip() == ""
