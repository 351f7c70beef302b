from __future__ import annotations

from tests.factories import UserFactory


def test_openapi_schema_describes_the_api(tenant_a, client_a):
    response = client_a.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/me/" in schema["paths"]
    # 414: the HTTP server's answer to an over-long URL (core.openapi).
    assert set(schema["paths"]["/api/v1/me/"]["get"]["responses"]) == {"200", "401", "403", "414", "429"}
    assert schema["components"]["securitySchemes"]["apiToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["apiToken"]["description"],
    }


def test_api_docs_page_is_served_without_external_assets(tenant_a, client_a):
    response = client_a.get("/api/docs/")

    assert response.status_code == 200
    assert "cdn.jsdelivr" not in response.content.decode()


def test_anonymous_api_call_gets_a_json_error_with_a_code(tenant_a, client_a):
    response = client_a.get("/api/v1/me/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == {"code": "not_authenticated", "detail": response.json()["detail"]}


def test_me_returns_the_user_and_the_firm(tenant_a, client_a):
    user = UserFactory(email="julien@example.fr", first_name="Julien", role="mediator")
    client_a.force_login(user)

    body = client_a.get("/api/v1/me/").json()

    assert body["email"] == "julien@example.fr"
    assert body["role"] == "mediator"
    assert body["firm"] == {"name": "Cabinet Alpha Médiation", "schema_name": "alpha"}
