"""The FEC of a year: parsed back, every entry balanced, totals equal to the invoices, lettering, access."""

from __future__ import annotations

import csv
import datetime
import io
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
import time_machine

from billing import fec, services
from billing.models import Invoice, Payment
from firm.models import FirmProfile
from tests.billing.helpers import LINE, billable_member, finance_user, firm_identity, issued_invoice
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/staff/facturation/exports/fec/"
YEAR = {"start": "2025-01-01", "end": "2025-12-31"}


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


def line(cents: int, rate: str = "20.00", account: str = "", label: str = "Prestation") -> dict:
    return {"label": label, "quantity": "1", "unit_price_cents": cents, "vat_rate": rate, "account": account}


def cents(text: str) -> int:
    whole, _sep, decimals = text.partition(",")
    assert len(decimals) == 2 and whole.isdigit(), text
    return int(whole) * 100 + int(decimals)


def parse(response) -> list[dict[str, str]]:
    content = b"".join(response.streaming_content).decode("utf-8")
    rows = list(csv.reader(io.StringIO(content, newline=""), delimiter="\t"))
    assert rows[0] == list(fec.COLUMNS)
    assert all(len(row) == 18 for row in rows), [row for row in rows if len(row) != 18]
    return [dict(zip(fec.COLUMNS, row, strict=True)) for row in rows[1:]]


@pytest.fixture
def year(finance):
    """A year of billing in 2025, and what happened in 2026 (outside the period)."""
    bakery = billable_member(legal_name="Boulangerie du Port")
    garage = billable_member(legal_name="Garage Martin")
    with on("2025-02-03"):
        paid = issued_invoice(by=finance, member=bakery, lines=[LINE])  # 300 € + 20 % = 360 €
    with on("2025-03-10"):
        mixed = issued_invoice(
            by=finance,
            member=garage,
            lines=[line(10_000), line(5_000, "5.50", account="706100"), line(-1_000, label="Remise")],
        )  # 90 € at 20 % + 50 € at 5.5 % = 140 € + 18 € + 2.75 € = 160.75 €
    with on("2025-03-14"):
        services.record_payment(by=finance, invoice=paid, amount_cents=36_000, method="transfer")
    with on("2025-04-01"):
        services.record_payment(by=finance, invoice=mixed, amount_cents=10_000, method="card", reference="pi_123")
    with on("2025-05-02"):
        credited = issued_invoice(by=finance, member=bakery, lines=[line(20_000)])
    with on("2025-05-20"):
        note = services.create_credit_note(by=finance, invoice=credited, reason="Adhésion facturée deux fois")
        partial = services.create_credit_note(
            by=finance, invoice=mixed, reason="Remise accordée", lines=[line(1_000, "5.50", account="706100")]
        )
    with on("2026-01-05"):
        later = issued_invoice(by=finance, member=garage, lines=[LINE])
        services.record_payment(
            by=finance, invoice=mixed, amount_cents=mixed.gross_cents - 10_000 - partial.gross_cents, method="transfer"
        )
    return {"paid": paid, "mixed": mixed, "credited": credited, "note": note, "partial": partial, "later": later}


def test_the_fec_of_a_year_parses_balances_and_matches_the_invoices(year, client_a):
    response = client_a.get(URL, YEAR)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="732829320FEC20251231.txt"'
    lines = parse(response)

    entries: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for row in lines:
        entries[(row["JournalCode"], row["EcritureNum"])].append(row)
        assert row["EcritureDate"].startswith("2025") and len(row["EcritureDate"]) == 8
        assert row["ValidDate"] >= row["EcritureDate"]
    for key, rows in entries.items():
        debit = sum(cents(row["Debit"]) for row in rows)
        credit = sum(cents(row["Credit"]) for row in rows)
        assert debit == credit > 0, key

    # Sales: three invoices and two credit notes in 2025 (the 2026 invoice is not there); bank: two payments.
    sales = [key for key in entries if key[0] == "VE"]
    bank = [key for key in entries if key[0] == "BQ"]
    assert [number for _journal, number in sales] == [f"VE{n:06d}" for n in range(1, 6)]
    assert [number for _journal, number in bank] == ["BQ000001", "BQ000002"]
    pieces = {rows[0]["PieceRef"] for key, rows in entries.items() if key[0] == "VE"}
    assert year["later"].number not in pieces
    assert pieces == {year[name].number for name in ("paid", "mixed", "credited", "note", "partial")}

    documents = Invoice.objects.filter(issue_date__year=2025).exclude(status="draft")
    invoices = documents.filter(kind="invoice")
    notes = documents.filter(kind="credit_note")

    def total(account: str, side: str, journal: str = "VE") -> int:
        return sum(
            cents(row[side]) for row in lines if row["JournalCode"] == journal and row["CompteNum"].startswith(account)
        )

    assert total("411", "Debit") == sum(i.gross_cents for i in invoices) == 36_000 + 16_075 + 24_000
    assert total("411", "Credit") == sum(n.gross_cents for n in notes)
    assert total("706", "Credit") - total("706", "Debit") == sum(i.net_cents for i in invoices) - sum(
        n.net_cents for n in notes
    )
    assert total("44571", "Credit") - total("44571", "Debit") == sum(i.vat_cents for i in invoices) - sum(
        n.vat_cents for n in notes
    )
    assert total("512", "Debit", "BQ") == total("411", "Credit", "BQ") == 36_000 + 10_000
    # The line's own account is used; the default otherwise.
    mixed_rows = entries[next(key for key in sales if entries[key][0]["PieceRef"] == year["mixed"].number)]
    assert {row["CompteNum"] for row in mixed_rows} == {"411000", "706000", "706100", "445710"}
    customer = next(row for row in mixed_rows if row["CompteNum"] == "411000")
    member_id = year["mixed"].member_id
    assert customer["CompAuxNum"] == f"411{member_id:06d}" and customer["CompAuxLib"] == "Garage Martin"
    assert customer["Debit"] == "160,75" and customer["Credit"] == "0,00"


def test_settled_invoices_are_lettered_with_their_payments_and_credit_notes(year, client_a):
    lines = parse(client_a.get(URL, YEAR))
    customer = [row for row in lines if row["CompteNum"] == "411000"]

    def letters(number: str) -> set[tuple[str, str]]:
        return {(row["EcritureLet"], row["DateLet"]) for row in customer if number in row["EcritureLib"]}

    paid = letters(year["paid"].number)  # the invoice and its payment
    assert len(paid) == 1 and next(iter(paid))[0] and next(iter(paid))[1] == "20250314"
    assert len([row for row in customer if row["EcritureLet"] == next(iter(paid))[0]]) == 2
    credited = letters(year["credited"].number)  # the invoice and the credit note cancelling it
    assert len(credited) == 1 and next(iter(credited))[1] == "20250520"
    assert next(iter(credited))[0] != next(iter(paid))[0]
    # Paid off in 2026 only: not lettered in the 2025 file.
    assert letters(year["mixed"].number) == {("", "")}
    # Nothing else than customer lines carries a letter.
    assert all(not row["EcritureLet"] for row in lines if row["CompteNum"] != "411000")


def test_a_credit_note_reverses_its_invoice_entry(year, client_a):
    lines = parse(client_a.get(URL, YEAR))
    note = [row for row in lines if row["PieceRef"] == year["note"].number]
    assert {(row["CompteNum"], row["Debit"], row["Credit"]) for row in note} == {
        ("411000", "0,00", "240,00"),
        ("706000", "200,00", "0,00"),
        ("445710", "40,00", "0,00"),
    }
    assert year["credited"].number in note[0]["EcritureLib"]


def test_the_firm_chart_of_accounts_and_journals_are_used(year, client_a):
    config = services.billing_settings()
    config.account_customers, config.account_bank, config.journal_sales, config.journal_bank = (
        "4110",
        "5121",
        "VT",
        "BK",
    )
    config.save()
    lines = parse(client_a.get(URL, YEAR))
    assert {row["JournalCode"] for row in lines} == {"VT", "BK"}
    assert "4110" in {row["CompteNum"] for row in lines} and "5121" in {row["CompteNum"] for row in lines}
    assert {row["CompAuxNum"][:3] for row in lines if row["CompteNum"] == "4110"} == {"411"}


def test_the_latin_9_variant_encodes_what_it_can(finance, client_a):
    member = billable_member(legal_name="Łódź Café — Œuvre")
    with on("2025-06-01"):
        issued_invoice(by=finance, member=member)
    response = client_a.get(URL, {**YEAR, "encoding": "iso-8859-15"})
    assert response["Content-Type"] == "text/plain; charset=iso-8859-15"
    text = b"".join(response.streaming_content).decode("iso-8859-15")
    # ó, é and Œ are Latin-9; ź is written without its accent; Ł and the dash have no Latin-9 form.
    assert "?ódz Café ? Œuvre" in text


def test_an_empty_period_gives_the_header_only(finance, client_a):
    response = client_a.get(URL, {"start": "2020-01-01", "end": "2020-12-31"})
    assert response.status_code == 200
    assert parse(response) == []
    assert "FEC20201231.txt" in response["Content-Disposition"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start": "2025-12-31", "end": "2025-01-01"}, "La clôture précède le début"),
        ({"start": "2020-01-01", "end": "2025-12-31"}, "au plus 24 mois"),
        ({"start": "2025-13-45", "end": "2025-12-31"}, "Saisissez une date valide"),
        ({"start": "", "end": "2025-12-31"}, "Ce champ est obligatoire"),
    ],
)
def test_a_bad_period_shows_the_form_again(finance, client_a, query, message):
    response = client_a.get(URL, query)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_the_firm_siren_is_required(finance, client_a):
    FirmProfile.objects.filter(pk=FirmProfile.SINGLETON_PK).update(siren="")
    response = client_a.get(URL, YEAR)
    assert response.status_code == 400
    assert "Renseignez le SIREN du cabinet" in response.content.decode()


@pytest.mark.parametrize("role", ["mediator", "case_officer", "read_only", "member"])
def test_roles_without_billing_export_get_a_403(tenant_a, client_a, role):
    client_a.force_login(UserFactory(role=role))
    assert client_a.get(URL, YEAR).status_code == 403


def test_anonymous_users_go_to_the_login_page(tenant_a, client_a):
    response = client_a.get(URL, YEAR)
    assert response.status_code == 302 and "/login" in response["Location"]


def test_a_beta_user_gets_nothing_of_alpha(year, client_b, use_tenant):
    use_tenant("beta")
    firm_identity(siren="356000000", legal_name="Beta Médiation Conseil SAS")
    beta_user = finance_user()
    client_b.force_login(beta_user)
    own = b"".join(client_b.get(URL, YEAR).streaming_content).decode()
    assert own.count("\n") == 1  # beta's header, none of alpha's entries
    assert year["paid"].number not in own
    # Beta's session means nothing on alpha's host.
    response = client_b.get(URL, YEAR, HTTP_HOST="alpha.localhost")
    assert response.status_code == 302 and "/login" in response["Location"]


def test_payments_and_entries_agree_with_the_database_counts(year, client_a):
    lines = parse(client_a.get(URL, YEAR))
    payments_2025 = Payment.objects.filter(received_on__year=2025).count()
    assert len({row["EcritureNum"] for row in lines if row["JournalCode"] == "BQ"}) == payments_2025
    assert all(row["Montantdevise"] == "" and row["Idevise"] == "" for row in lines)
