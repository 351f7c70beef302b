"""Who may use the billing API (roles), firms kept apart (another firm's ids are 404), and the OpenAPI schema."""

from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from billing import services
from billing.models import Invoice, Payment, Product
from tests.billing.api.helpers import INVOICES, PAYMENTS, PRODUCTS, call, invoice_url
from tests.billing.helpers import LINE, issued_invoice
from tests.factories import UserFactory

pytestmark = pytest.mark.usefixtures("media_root")


@pytest.fixture
def alpha(finance, member):
    """An issued invoice (one payment), a draft and a product of firm alpha."""
    invoice = issued_invoice(by=finance, member=member)
    services.record_payment(by=finance, invoice=invoice, amount_cents=1_000, method="cheque")
    draft = services.create_draft(by=finance, member=member, lines=[LINE])
    product = services.save_product(by=finance, product=Product(code="option-a", name="Option A", kind="option"))
    return {"invoice": invoice, "draft": draft, "product": product, "member": member}


def _reads(ids: dict[str, Any]) -> list[str]:
    invoice, product = ids["invoice"].pk, ids["product"].pk
    return [
        INVOICES,
        invoice_url(invoice),
        invoice_url(invoice, "pdf"),
        invoice_url(invoice, "payments"),
        invoice_url(invoice, "credit-notes"),
        PAYMENTS,
        PRODUCTS,
        f"{PRODUCTS}{product}/",
    ]


def _writes(ids: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    invoice, draft, product = ids["invoice"].pk, ids["draft"].pk, ids["product"].pk
    return [
        ("post", INVOICES, {"member": ids["member"].pk, "lines": [LINE]}),
        ("patch", invoice_url(draft), {"notes": "Modifiée"}),
        ("delete", invoice_url(draft), {}),
        ("post", invoice_url(draft, "issue"), {"send": False}),
        ("post", invoice_url(invoice, "payments"), {"amount_cents": 100, "method": "cheque"}),
        ("post", invoice_url(invoice, "credit-notes"), {"reason": "Erreur"}),
        ("post", PRODUCTS, {"code": "option-b", "name": "Option B", "kind": "option"}),
        ("patch", f"{PRODUCTS}{product}/", {"name": "Renommée"}),
        ("post", f"{PRODUCTS}{product}/prices/", {"unit_price_cents": 100, "valid_from": "2026-01-01"}),
    ]


def _unchanged(ids: dict[str, Any]) -> None:
    assert Invoice.objects.count() == 2
    assert Invoice.objects.get(pk=ids["draft"].pk).status == "draft"
    assert Invoice.objects.get(pk=ids["draft"].pk).notes == ""
    assert Payment.objects.count() == 1
    assert list(Product.objects.values_list("name", flat=True)) == ["Option A"]
    assert not ids["product"].prices.exists()


@pytest.mark.parametrize("role", ["mediator", "case_officer", "member"])
def test_roles_without_billing_get_a_403_everywhere(alpha, client_a, role):
    client_a.force_login(UserFactory(role=role))

    for url in _reads(alpha):
        response = client_a.get(url)
        assert response.status_code == 403, url
        assert response.json()["code"] == "permission_denied"
    for method, url, body in _writes(alpha):
        response = call(client_a, method, url, body)
        assert response.status_code == 403, (method, url)
        assert response.json()["code"] == "permission_denied"
    _unchanged(alpha)


def test_read_only_reads_everything_and_writes_nothing(alpha, client_a):
    client_a.force_login(UserFactory(role="read_only"))

    for url in _reads(alpha):
        assert client_a.get(url).status_code == 200, url
    assert client_a.get(invoice_url(alpha["invoice"].pk)).json()["allowed_actions"] == []
    for method, url, body in _writes(alpha):
        response = call(client_a, method, url, body)
        assert response.status_code == 403, (method, url)
        assert response.json()["code"] == "permission_denied"
    _unchanged(alpha)


def test_anonymous_callers_get_a_401_not_authenticated(alpha, client_a):
    client_a.logout()

    for url in _reads(alpha):
        response = client_a.get(url)
        assert response.status_code == 401, url
        assert response.json()["code"] == "not_authenticated"
    for method, url, body in _writes(alpha):
        assert call(client_a, method, url, body).status_code == 401, (method, url)
    _unchanged(alpha)


def test_admin_may_write(alpha, client_a):
    client_a.force_login(UserFactory(role="admin"))

    response = call(client_a, "post", INVOICES, {"member": alpha["member"].pk, "lines": [LINE]})

    assert response.status_code == 201


# --- Tenant isolation ------------------------------------------------------------------------------------


def test_another_firms_user_reaches_none_of_this_firms_billing(alpha, client_b, use_tenant):
    use_tenant("beta")
    client_b.force_login(UserFactory(role="admin"))

    for url in _reads(alpha):
        response = client_b.get(url)
        if url in (INVOICES, PAYMENTS, PRODUCTS):
            assert response.status_code == 200, url
            assert response.json()["results"] == [] and response.json()["next"] is None, url
        else:
            assert response.status_code == 404, url
    for method, url, body in _writes(alpha):
        if url == PRODUCTS:  # would only add a product to beta's own catalogue
            continue
        response = call(client_b, method, url, body)
        if url == INVOICES:  # alpha's member is not one of beta's
            assert response.status_code == 400 and "member" in response.json()["detail"]
        else:
            assert response.status_code == 404, (method, url)
    assert not Invoice.objects.exists() and not Product.objects.exists()  # beta's schema
    use_tenant("alpha")
    _unchanged(alpha)


def test_a_session_opened_on_this_firm_is_worth_nothing_on_another(alpha, client_a, client_b):
    assert client_a.get(INVOICES).status_code == 200
    client_b.cookies["sessionid"] = client_a.cookies["sessionid"].value  # alpha's finance session, on beta's host

    response = client_b.get(INVOICES)
    detail = client_b.get(invoice_url(alpha["invoice"].pk))

    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    assert detail.status_code == 401


# --- Schema ------------------------------------------------------------------------------------------


def test_the_schema_documents_every_billing_endpoint_with_its_errors(finance, client_a):
    schema = client_a.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]

    expected = {
        ("/api/v1/invoices/", "get"): {"200", "400", "403"},
        ("/api/v1/invoices/", "post"): {"201", "400", "403"},
        ("/api/v1/invoices/{id}/", "get"): {"200", "403", "404"},
        ("/api/v1/invoices/{id}/", "patch"): {"200", "400", "403", "404", "409"},
        ("/api/v1/invoices/{id}/", "delete"): {"204", "403", "404", "409"},
        ("/api/v1/invoices/{id}/pdf/", "get"): {"200", "403", "404", "409"},
        ("/api/v1/invoices/{id}/issue/", "post"): {"200", "400", "403", "404", "409"},
        ("/api/v1/invoices/{id}/payments/", "get"): {"200", "403", "404"},
        ("/api/v1/invoices/{id}/payments/", "post"): {"201", "400", "403", "404", "409"},
        ("/api/v1/invoices/{id}/credit-notes/", "get"): {"200", "403", "404"},
        ("/api/v1/invoices/{id}/credit-notes/", "post"): {"201", "400", "403", "404", "409"},
        ("/api/v1/payments/", "get"): {"200", "400", "403"},
        ("/api/v1/products/", "get"): {"200", "400", "403"},
        ("/api/v1/products/", "post"): {"201", "400", "403"},
        ("/api/v1/products/{id}/", "get"): {"200", "403", "404"},
        ("/api/v1/products/{id}/", "patch"): {"200", "400", "403", "404"},
        ("/api/v1/products/{id}/prices/", "post"): {"201", "400", "403", "404"},
    }
    for (path, method), codes in expected.items():
        # 401, 414 and 429 can answer every call; POSTs also take an Idempotency-Key (400, 409, 422): core.openapi.
        shared = {"401", "414", "429"} | ({"400", "409", "422"} if method == "post" else set())
        assert set(paths[path][method]["responses"]) == codes | shared, (path, method)
    assert "application/pdf" in paths["/api/v1/invoices/{id}/pdf/"]["get"]["responses"]["200"]["content"]
    filters = {p["name"] for p in paths["/api/v1/invoices/"]["get"]["parameters"]}
    pages = {"ordering", "cursor", "page_size"}
    assert {"kind", "status", "overdue", "member", "issued_from", "issued_to", "search"} | pages <= filters
    assert "page" not in filters
    for path in ("/api/v1/invoices/", "/api/v1/payments/", "/api/v1/products/"):
        page = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert set(schema["components"]["schemas"][page.rsplit("/", 1)[1]]["properties"]) == {
            "next",
            "previous",
            "results",
        }, path
    body = schema["components"]["schemas"]["InvoiceInput"]
    assert body["properties"]["lines"]["items"] == {"$ref": "#/components/schemas/LineInput"}


def test_the_schema_is_generated_without_a_warning(tenant_a):
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        SchemaGenerator().get_schema(request=None, public=True)

    assert not GENERATOR_STATS._warn_cache and not GENERATOR_STATS._error_cache
