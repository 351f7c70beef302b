"""CSV (UTF-8 with BOM, `;`) and XLSX exports of the filtered list, parsed back."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from tests.factories import GroupFactory, MemberFactory, UserFactory


@pytest.fixture
def reader(tenant_a, client_a):
    client_a.force_login(UserFactory(role="read_only"))
    group = GroupFactory(name="Fédération des boulangers")
    MemberFactory(
        legal_name="Boulangerie du Marché",
        siren="732829320",
        city="Lyon",
        status="active",
        group=group,
        websites=["https://pain.fr", "https://pain.com"],
    )
    MemberFactory(legal_name='=HYPERLINK("http://x")', status="active")
    MemberFactory(legal_name="Garage Prospect", status="prospect")


def _csv_rows(response):
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


def test_csv_export_is_for_french_excel_and_follows_the_filters(reader, client_a):
    response = client_a.get("/staff/adherents/export.csv", {"status": "active"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="adherents-')
    rows = _csv_rows(response)
    assert rows[0][:3] == ["Raison sociale", "Nom commercial", "SIREN"]
    by_name = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert set(by_name) == {"Boulangerie du Marché", '\'=HYPERLINK("http://x")'}
    bakery = by_name["Boulangerie du Marché"]
    assert (bakery["SIREN"], bakery["Ville"], bakery["Statut"]) == ("732829320", "Lyon", "Adhérent actif")
    assert (bakery["Groupement"], bakery["Sites internet"]) == (
        "Fédération des boulangers",
        "https://pain.fr https://pain.com",
    )


def test_xlsx_export_has_a_header_row_and_the_filtered_members(reader, client_a):
    response = client_a.get("/staff/adherents/export.xlsx", {"q": "boulangerie"})

    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[0][:3] == ("Raison sociale", "Nom commercial", "SIREN")
    assert len(rows) == 2
    assert rows[1][0] == "Boulangerie du Marché" and rows[1][2] == "732829320"


def test_a_value_that_looks_like_a_formula_stays_text_in_xlsx(reader, client_a):
    response = client_a.get("/staff/adherents/export.xlsx", {"q": "HYPERLINK"})

    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    cell = workbook.active["A2"]
    assert cell.data_type == "s" and cell.value == '\'=HYPERLINK("http://x")'
