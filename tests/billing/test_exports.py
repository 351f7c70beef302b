"""Finance exports: invoices, credit notes, payments, aged receivables, as CSV and XLSX, filtered; who may."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from openpyxl import load_workbook

from billing import exports, services
from tests.billing.helpers import LINE, billable_member, finance_user, firm_identity, issued_invoice
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
BASE = "/staff/facturation/exports"


@pytest.fixture
def finance(tenant_a, media_root, client_a, monkeypatch):
    # The PDF is another test's subject; a placeholder keeps these tests fast.
    monkeypatch.setattr("billing.documents.render_invoice_pdf", lambda invoice: b"%PDF-1.7\n%test\n")
    firm_identity()
    user = finance_user()
    client_a.force_login(user)
    return user


def on(day: str) -> time_machine.travel:
    moment = datetime.datetime.fromisoformat(day).replace(hour=10, tzinfo=ZoneInfo("Europe/Paris"))
    return time_machine.travel(moment, tick=False)


def read_csv(response) -> list[list[str]]:
    content = b"".join(response.streaming_content)
    assert content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=";"))


def read_xlsx(response) -> dict[str, list[tuple]]:
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in workbook.worksheets}


def by_number(rows: list[list[str]]) -> dict[str, dict[str, str]]:
    header = rows[0]
    return {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}


@pytest.fixture
def books(finance):
    """Invoices issued in 2025 and 2026, paid, partly paid, late and credited."""
    bakery = billable_member(legal_name="Boulangerie du Port")
    garage = billable_member(legal_name='=HYPERLINK("http://evil")')
    with on("2025-03-01"):
        old = issued_invoice(by=finance, member=bakery)  # 360 €, due 2025-03-31
    with on("2025-04-02"):
        services.record_payment(by=finance, invoice=old, amount_cents=36_000, method="transfer", reference="VIR 1")
    with on("2026-09-01"):
        late = issued_invoice(by=finance, member=garage)  # due 2026-10-01
    with on("2026-10-15"):
        services.record_payment(by=finance, invoice=late, amount_cents=6_000, method="cheque", reference="CHQ 77")
    with on("2026-11-02"):
        credited = issued_invoice(by=finance, member=bakery, lines=[{**LINE, "unit_price_cents": 10_000}])
        note = services.create_credit_note(by=finance, invoice=credited, reason="Erreur de tarif")
    return {"old": old, "late": late, "credited": credited, "note": note}


def test_the_invoices_csv_lists_every_figure_for_french_excel(books, client_a):
    with on("2026-11-20"):
        response = client_a.get(f"{BASE}/factures.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="factures-2026-11-20.csv"' in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0] == [str(column.label) for column in exports.DOCUMENT_COLUMNS]
    table = by_number(rows)
    assert list(table) == [books["old"].number, books["late"].number, books["credited"].number]  # chronological
    late = table[books["late"].number]
    assert late["Date d'émission"] == "2026-09-01" and late["Échéance"] == "2026-10-01"
    assert (late["Total HT"], late["TVA"], late["Total TTC"]) == ("300,00", "60,00", "360,00")
    assert (late["Payé"], late["Avoirs"], late["Reste à payer"]) == ("60,00", "0,00", "300,00")
    assert late["Statut"] == "Partiellement payée" and late["Jours de retard"] == "50"
    # A name that looks like a formula is written as text.
    assert late["Adhérent"] == '\'=HYPERLINK("http://evil")'
    credited = table[books["credited"].number]
    assert credited["Statut"] == "Annulée par avoir" and credited["Reste à payer"] == "0,00"
    assert credited["Avoirs"] == "120,00" and credited["Jours de retard"] == "0"


def test_invoices_are_filtered_by_issue_date_and_status(books, client_a):
    with on("2026-11-20"):
        in_2025 = by_number(
            read_csv(client_a.get(f"{BASE}/factures.csv", {"date_from": "2025-01-01", "date_to": "2025-12-31"}))
        )
        overdue = by_number(read_csv(client_a.get(f"{BASE}/factures.csv", {"status": "overdue"})))
        paid = by_number(read_csv(client_a.get(f"{BASE}/factures.csv", {"status": "paid"})))
        response = client_a.get(f"{BASE}/factures.csv", {"date_from": "2026-01-01"})
    assert list(in_2025) == [books["old"].number]
    assert list(overdue) == [books["late"].number]
    assert list(paid) == [books["old"].number]
    assert 'filename="factures-2026-01-01-2026-11-20.csv"' in response["Content-Disposition"]


def test_credit_notes_are_exported_with_the_invoice_they_correct(books, client_a):
    rows = by_number(read_csv(client_a.get(f"{BASE}/avoirs.csv")))
    assert list(rows) == [books["note"].number]
    note = rows[books["note"].number]
    assert note["Type"] == "Avoir" and note["Facture d'origine"] == books["credited"].number
    assert note["Total TTC"] == "120,00" and note["Reste à payer"] == "0,00"


def test_payments_are_filtered_by_date_received_and_method(books, client_a):
    rows = read_csv(client_a.get(f"{BASE}/paiements.csv"))
    assert rows[0] == ["Date de réception", "Facture", "Adhérent", "SIREN", "Moyen de paiement", "Montant", "Référence"]
    assert [(row[0], row[1], row[4], row[5], row[6]) for row in rows[1:]] == [
        ("2025-04-02", books["old"].number, "Virement", "360,00", "VIR 1"),
        ("2026-10-15", books["late"].number, "Chèque", "60,00", "CHQ 77"),
    ]
    cheques = read_csv(client_a.get(f"{BASE}/paiements.csv", {"method": "cheque"}))
    assert [row[1] for row in cheques[1:]] == [books["late"].number]
    in_2025 = read_csv(client_a.get(f"{BASE}/paiements.csv", {"date_to": "2025-12-31"}))
    assert [row[1] for row in in_2025[1:]] == [books["old"].number]


def test_the_xlsx_keeps_amounts_as_numbers_and_dates_as_dates(books, client_a):
    response = client_a.get(f"{BASE}/factures.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == exports.XLSX_TYPE
    sheets = read_xlsx(response)
    rows = sheets["Factures"]
    assert rows[0][0] == "Numéro"
    late = next(row for row in rows if row[0] == books["late"].number)
    assert late[2] == datetime.datetime(2026, 9, 1)
    assert Decimal(str(late[8])) == Decimal("360") and Decimal(str(late[11])) == Decimal("300")
    assert late[4] == '\'=HYPERLINK("http://evil")'
    payments = read_xlsx(client_a.get(f"{BASE}/paiements.xlsx"))["Paiements"]
    assert [row[5] for row in payments[1:]] == [360, 60]


@pytest.fixture
def aged_books(finance):
    """Open invoices of two members, due at different dates; a payment and a credit note after the balance date."""
    bakery = billable_member(legal_name="Boulangerie du Port")
    garage = billable_member(legal_name="Garage Martin")
    issued = {}
    for name, member, day in (
        ("not_due", bakery, "2026-06-20"),  # due 2026-07-20: not due on 2026-06-30
        ("d30", bakery, "2026-05-15"),  # due 2026-06-14: 16 days late
        ("d60", garage, "2026-04-20"),  # due 2026-05-20: 41 days
        ("d90", garage, "2026-03-10"),  # due 2026-04-09: 82 days
        ("d90_plus", garage, "2025-12-01"),  # due 2025-12-31: 181 days
        ("paid_before", bakery, "2026-01-05"),
    ):
        with on(day):
            issued[name] = issued_invoice(by=finance, member=member)
    with on("2026-02-01"):
        services.record_payment(by=finance, invoice=issued["paid_before"], amount_cents=36_000, method="transfer")
        services.record_payment(by=finance, invoice=issued["d90_plus"], amount_cents=6_000, method="transfer")
    with on("2026-07-10"):  # after the balance date: not counted on 2026-06-30
        services.record_payment(by=finance, invoice=issued["d30"], amount_cents=36_000, method="transfer")
        services.create_credit_note(by=finance, invoice=issued["d60"], reason="Geste commercial")
    return issued


def test_aged_receivables_split_what_was_due_at_the_date(aged_books, client_a):
    response = client_a.get(f"{BASE}/balance-agee.csv", {"at": "2026-06-30", "detail": "invoice"})
    assert response["Content-Disposition"] == 'attachment; filename="balance-agee-2026-06-30.csv"'
    rows = read_csv(response)
    assert rows[0][:6] == ["Adhérent", "SIREN", "Facture", "Date d'émission", "Échéance", "Jours de retard"]
    assert rows[0][6:] == ["Non échu", "0 à 30 jours", "31 à 60 jours", "61 à 90 jours", "Plus de 90 jours", "Reste dû"]
    body = {row[2]: row for row in rows[1:-1]}
    assert aged_books["paid_before"].number not in body
    buckets = ["not_due", "d30", "d60", "d90", "d90_plus"]
    for position, name in enumerate(buckets):
        row = body[aged_books[name].number]
        expected = "300,00" if name == "d90_plus" else "360,00"  # 60 € paid before the date
        assert row[6 + position] == expected and row[11] == expected, name
        assert [cell for n, cell in enumerate(row[6:11]) if n != position] == ["", "", "", ""]
    assert body[aged_books["d60"].number][5] == "41"
    assert rows[-1] == ["Total", "", "", "", "", "", "360,00", "360,00", "360,00", "360,00", "300,00", "1740,00"]


def test_aged_receivables_per_member_with_totals(aged_books, client_a):
    rows = read_csv(client_a.get(f"{BASE}/balance-agee.csv", {"at": "2026-06-30"}))
    assert rows[1:] == [
        [
            "Boulangerie du Port",
            aged_books["d30"].member.siren,
            "2",
            "360,00",
            "360,00",
            "0,00",
            "0,00",
            "0,00",
            "720,00",
        ],
        ["Garage Martin", aged_books["d60"].member.siren, "3", "0,00", "0,00", "360,00", "360,00", "300,00", "1020,00"],
        ["Total", "", "5", "360,00", "360,00", "360,00", "360,00", "300,00", "1740,00"],
    ]
    # Today the late payment and the credit note count.
    today = read_csv(client_a.get(f"{BASE}/balance-agee.csv", {"at": "2026-07-10"}))
    assert today[-1][2] == "3"
    sheets = read_xlsx(client_a.get(f"{BASE}/balance-agee.xlsx", {"at": "2026-06-30"}))
    assert list(sheets) == ["Par adhérent", "Par facture"]
    assert sheets["Par adhérent"][-1][-1] == 1740 and len(sheets["Par facture"]) == 1 + 5 + 1


def test_the_aged_receivables_page_shows_members_and_totals(aged_books, client_a):
    response = client_a.get(f"{BASE}/balance-agee/", {"at": "2026-06-30"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Garage Martin" in page and "1\u00a0740,00\u00a0€" in page
    assert "2 adhérents avec un reste dû" in page
    assert client_a.get(f"{BASE}/balance-agee/").status_code == 200  # today by default
    future = client_a.get(f"{BASE}/balance-agee/", {"at": "2999-01-01"})
    assert future.status_code == 400 and "Choisissez une date passée" in future.content.decode()


def test_the_exports_page_offers_every_export(finance, client_a):
    page = client_a.get(f"{BASE}/")
    assert page.status_code == 200
    text = page.content.decode()
    for url in ("factures.csv", "factures.xlsx", "avoirs.csv", "paiements.xlsx", "balance-agee.csv", "fec/"):
        assert f"{BASE}/{url}" in text
    assert 'aria-current="page"' in text


@pytest.mark.parametrize(
    ("url", "query", "message"),
    [
        ("factures.csv", {"date_from": "2026-05-01", "date_to": "2026-01-01"}, "La fin de la période précède"),
        ("avoirs.xlsx", {"date_from": "demain"}, "Saisissez une date valide"),
        ("factures.csv", {"status": "draft"}, "Sélectionnez un choix valide"),
        ("paiements.csv", {"method": "bitcoin"}, "Sélectionnez un choix valide"),
        ("balance-agee.xlsx", {"at": "31/02/2026"}, "Saisissez une date valide"),
    ],
)
def test_bad_filters_show_the_form_again_with_the_error(finance, client_a, url, query, message):
    response = client_a.get(f"{BASE}/{url}", query)
    assert response.status_code == 400
    text = response.content.decode()
    assert message in text and 'role="alert"' in text


def test_an_unknown_format_is_not_found(finance, client_a):
    assert client_a.get(f"{BASE}/factures.pdf").status_code == 404


@pytest.mark.parametrize("role", ["mediator", "case_officer", "read_only", "member"])
def test_roles_without_billing_export_get_a_403(tenant_a, client_a, role):
    client_a.force_login(UserFactory(role=role))
    for url in ("/", "/factures.csv", "/avoirs.xlsx", "/paiements.csv", "/balance-agee/", "/balance-agee.csv"):
        assert client_a.get(f"{BASE}{url}").status_code == 403, url


def test_a_beta_user_gets_nothing_of_alpha(books, client_b, use_tenant):
    use_tenant("beta")
    client_b.force_login(finance_user())
    own = read_csv(client_b.get(f"{BASE}/factures.csv"))
    assert own[1:] == []
    assert read_csv(client_b.get(f"{BASE}/paiements.csv"))[1:] == []
    for url in ("/factures.csv", "/balance-agee/"):
        response = client_b.get(f"{BASE}{url}", HTTP_HOST="alpha.localhost")
        assert response.status_code == 302 and "/login" in response["Location"], url


def test_a_long_csv_comes_in_several_chunks_that_join_into_the_whole_file():
    sheet = exports.Sheet(
        "t",
        (exports.Column("n", exports.INT), exports.Column("amount", exports.MONEY)),
        lambda: ([n, -n] for n in range(20_000)),
    )
    chunks = list(exports.csv_chunks(sheet))
    assert len(chunks) > 3
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["n", "amount"] and rows[-1] == ["19999", "-199,99"] and len(rows) == 20_001


@pytest.mark.parametrize(
    ("days", "bucket"),
    [(-3, "not_due"), (0, "not_due"), (1, "d30"), (30, "d30"), (31, "d60"), (90, "d90"), (91, "d90_plus")],
)
def test_buckets_by_days_past_due(days, bucket):
    assert exports.bucket_of(days) == bucket
