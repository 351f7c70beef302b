"""GET/PATCH /api/v1/firm/: the firm of the host, validated like the settings page, audited."""

from __future__ import annotations

import json

import pytest

from core.models import AuditEntry
from firm.models import FirmProfile
from tests.factories import AdminFactory, UserFactory
from tests.firm.test_validators import OTHER_VAT, SIREN, VAT


def _patch(client, data):
    return client.patch("/api/v1/firm/", json.dumps(data), content_type="application/json")


@pytest.fixture
def admin(tenant_a, client_a):
    user = AdminFactory(email="claire@example.fr")
    client_a.force_login(user)
    return user


def test_any_staff_member_reads_the_profile(tenant_a, client_a):
    client_a.force_login(UserFactory(role="read_only"))

    body = client_a.get("/api/v1/firm/").json()

    assert body["legal_name"] == "Cabinet Alpha Médiation"
    assert body["require_mfa"] is False
    assert body["logo"] is None
    assert "id" not in body


def test_admin_changes_the_profile(admin, client_a, use_tenant):
    response = _patch(client_a, {"siren": "732 829 320", "vat_number": VAT, "city": "Lyon"})

    assert response.status_code == 200
    assert (response.json()["siren"], response.json()["city"]) == (SIREN, "Lyon")
    use_tenant("alpha")
    assert FirmProfile.objects.get().vat_number == VAT
    entry = AuditEntry.objects.get(action="firm.profile_updated")
    assert entry.changes["city"] == ["", "Lyon"]
    assert entry.actor_email == "claire@example.fr"


def test_invalid_identifier_is_a_400_with_a_code_and_a_french_message(admin, client_a):
    response = _patch(client_a, {"siren": "732829321"})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["detail"]["siren"] == [
        "Ce numéro SIREN n'existe pas : sa clé de contrôle est fausse. Vérifiez les 9 chiffres."
    ]


def test_vat_number_must_match_the_siren(admin, client_a, use_tenant):
    response = _patch(client_a, {"siren": SIREN, "vat_number": OTHER_VAT})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "552081317" in response.json()["detail"]["vat_number"][0]
    use_tenant("alpha")
    assert not FirmProfile.objects.exists()


def test_each_firm_reads_its_own_profile(admin, client_a, client_b, use_tenant):
    _patch(client_a, {"city": "Lyon"})
    use_tenant("beta")
    client_b.force_login(UserFactory(role="read_only"))

    body = client_b.get("/api/v1/firm/").json()

    assert body["legal_name"] == "Beta Médiation Conseil"
    assert body["city"] == ""


def test_schema_describes_the_endpoints(tenant_a, client_a):
    schema = client_a.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    assert set(schema["paths"]["/api/v1/firm/"]) >= {"get", "patch"}
    assert set(schema["paths"]["/api/v1/firm/"]["patch"]["responses"]) == {"200", "400", "401", "403", "414", "429"}
    assert "/api/v1/staff/" in schema["paths"]
