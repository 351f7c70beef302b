"""/api/v1/products/: the catalogue with its prices in force, products created and changed, new prices."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing import services
from billing.models import Price, Product
from core.models import AuditEntry
from tests.billing.api.helpers import PRODUCTS, call
from tests.factories import GroupFactory


@pytest.fixture
def catalogue(finance):
    today = timezone.localdate()
    group = GroupFactory(name="Fédération du bâtiment")
    fee = services.save_product(
        by=finance, product=Product(code="frais-dossier", name="Frais de dossier", kind="case_fee")
    )
    services.add_price(by=finance, product=fee, unit_price_cents=4_000, valid_from=today - datetime.timedelta(days=400))
    services.add_price(by=finance, product=fee, unit_price_cents=5_000, valid_from=today - datetime.timedelta(days=10))
    services.add_price(by=finance, product=fee, unit_price_cents=6_000, valid_from=today + datetime.timedelta(days=30))
    services.add_price(
        by=finance, product=fee, unit_price_cents=3_500, valid_from=today - datetime.timedelta(days=5), group=group
    )
    retired = services.save_product(
        by=finance, product=Product(code="ancienne-option", name="Ancienne option", kind="option", is_active=False)
    )
    return {"fee": fee, "retired": retired, "group": group}


def test_the_catalogue_lists_each_products_prices_in_force_today(catalogue, client_a):
    response = client_a.get(PRODUCTS)

    assert response.status_code == 200
    rows = {row["code"]: row for row in response.json()["results"]}
    fee = rows["frais-dossier"]
    assert fee["kind"] == "case_fee" and fee["vat_rate"] == "20.00" and fee["is_active"] is True
    assert [(p["unit_price_cents"], p["group"]) for p in fee["current_prices"]] == [
        (5_000, None),
        (3_500, {"id": catalogue["group"].pk, "name": "Fédération du bâtiment"}),
    ]
    assert rows["ancienne-option"]["current_prices"] == []
    assert [row["code"] for row in client_a.get(PRODUCTS, {"active": "true"}).json()["results"]] == ["frais-dossier"]
    assert [row["code"] for row in client_a.get(PRODUCTS, {"kind": "option"}).json()["results"]] == ["ancienne-option"]
    assert client_a.get(PRODUCTS, {"kind": "service"}).json()["code"] == "invalid_filter"


def test_walking_the_catalogue_pages_gives_every_product_once_by_kind_then_name(finance, client_a):
    for index in range(7):
        product = Product(code=f"p{index}", name=f"Produit {index % 3}", kind=["option", "case_fee"][index % 2])
        services.save_product(by=finance, product=product)
    expected = list(Product.objects.order_by("kind", "name", "pk").values_list("code", flat=True))

    body = client_a.get(PRODUCTS, {"page_size": 3}).json()
    codes = [row["code"] for row in body["results"]]
    while body["next"]:
        body = client_a.get(body["next"]).json()
        codes += [row["code"] for row in body["results"]]

    assert len(expected) == 7 and codes == expected


def test_the_product_detail_has_every_price(catalogue, client_a):
    body = client_a.get(f"{PRODUCTS}{catalogue['fee'].pk}/").json()

    assert sorted(p["unit_price_cents"] for p in body["prices"]) == [3_500, 4_000, 5_000, 6_000]
    future = next(p for p in body["prices"] if p["unit_price_cents"] == 5_000)
    assert future["valid_until"] == (timezone.localdate() + datetime.timedelta(days=29)).isoformat()


def test_a_product_is_created_and_audited(finance, client_a):
    body = {"code": "option-visio", "name": "Option visioconférence", "kind": "option", "vat_rate": "10"}

    response = call(client_a, "post", PRODUCTS, body)

    assert response.status_code == 201, response.content
    assert response.json()["vat_rate"] == "10.00" and response.json()["prices"] == []
    product = Product.objects.get(code="option-visio")
    assert product.name == "Option visioconférence"
    assert AuditEntry.objects.filter(action="billing.product_saved", object_id=str(product.pk)).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Sans code", "kind": "option"}, "code"),
        ({"code": "frais-dossier", "name": "Doublon", "kind": "option"}, "code"),
        ({"code": "pas un slug", "name": "X", "kind": "option"}, "code"),
        ({"code": "x", "name": "X", "kind": "service"}, "kind"),
        ({"code": "x", "name": "X", "kind": "option", "vat_rate": "7"}, "vat_rate"),
        ({"code": "x", "kind": "option"}, "name"),
    ],
)
def test_an_invalid_product_is_a_400(catalogue, client_a, body, field):
    response = call(client_a, "post", PRODUCTS, body)

    assert response.status_code == 400
    assert field in response.json()["detail"]
    assert Product.objects.count() == 2


def test_a_product_is_changed_but_keeps_its_code_and_kind(catalogue, client_a):
    url = f"{PRODUCTS}{catalogue['fee'].pk}/"

    renamed = call(client_a, "patch", url, {"name": "Frais d'ouverture de dossier", "vat_rate": "0"})
    recoded = call(client_a, "patch", url, {"code": "autre-code"})
    rekinded = call(client_a, "patch", url, {"kind": "option"})
    same_code = call(client_a, "patch", url, {"code": "frais-dossier", "is_active": False})

    assert renamed.status_code == 200, renamed.content
    assert renamed.json()["name"] == "Frais d'ouverture de dossier" and renamed.json()["vat_rate"] == "0.00"
    assert recoded.status_code == 400 and "code" in recoded.json()["detail"]
    assert rekinded.status_code == 400 and "kind" in rekinded.json()["detail"]
    assert same_code.status_code == 200 and same_code.json()["is_active"] is False
    product = Product.objects.get(pk=catalogue["fee"].pk)
    assert (product.code, product.kind, product.name) == ("frais-dossier", "case_fee", "Frais d'ouverture de dossier")


def test_a_new_price_closes_the_previous_one(catalogue, finance, client_a):
    product = services.save_product(by=finance, product=Product(code="option-a", name="Option A", kind="option"))
    start = timezone.localdate() - datetime.timedelta(days=100)
    services.add_price(by=finance, product=product, unit_price_cents=1_000, valid_from=start)
    url = f"{PRODUCTS}{product.pk}/prices/"

    response = call(client_a, "post", url, {"unit_price_cents": 1_200, "valid_from": timezone.localdate().isoformat()})
    group_price = call(
        client_a,
        "post",
        url,
        {"unit_price_cents": 900, "valid_from": start.isoformat(), "group": catalogue["group"].pk},
    )

    assert response.status_code == 201, response.content
    assert response.json()["unit_price_cents"] == 1_200 and response.json()["group"] is None
    assert group_price.status_code == 201
    assert group_price.json()["group"]["id"] == catalogue["group"].pk
    old = Price.objects.get(product=product, unit_price_cents=1_000)
    assert old.valid_until == timezone.localdate() - datetime.timedelta(days=1)
    current = client_a.get(f"{PRODUCTS}{product.pk}/").json()["current_prices"]
    assert [p["unit_price_cents"] for p in current] == [1_200, 900]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"unit_price_cents": -1, "valid_from": "2026-01-01"}, "invalid_price", "unit_price_cents"),
        (
            {"unit_price_cents": 100, "valid_from": "2026-01-01", "valid_until": "2025-12-31"},
            "invalid_dates",
            "valid_until",
        ),
        ({"unit_price_cents": 100}, "invalid", "valid_from"),
        ({"unit_price_cents": 100, "valid_from": "2026-01-01", "group": 999_999}, "invalid", "group"),
    ],
)
def test_a_bad_price_is_a_400(catalogue, client_a, body, code, field):
    before = Price.objects.count()

    response = call(client_a, "post", f"{PRODUCTS}{catalogue['fee'].pk}/prices/", body)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert field in response.json()["detail"]
    assert Price.objects.count() == before


def test_an_unknown_product_is_a_404(finance, client_a):
    assert client_a.get(f"{PRODUCTS}424242/").status_code == 404
    assert call(client_a, "patch", f"{PRODUCTS}424242/", {"name": "X"}).status_code == 404
    assert call(client_a, "post", f"{PRODUCTS}424242/prices/", {"unit_price_cents": 1}).status_code == 404


def test_the_catalogue_costs_the_same_queries_however_many_products(catalogue, finance, client_a):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client_a.get(PRODUCTS).status_code == 200
        return len(captured)

    queries()  # the first request of a session loads what later ones reuse
    few = queries()
    for n in range(5):
        product = Product(code=f"option-{n}", name=f"Option {n}", kind="option")
        services.save_product(by=finance, product=product)
        services.add_price(
            by=finance, product=product, unit_price_cents=100, valid_from=timezone.localdate(), group=catalogue["group"]
        )

    assert queries() == few
