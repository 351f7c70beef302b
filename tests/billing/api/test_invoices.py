"""/api/v1/invoices/: drafts (create, change, delete), issuing, the PDF, the list's filters and the detail."""

from __future__ import annotations

import base64
import datetime
from typing import Any

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing import services
from billing.api.filters import INVOICE_ORDERINGS
from billing.models import Invoice, InvoiceLine, Product
from core.models import AuditEntry
from firm.models import FirmProfile
from tests.billing.api.helpers import INVOICES, call, invoice_url
from tests.billing.helpers import LINE, billable_member, issued_invoice
from tests.factories import GroupFactory

pytestmark = pytest.mark.usefixtures("media_root")

TWO_RATES = [
    {"label": "Adhésion annuelle", "quantity": "1", "unit_price_cents": 30_000, "vat_rate": "20.00"},
    {"label": "Frais de dossier", "quantity": "1.5", "unit_price_cents": 4_999, "vat_rate": "5.5"},
]


def _draft(client: Any, member: Any, lines: list[dict[str, Any]] | None = None, **fields: Any) -> Any:
    return call(client, "post", INVOICES, {"member": member.pk, "lines": lines or [LINE], **fields})


# --- Drafts -----------------------------------------------------------------------------------------------


def test_a_draft_is_created_with_its_totals_in_cents_per_vat_rate(finance, member, client_a):
    response = _draft(client_a, member, TWO_RATES, period_start="2026-01-01", period_end="2026-12-31", notes="Bon 42")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft" and body["kind"] == "invoice" and body["number"] is None
    # 1.5 × 49.99 = 74.985 → 74.99; VAT 5.5 % of 74.99 = 4.12445 → 4.12; 20 % of 300 = 60.
    assert (body["net_cents"], body["vat_cents"], body["gross_cents"]) == (37_499, 6_412, 43_911)
    assert all(isinstance(body[key], int) for key in ("net_cents", "vat_cents", "gross_cents", "balance_cents"))
    assert body["vat_breakdown"] == [
        {"rate": "20.00", "base_cents": 30_000, "vat_cents": 6_000},
        {"rate": "5.50", "base_cents": 7_499, "vat_cents": 412},
    ]
    assert [(line["label"], line["quantity"], line["net_cents"]) for line in body["lines"]] == [
        ("Adhésion annuelle", "1.00", 30_000),
        ("Frais de dossier", "1.50", 7_499),
    ]
    assert body["member"]["legal_name"] == "Boulangerie du Marché SARL"
    assert (body["period_start"], body["period_end"], body["notes"]) == ("2026-01-01", "2026-12-31", "Bon 42")
    assert body["links"]["pdf"] is None
    assert body["allowed_actions"] == ["update", "delete", "issue"]
    assert AuditEntry.objects.filter(action="billing.draft_created", object_id=str(body["id"])).count() == 1


def test_a_catalogue_product_gives_its_label_vat_rate_and_the_members_group_price(finance, client_a):
    group = GroupFactory(name="Fédération de la boulangerie")
    member = billable_member(group=group)
    product = services.save_product(
        by=finance,
        product=Product(code="option-visio", name="Option visioconférence", kind="option", vat_rate="10.00"),
    )
    today = timezone.localdate()
    services.add_price(by=finance, product=product, unit_price_cents=12_000, valid_from=today.replace(day=1))
    services.add_price(
        by=finance, product=product, unit_price_cents=9_000, valid_from=today.replace(day=1), group=group
    )
    other = billable_member()

    grouped = _draft(client_a, member, [{"product": product.pk}]).json()
    listed = _draft(client_a, other, [{"product": product.pk, "quantity": "2"}]).json()
    typed = _draft(client_a, other, [{"product": product.pk, "unit_price_cents": 500, "label": "Remise"}]).json()

    assert [(line["label"], line["unit_price_cents"], line["vat_rate"]) for line in grouped["lines"]] == [
        ("Option visioconférence", 9_000, "10.00")
    ]
    assert listed["gross_cents"] == 26_400  # 2 × 120 € + 10 % VAT
    assert [(line["label"], line["unit_price_cents"]) for line in typed["lines"]] == [("Remise", 500)]


def test_a_product_without_a_price_in_force_needs_one_typed(finance, member, client_a):
    product = services.save_product(by=finance, product=Product(code="conseil", name="Conseil", kind="option"))

    response = _draft(client_a, member, [LINE, {"product": product.pk}])

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["detail"]["lines"][0] == {}
    assert "unit_price_cents" in response.json()["detail"]["lines"][1]
    assert not Invoice.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lines": [LINE]}, "member"),
        ({"member": 999_999, "lines": [LINE]}, "member"),
        ({"lines": []}, "lines"),
        ({"lines": "une ligne"}, "lines"),
        ({"lines": [{**LINE, "vat_rate": "7"}]}, "lines"),
        ({"lines": [{**LINE, "quantity": "1.234"}]}, "lines"),
        ({"lines": [{"quantity": 1, "unit_price_cents": 100}]}, "lines"),
        ({"lines": [{"label": "Sans prix"}]}, "lines"),
        ({"lines": [{**LINE, "unit_price_cents": 12.5}]}, "lines"),
        ({"lines": [LINE], "period_start": "demain"}, "period_start"),
    ],
)
def test_invalid_input_is_a_400_naming_the_field(finance, member, client_a, body, field):
    body = {"member": member.pk, **body} if "member" not in body and field != "member" else body

    response = call(client_a, "post", INVOICES, body)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["detail"]
    assert not Invoice.objects.exists()


@pytest.mark.parametrize(
    ("lines", "extra", "code", "field"),
    [
        ([{**LINE, "unit_price_cents": -50_000}], {}, "negative_total", None),
        ([{**LINE, "quantity": "0"}], {}, "invalid_lines", None),
        ([LINE], {"period_start": "2026-12-31", "period_end": "2026-01-01"}, "invalid_dates", "period_end"),
    ],
)
def test_what_the_service_refuses_keeps_its_code(finance, member, client_a, lines, extra, code, field):
    response = _draft(client_a, member, lines, **extra)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code
    if field:
        assert list(body["detail"]) == [field] and isinstance(body["detail"][field][0], str)
    else:
        assert isinstance(body["detail"], str) and body["detail"]


def test_a_patch_changes_what_is_sent_and_keeps_the_rest(finance, member, client_a):
    draft = _draft(client_a, member, TWO_RATES, notes="Avant").json()

    notes_only = call(client_a, "patch", invoice_url(draft["id"]), {"notes": "Après"})
    new_lines = call(client_a, "patch", invoice_url(draft["id"]), {"lines": [LINE], "period_end": None})

    assert notes_only.status_code == 200, notes_only.content
    assert notes_only.json()["notes"] == "Après"
    assert notes_only.json()["gross_cents"] == draft["gross_cents"]
    assert len(notes_only.json()["lines"]) == 2
    assert new_lines.status_code == 200
    assert [line["label"] for line in new_lines.json()["lines"]] == [LINE["label"]]
    assert new_lines.json()["gross_cents"] == 36_000
    assert new_lines.json()["notes"] == "Après"
    assert AuditEntry.objects.filter(action="billing.draft_updated", object_id=str(draft["id"])).count() == 2


def test_a_draft_does_not_move_to_another_member(finance, member, client_a):
    draft = _draft(client_a, member).json()

    response = call(client_a, "patch", invoice_url(draft["id"]), {"member": billable_member().pk, "notes": "x"})

    assert response.status_code == 400
    assert "member" in response.json()["detail"]
    assert Invoice.objects.get(pk=draft["id"]).member_id == member.pk


def test_a_bad_patch_changes_nothing(finance, member, client_a):
    draft = _draft(client_a, member).json()

    response = call(client_a, "patch", invoice_url(draft["id"]), {"lines": [{**LINE, "unit_price_cents": -99_999}]})

    assert response.status_code == 400
    assert response.json()["code"] == "negative_total"
    assert Invoice.objects.get(pk=draft["id"]).gross_cents == 36_000
    assert InvoiceLine.objects.filter(invoice_id=draft["id"]).count() == 1


def test_a_draft_is_deleted(finance, member, client_a):
    draft = _draft(client_a, member).json()

    response = call(client_a, "delete", invoice_url(draft["id"]))

    assert response.status_code == 204
    assert not Invoice.objects.filter(pk=draft["id"]).exists()
    assert client_a.get(invoice_url(draft["id"])).status_code == 404
    assert AuditEntry.objects.filter(action="billing.draft_deleted", object_id=str(draft["id"])).exists()


# --- An issued invoice never changes --------------------------------------------------------------------


def test_an_issued_invoice_cannot_be_changed_or_deleted_through_the_api(finance, member, client_a):
    invoice = issued_invoice(by=finance, member=member)
    before = client_a.get(invoice_url(invoice.pk)).json()

    patch = call(client_a, "patch", invoice_url(invoice.pk), {"notes": "Corrigée", "lines": [{**LINE, "quantity": 2}]})
    bad_patch = call(client_a, "patch", invoice_url(invoice.pk), {"lines": "n'importe quoi"})
    put = call(client_a, "put", invoice_url(invoice.pk), {"notes": "Corrigée"})
    delete = call(client_a, "delete", invoice_url(invoice.pk))
    issue = call(client_a, "post", invoice_url(invoice.pk, "issue"))

    for response in (patch, bad_patch, delete, issue):
        assert response.status_code == 409, response.content
        assert response.json()["code"] == "not_draft"
    assert put.status_code == 405
    assert client_a.get(invoice_url(invoice.pk)).json() == before
    stored = Invoice.objects.get(pk=invoice.pk)
    assert (stored.number, stored.gross_cents, stored.notes) == (invoice.number, 36_000, "")


# --- Issuing and the PDF ------------------------------------------------------------------------------------


def test_issuing_numbers_freezes_and_stores_the_pdf(finance, firm, member, client_a):
    draft = _draft(client_a, member).json()

    response = call(client_a, "post", invoice_url(draft["id"], "issue"), {"send": False})

    assert response.status_code == 200, response.content
    body = response.json()
    year = timezone.localdate().year
    assert body["number"] == f"FA-{year}-000001"
    assert body["status"] == "issued"
    assert body["issue_date"] == timezone.localdate().isoformat()
    assert body["due_date"] == (timezone.localdate() + datetime.timedelta(days=30)).isoformat()
    assert body["seller"]["siren"] == "732829320" and body["buyer"]["siren"] == member.siren
    assert body["mentions"]["recovery_indemnity_cents"] == 4000
    assert body["balance_cents"] == 36_000
    assert body["allowed_actions"] == ["record-payment", "credit"]
    assert body["links"]["pdf"] == f"http://alpha.localhost{invoice_url(draft['id'], 'pdf')}"
    assert len(body["pdf_sha256"]) == 64

    pdf = client_a.get(invoice_url(draft["id"], "pdf"))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert f'filename="FA-{year}-000001.pdf"' in pdf["Content-Disposition"]
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")


def test_issuing_sends_the_invoice_unless_told_not_to(
    finance, firm, member, client_a, eager_celery, mailoutbox, django_capture_on_commit_callbacks
):
    quiet = _draft(client_a, member).json()
    sent = _draft(client_a, member).json()

    with django_capture_on_commit_callbacks(execute=True):
        call(client_a, "post", invoice_url(quiet["id"], "issue"), {"send": False})
    with django_capture_on_commit_callbacks(execute=True):
        call(client_a, "post", invoice_url(sent["id"], "issue"))

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [f"compta-{member.siren}@entreprise.fr"]
    assert Invoice.objects.get(pk=sent["id"]).number in mailoutbox[0].subject


def test_the_pdf_is_served_to_a_client_that_asks_for_pdf_and_errors_stay_json(finance, member, client_a):
    invoice = issued_invoice(by=finance, member=member)
    draft = _draft(client_a, member).json()

    pdf = client_a.get(invoice_url(invoice.pk, "pdf"), HTTP_ACCEPT="application/pdf")
    no_pdf = client_a.get(invoice_url(draft["id"], "pdf"), HTTP_ACCEPT="application/pdf")
    missing = client_a.get(invoice_url(draft["id"] + 1000, "pdf"), HTTP_ACCEPT="application/pdf")

    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert no_pdf.status_code == 409
    assert no_pdf["Content-Type"] == "application/json"
    assert no_pdf.json()["code"] == "not_issued"
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_issuing_needs_the_firms_identity(finance, member, client_a):
    FirmProfile.objects.filter(pk=FirmProfile.SINGLETON_PK).update(siren="")
    draft = _draft(client_a, member).json()

    response = call(client_a, "post", invoice_url(draft["id"], "issue"))

    assert response.status_code == 409
    assert response.json()["code"] == "seller_incomplete"
    assert Invoice.objects.get(pk=draft["id"]).status == "draft"


def test_issuing_needs_the_members_address(finance, firm, client_a):
    member = billable_member(address_line1="")
    draft = _draft(client_a, member).json()

    response = call(client_a, "post", invoice_url(draft["id"], "issue"))

    assert response.status_code == 409
    assert response.json()["code"] == "buyer_incomplete"


def test_a_bad_issue_body_is_a_400(finance, firm, member, client_a):
    draft = _draft(client_a, member).json()

    response = call(client_a, "post", invoice_url(draft["id"], "issue"), {"send": "peut-être"})

    assert response.status_code == 400
    assert "send" in response.json()["detail"]
    assert Invoice.objects.get(pk=draft["id"]).status == "draft"


# --- List and detail ------------------------------------------------------------------------------------------


@pytest.fixture
def ledger(finance, member):
    """A draft, a paid invoice, an overdue one, a credited one with its credit note, another member's invoice."""
    other = billable_member(legal_name="Garage Central SAS")
    draft = services.create_draft(by=finance, member=member, lines=[LINE])
    paid = issued_invoice(by=finance, member=member)
    services.record_payment(by=finance, invoice=paid, amount_cents=36_000, method="transfer")
    overdue = issued_invoice(by=finance, member=member, lines=[{**LINE, "unit_price_cents": 10_000}])
    Invoice.objects.filter(pk=overdue.pk).update(due_date=timezone.localdate() - datetime.timedelta(days=3))
    credited = issued_invoice(by=finance, member=other, lines=[{**LINE, "unit_price_cents": 50_000}])
    note = services.create_credit_note(by=finance, invoice=credited, reason="Erreur de tarif")
    return {"draft": draft, "paid": paid, "overdue": overdue, "credited": credited, "note": note, "other": other}


def _ids(client: Any, **params: Any) -> set[int]:
    response = client.get(INVOICES, params)
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_the_list_filters_by_kind_status_overdue_member_dates_and_number(ledger, member, client_a):
    ids = {name: invoice.pk for name, invoice in ledger.items() if isinstance(invoice, Invoice)}
    today = timezone.localdate()

    assert _ids(client_a) == set(ids.values())
    assert _ids(client_a, kind="credit_note") == {ids["note"]}
    assert _ids(client_a, status=["draft", "paid"]) == {ids["draft"], ids["paid"]}
    assert _ids(client_a, overdue="true") == {ids["overdue"]}
    assert ids["overdue"] not in _ids(client_a, overdue="false")
    assert _ids(client_a, member=member.pk) == {ids["draft"], ids["paid"], ids["overdue"]}
    assert _ids(client_a, issued_from=today.isoformat(), issued_to=today.isoformat()) == set(ids.values()) - {
        ids["draft"]
    }
    assert _ids(client_a, issued_to=(today - datetime.timedelta(days=1)).isoformat()) == set()
    assert _ids(client_a, search=ledger["credited"].number) == {ids["credited"]}
    assert _ids(client_a, search="-AV-") == {ids["note"]}
    assert _ids(client_a, search="garage central") == {ids["credited"], ids["note"]}


def test_list_rows_carry_the_amounts_in_cents_and_the_overdue_flag(ledger, client_a):
    rows = {row["id"]: row for row in client_a.get(INVOICES).json()["results"]}

    overdue = rows[ledger["overdue"].pk]
    assert overdue["overdue"] is True
    assert (overdue["gross_cents"], overdue["balance_cents"], overdue["currency"]) == (12_000, 12_000, "EUR")
    assert rows[ledger["paid"].pk]["overdue"] is False
    assert rows[ledger["paid"].pk]["paid_cents"] == 36_000 and rows[ledger["paid"].pk]["balance_cents"] == 0
    assert rows[ledger["note"].pk]["credited_invoice_id"] == ledger["credited"].pk
    assert rows[ledger["credited"].pk]["status"] == "credited"


def test_the_list_is_ordered_and_paginated(ledger, client_a):
    by_gross = client_a.get(INVOICES, {"ordering": "-gross_cents"}).json()["results"]
    by_number = [row["number"] for row in client_a.get(INVOICES, {"ordering": "number"}).json()["results"]]
    first = client_a.get(INVOICES, {"page_size": 2}).json()
    second = client_a.get(first["next"]).json()
    third = client_a.get(second["next"]).json()

    assert [row["gross_cents"] for row in by_gross] == sorted((row["gross_cents"] for row in by_gross), reverse=True)
    assert by_number[-1] is None  # the draft, unnumbered, last
    assert by_number[:-1] == sorted(by_number[:-1])
    assert client_a.get(INVOICES).json()["results"][0]["id"] == ledger["draft"].pk  # default: drafts, then newest
    assert set(first) == {"next", "previous", "results"} and first["previous"] is None
    assert len(first["results"]) == 2 and first["next"].startswith("http://") and "page_size=2" in first["next"]
    assert len(third["results"]) == 1 and third["next"] is None and third["previous"]


# The documented meaning of each `ordering` (NULLS FIRST/LAST as the API promises), as an oracle.
DOCUMENTED_ORDERINGS: dict[str, tuple[Any, ...]] = {
    "-issue_date": (F("issue_date").desc(nulls_first=True), F("issued_at").desc(nulls_first=True), "-pk"),
    "issue_date": (F("issue_date").asc(nulls_last=True), F("issued_at").asc(nulls_last=True), "-pk"),
    "due_date": (F("due_date").asc(nulls_last=True), "-pk"),
    "-due_date": (F("due_date").desc(nulls_last=True), "-pk"),
    "number": (F("number").asc(nulls_last=True), "-pk"),
    "-number": (F("number").desc(nulls_last=True), "-pk"),
    "gross_cents": ("gross_cents", "-pk"),
    "-gross_cents": ("-gross_cents", "-pk"),
    "balance_cents": (F("gross_cents") - F("paid_cents") - F("credited_cents"), "-pk"),
    "-balance_cents": ((F("gross_cents") - F("paid_cents") - F("credited_cents")).desc(), "-pk"),
    "member": ("member__legal_name", "-pk"),
}


def _walk(client: Any, url: str, params: dict[str, Any], link: str = "next") -> tuple[list[int], Any]:
    """The ids of every row met following `link` from the first answer, and the last answer."""
    body = client.get(url, params).json()
    ids = [row["id"] for row in body["results"]]
    while body[link] is not None:
        body = client.get(body[link]).json()
        ids += [row["id"] for row in body["results"]]
    return ids, body


@pytest.fixture
def many_invoices(ledger, finance, member):
    """The ledger plus two more drafts and three more invoices of the same amount, issued the same day."""
    services.create_draft(by=finance, member=member, lines=[LINE])
    services.create_draft(by=finance, member=member, lines=[LINE])
    for _ in range(3):
        issued_invoice(by=finance, member=member)
    return ledger


def test_the_oracle_covers_every_ordering_the_api_offers():
    assert set(DOCUMENTED_ORDERINGS) == set(INVOICE_ORDERINGS)


@pytest.mark.parametrize("ordering", list(INVOICE_ORDERINGS))
def test_walking_the_pages_gives_every_invoice_once_in_order_both_ways(many_invoices, client_a, ordering):
    expected = list(Invoice.objects.order_by(*DOCUMENTED_ORDERINGS[ordering]).values_list("pk", flat=True))

    forward, last = _walk(client_a, INVOICES, {"ordering": ordering, "page_size": 2})
    backward, first = _walk(client_a, last["previous"], {}, link="previous")

    assert len(expected) == 10
    assert forward == expected
    # From the last page back to the first: every other page in reverse order, each page in list order.
    pages = [expected[index : index + 2] for index in range(0, 10, 2)]
    assert backward == [pk for page in reversed(pages[:-1]) for pk in page]
    assert first["previous"] is None


def test_a_page_larger_than_the_ties_and_filters_kept_across_pages(many_invoices, member, client_a):
    expected = list(
        Invoice.objects.filter(member=member)
        .order_by(*DOCUMENTED_ORDERINGS["-gross_cents"])
        .values_list("pk", flat=True)
    )

    ids, _last = _walk(client_a, INVOICES, {"member": member.pk, "ordering": "-gross_cents", "page_size": 3})

    assert ids == expected and len(ids) == 8


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        base64.b64encode(b"p=not json").decode(),
        base64.b64encode(b'p=["2026-01-01",1]').decode(),  # the default ordering has three fields
        base64.b64encode(b'p=["hier","2026-01-01T00:00:00+00:00",1]').decode(),
        base64.b64encode(b'p=[1,"x",null]').decode(),
        base64.b64encode(b'p={"a":1}').decode(),
    ],
)
def test_a_cursor_that_does_not_decode_is_a_400(ledger, client_a, cursor):
    response = client_a.get(INVOICES, {"cursor": cursor})

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_filter" and "cursor" in response.json()["detail"]


def test_a_deep_page_costs_the_queries_of_the_first(many_invoices, client_a):
    _ids, last = _walk(client_a, INVOICES, {"page_size": 2})
    with CaptureQueriesContext(connection) as first_page:
        assert client_a.get(INVOICES, {"page_size": 2}).status_code == 200
    with CaptureQueriesContext(connection) as deep_page:
        deep = client_a.get(last["previous"])

    assert deep.status_code == 200 and len(deep.json()["results"]) == 2
    assert len(deep_page.captured_queries) == len(first_page.captured_queries)


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "bill"},
        {"status": "lost"},
        {"overdue": "maybe"},
        {"member": "abc"},
        {"issued_from": "hier"},
        {"ordering": "price"},
    ],
)
def test_a_bad_filter_is_a_400_invalid_filter(finance, client_a, params):
    response = client_a.get(INVOICES, params)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_filter"


def test_the_detail_has_payments_credit_notes_and_the_corrected_invoice(finance, member, client_a):
    invoice = issued_invoice(by=finance, member=member)
    services.record_payment(by=finance, invoice=invoice, amount_cents=10_000, method="cheque", reference="CHQ 1234")
    note = services.create_credit_note(
        by=finance, invoice=invoice, reason="Geste commercial", lines=[{**LINE, "unit_price_cents": 5_000}]
    )

    body = client_a.get(invoice_url(invoice.pk)).json()
    credit = client_a.get(invoice_url(note.pk)).json()

    assert body["status"] == "partly_paid"
    assert (body["paid_cents"], body["credited_cents"], body["balance_cents"]) == (10_000, 6_000, 20_000)
    assert [(p["amount_cents"], p["method"], p["reference"]) for p in body["payments"]] == [
        (10_000, "cheque", "CHQ 1234")
    ]
    assert body["payments"][0]["recorded_by"]["email"] == "compta@alpha-mediation.fr"
    assert [(c["id"], c["kind"], c["gross_cents"]) for c in body["credit_notes"]] == [(note.pk, "credit_note", 6_000)]
    assert credit["credited_invoice"] == {
        "id": invoice.pk,
        "kind": "invoice",
        "number": invoice.number,
        "status": "partly_paid",
        "issue_date": timezone.localdate().isoformat(),
        "gross_cents": 36_000,
    }
    assert credit["notes"] == "Geste commercial"
    assert credit["allowed_actions"] == []


def test_an_id_that_does_not_exist_is_a_404(finance, client_a):
    for url in (invoice_url(424242), invoice_url(10**30), invoice_url(424242, "pdf")):
        response = client_a.get(url)
        assert response.status_code == 404, url
        assert response.json()["code"] == "not_found"


def test_the_list_costs_the_same_queries_however_many_rows(finance, member, client_a):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client_a.get(INVOICES).status_code == 200
        return len(captured)

    issued_invoice(by=finance, member=member)
    queries()  # the first request of a session loads what later ones reuse
    few = queries()
    for _n in range(4):
        invoice = issued_invoice(by=finance, member=billable_member())
        services.create_credit_note(by=finance, invoice=invoice, reason="Erreur")

    assert queries() == few
