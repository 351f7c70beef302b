"""/api/v1/exports/: the staff downloads as API files, with the same parameters, validated; who may."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from openpyxl import load_workbook

from billing import exports, services
from firm.models import FirmProfile
from mediation.members.models import Member
from tests.api.conftest import assert_anonymous_refused, assert_forbidden
from tests.billing.helpers import billable_member, finance_user, firm_identity, issued_invoice
from tests.factories import MemberFactory, UserFactory

EXPORTS = "/api/v1/exports/"


@pytest.fixture
def finance(tenant_a, media_root, client_a, monkeypatch):
    # The PDF is another test's subject; a placeholder keeps these tests fast.
    monkeypatch.setattr("billing.documents.render_invoice_pdf", lambda invoice: b"%PDF-1.7\n%test\n")
    firm_identity()
    user = finance_user()
    client_a.force_login(user)
    return user


@pytest.fixture
def books(finance):
    """Two issued invoices of two members, one paid by cheque, one credited."""
    bakery = billable_member(legal_name="Boulangerie du Port")
    garage = billable_member(legal_name="Garage Martin")
    paid = issued_invoice(by=finance, member=bakery)
    services.record_payment(by=finance, invoice=paid, amount_cents=36_000, method="cheque", reference="CHQ 1")
    credited = issued_invoice(by=finance, member=garage)
    note = services.create_credit_note(by=finance, invoice=credited, reason="Erreur")
    return {"paid": paid, "credited": credited, "note": note}


def content(response) -> bytes:
    assert response.status_code == 200, getattr(response, "content", b"")[:300]
    return b"".join(response.streaming_content)


def read_csv(response) -> list[list[str]]:
    data = content(response)
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def read_xlsx(response) -> dict[str, list[tuple]]:
    workbook = load_workbook(io.BytesIO(content(response)))
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in workbook.worksheets}


def test_invoices_csv(client_a, books):
    response = client_a.get(f"{EXPORTS}invoices.csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="factures-')
    rows = read_csv(response)
    assert rows[0] == [str(column.label) for column in exports.DOCUMENT_COLUMNS]
    assert sorted(row[0] for row in rows[1:]) == sorted([books["paid"].number, books["credited"].number])


def test_invoices_filtered_by_status(client_a, books):
    rows = read_csv(client_a.get(f"{EXPORTS}invoices.csv", {"status": "paid"}))

    assert [row[0] for row in rows[1:]] == [books["paid"].number]


def test_a_client_may_ask_for_the_files_type(client_a, books):
    response = client_a.get(f"{EXPORTS}invoices.csv", HTTP_ACCEPT="text/csv")

    assert len(read_csv(response)) == 3


def test_invoices_xlsx(client_a, books):
    response = client_a.get(f"{EXPORTS}invoices.xlsx")

    assert response["Content-Type"] == exports.XLSX_TYPE
    rows = read_xlsx(response)["Factures"]
    assert len(rows) == 3


def test_credit_notes_csv(client_a, books):
    rows = read_csv(client_a.get(f"{EXPORTS}credit-notes.csv"))

    assert [row[0] for row in rows[1:]] == [books["note"].number]


def test_payments_filtered_by_method(client_a, books):
    cheques = read_csv(client_a.get(f"{EXPORTS}payments.csv", {"method": "cheque"}))
    transfers = read_csv(client_a.get(f"{EXPORTS}payments.csv", {"method": "transfer"}))

    assert [row[1] for row in cheques[1:]] == [books["paid"].number]
    assert transfers[1:] == []


def test_aged_receivables_csv_and_xlsx(client_a, books):
    today = datetime.date.today().isoformat()
    by_member = client_a.get(f"{EXPORTS}aged-receivables.csv", {"at": today})

    assert f'filename="balance-agee-{today}.csv"' in by_member["Content-Disposition"]
    assert read_csv(by_member)[0][0]
    assert len(read_xlsx(client_a.get(f"{EXPORTS}aged-receivables.xlsx"))) == 2


def test_fec_is_a_text_file_named_after_the_firms_siren(client_a, books):
    year = datetime.date.today().year
    response = client_a.get(f"{EXPORTS}fec.txt", {"start": f"{year}-01-01", "end": f"{year}-12-31"})

    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert f'filename="732829320FEC{year}1231.txt"' in response["Content-Disposition"]
    lines = content(response).decode("utf-8").splitlines()
    assert lines[0].startswith("JournalCode\t")
    assert any(books["paid"].number in line for line in lines[1:])


def test_fec_without_the_firms_siren_is_a_409(client_a, finance):
    FirmProfile.objects.update(siren="")

    response = client_a.get(f"{EXPORTS}fec.txt", {"start": "2025-01-01", "end": "2025-12-31"})

    assert response.status_code == 409
    assert response.json()["code"] == "siren_missing"


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("invoices.csv", {"date_from": "2025-13-01"}),
        ("invoices.csv", {"date_from": "2025-03-01", "date_to": "2025-01-01"}),
        ("invoices.xlsx", {"status": "lost"}),
        ("credit-notes.csv", {"date_to": "hier"}),
        ("payments.csv", {"method": "bitcoin"}),
        ("aged-receivables.csv", {"at": "2999-01-01"}),
        ("aged-receivables.csv", {"detail": "everything"}),
        ("fec.txt", {}),
        ("fec.txt", {"start": "2025-01-01", "end": "2027-12-31"}),
        ("fec.txt", {"start": "2025-01-01", "end": "2025-12-31", "encoding": "ebcdic"}),
        ("members.csv", {"status": "royal"}),
        ("members.xlsx", {"renewal_from": "demain"}),
    ],
)
def test_a_refused_parameter_is_a_400_invalid_filter_never_a_file(client_a, finance, path, query):
    response = client_a.get(f"{EXPORTS}{path}", query, HTTP_ACCEPT="text/csv")

    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "invalid_filter"


def test_members_csv_with_the_lists_filters(client_a, finance):
    MemberFactory(legal_name="Alpha Actif", status=Member.Status.ACTIVE)
    MemberFactory(legal_name="Beta Prospect")

    everyone = read_csv(client_a.get(f"{EXPORTS}members.csv"))
    active = read_csv(client_a.get(f"{EXPORTS}members.csv", {"status": "active"}))
    searched = read_csv(client_a.get(f"{EXPORTS}members.csv", {"search": "prospect"}))

    assert everyone[0][0] == "Raison sociale"
    assert [row[0] for row in active[1:]] == ["Alpha Actif"]
    assert [row[0] for row in searched[1:]] == ["Beta Prospect"]
    assert "Alpha Actif" in [row[0] for row in everyone[1:]]


def test_members_xlsx(client_a, finance):
    MemberFactory(legal_name="Alpha Actif")

    sheets = read_xlsx(client_a.get(f"{EXPORTS}members.xlsx"))

    assert [row[0] for row in next(iter(sheets.values()))[1:]] == ["Alpha Actif"]


def test_another_firms_rows_are_never_exported(tenant_b, use_tenant, client_a, media_root, monkeypatch):
    monkeypatch.setattr("billing.documents.render_invoice_pdf", lambda invoice: b"%PDF-1.7\n%test\n")
    firm_identity()
    beta_invoice = issued_invoice(member=billable_member(legal_name="Beta Entreprise"))
    use_tenant("alpha")
    client_a.force_login(UserFactory(role="admin"))

    assert read_csv(client_a.get(f"{EXPORTS}invoices.csv"))[1:] == []
    assert read_csv(client_a.get(f"{EXPORTS}members.csv"))[1:] == []
    assert beta_invoice.number


FINANCE_EXPORTS = [
    "invoices.csv",
    "invoices.xlsx",
    "credit-notes.csv",
    "credit-notes.xlsx",
    "payments.csv",
    "payments.xlsx",
    "aged-receivables.csv",
    "aged-receivables.xlsx",
    "fec.txt?start=2025-01-01&end=2025-12-31",
]
MEMBER_EXPORTS = ["members.csv", "members.xlsx"]


def test_anonymous_is_refused(tenant_a, client_a):
    for path in FINANCE_EXPORTS + MEMBER_EXPORTS:
        assert_anonymous_refused(client_a.get(f"{EXPORTS}{path}", HTTP_ACCEPT="text/csv"))


@pytest.mark.parametrize("role", ["mediator", "case_officer", "read_only", "member"])
def test_roles_without_billing_export_get_a_403(tenant_a, client_a, role):
    client_a.force_login(UserFactory(role=role))

    for path in FINANCE_EXPORTS:
        assert_forbidden(client_a.get(f"{EXPORTS}{path}"))


def test_members_export_needs_members_view(tenant_a, client_a):
    client_a.force_login(UserFactory(role="member"))

    for path in MEMBER_EXPORTS:
        assert_forbidden(client_a.get(f"{EXPORTS}{path}"))
    client_a.force_login(UserFactory(role="mediator"))
    assert client_a.get(f"{EXPORTS}members.csv").status_code == 200
