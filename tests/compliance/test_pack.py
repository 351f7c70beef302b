"""The CECMC compliance pack: the ZIP's files, the report's documents, the R614-1 checklist checked on the served
pages, the fees from mediation and billing, the tracker's state, safe cells, the role matrix, firm isolation."""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from accounts.models import User
from accounts.permissions import Perm
from billing.models import Price, Product
from firm import services as firm_services
from firm import site_checklist
from firm import site_services as site
from mediation.compliance import pack, tracker
from mediation.compliance.models import ListingInfo, Obligation
from mediation.members.models import Tariff
from mediation.reports.models import AnnualReport
from tests.factories import AdminFactory, MediatorFactory, MemberFactory, received_case
from tests.roles import ROLES_AND_ANONYMOUS, allowed, assert_html_outcome, log_in_with_role, role_id

BASE = "/staff/conformite/dossier/"
HOST_A = "alpha.localhost"
HOST_B = "beta.localhost"
LAST_YEAR = timezone.localdate().year - 1
FILES = {
    "LISEZMOI.txt",
    f"rapport-activite-{LAST_YEAR}.pdf",
    f"rapport-activite-{LAST_YEAR}.xlsx",
    "site-r614-1.csv",
    "secteurs-et-conventions.csv",
    "mediateurs.csv",
    f"formations-{LAST_YEAR}.txt",
    "tarifs-professionnels.csv",
    "referencement-r614-3.txt",
    "obligations-cecmc.csv",
}


@pytest.fixture
def admin(tenant_a):
    return AdminFactory(email="claire@alpha.example.fr")


def build_site(admin: User, *, coverages: bool = True) -> None:
    """A firm whose site shows identity, contact and a mediator; coverages only when asked."""
    firm_services.update_firm_profile(
        by=admin,
        legal_name="Cabinet Alpha Médiation",
        legal_form="SAS",
        siren="732829320",
        address_line1="12 rue de la République",
        postcode="69002",
        city="Lyon",
        contact_email="contact@alpha.example.fr",
    )
    firm_services.create_mediator(
        by=admin,
        first_name="Hélène",
        last_name="Roux",
        email="helene@alpha.example.fr",
        listed_on=datetime.date(2024, 1, 15),
        term_ends_on=timezone.localdate() + datetime.timedelta(days=3 * 365),
    )
    if coverages:
        site.save_coverage(by=admin, kind="sector", name="Commerce en ligne")


def open_zip(content: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(content))


def read_csv(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    raw = archive.read(name)
    assert raw.startswith("\ufeff".encode())  # for French Excel
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))


def build(year: int = LAST_YEAR, host: str = HOST_A) -> zipfile.ZipFile:
    return open_zip(pack.build(year=year, host=host))


def row_of(rows: list[dict[str, str]], key: str) -> dict[str, str]:
    return next(row for row in rows if row["Clé"] == key)


# --- The ZIP and the report ------------------------------------------------------------------------------------


def test_the_page_builds_the_zip_with_every_file(admin, client_a, media_root):
    client_a.force_login(admin)
    build_site(admin)

    page = client_a.get(BASE)
    response = client_a.post(BASE, {"year": LAST_YEAR})

    assert page.status_code == 200
    body = page.content.decode()
    assert "Construire le dossier" in body and "quelques secondes" in body
    assert f'<option value="{LAST_YEAR}" selected>' in body and '<option value="2016">' in body
    assert f'<option value="{LAST_YEAR + 1}"' not in body
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="dossier-cecmc-alpha-{LAST_YEAR}.zip"'
    archive = open_zip(response.content)
    assert set(archive.namelist()) == FILES
    assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive.infolist())
    readme = archive.read("LISEZMOI.txt").decode()
    assert "Cabinet Alpha Médiation" in readme
    assert all(name in readme for name in FILES - {"LISEZMOI.txt"})


def test_a_year_outside_the_list_is_a_form_error(admin, client_a):
    client_a.force_login(admin)

    for year in (2015, LAST_YEAR + 1, "abc"):
        response = client_a.post(BASE, {"year": year})
        assert response.status_code == 400
        assert "Choisissez une année dans la liste." in response.content.decode()


def test_the_report_pdf_and_xlsx_open_and_the_trainings_come_from_the_report(admin, media_root):
    AnnualReport.objects.create(
        year=LAST_YEAR,
        period_start=datetime.date(LAST_YEAR, 1, 1),
        period_end=datetime.date(LAST_YEAR, 12, 31),
        training="Formation continue IFOMENE, 14 heures.",
    )

    archive = build()

    pdf = PdfReader(io.BytesIO(archive.read(f"rapport-activite-{LAST_YEAR}.pdf")))
    assert f"Rapport d'activité {LAST_YEAR}" in pdf.pages[0].extract_text().replace("’", "'")
    workbook = load_workbook(io.BytesIO(archive.read(f"rapport-activite-{LAST_YEAR}.xlsx")))
    assert "Synthèse" in workbook.sheetnames
    assert "Formation continue IFOMENE, 14 heures." in archive.read(f"formations-{LAST_YEAR}.txt").decode()


def test_without_a_report_the_trainings_file_says_none_was_written(admin, media_root):
    archive = build()

    text = archive.read(f"formations-{LAST_YEAR}.txt").decode()
    assert f"Aucun texte sur la formation des médiateurs n'a été rédigé dans le rapport {LAST_YEAR}." in text


# --- The R614-1 checklist, on the pages as served -------------------------------------------------------------


def test_the_checklist_says_present_for_what_the_served_page_shows_and_missing_for_what_it_lacks(admin, media_root):
    build_site(admin, coverages=False)

    rows = read_csv(build(), "site-r614-1.csv")

    assert [row["Clé"] for row in rows] == [item.key for item in site_checklist.checklist()]
    identity = row_of(rows, "identity")
    assert identity["Page publique"] == "/le-mediateur/"
    assert (identity["Statut HTTP"], identity["Marqueur data-r614 trouvé"], identity["Verdict"]) == (
        "200",
        "oui",
        "présent",
    )
    coverages = row_of(rows, "coverages")
    assert coverages["Page publique"] == "/le-mediateur/"
    assert (coverages["Statut HTTP"], coverages["Marqueur data-r614 trouvé"], coverages["Verdict"]) == (
        "200",
        "non",
        "manquant",
    )
    assert coverages["État selon les fiches"] == "manquant"
    # A legal page not yet published answers 404: missing (mandatory) or to check (recommended), not inconsistent.
    notice, faq = row_of(rows, "page_legal_notice"), row_of(rows, "page_faq")
    assert (notice["Statut HTTP"], notice["Verdict"]) == ("404", "manquant")
    assert (faq["Statut HTTP"], faq["Verdict"]) == ("404", "à vérifier")
    assert connection.schema_name == "alpha"  # the pages' requests gave the connection back as it was


def test_the_coverages_item_turns_present_once_a_coverage_exists(admin, media_root):
    build_site(admin, coverages=True)

    coverages = row_of(read_csv(build(), "site-r614-1.csv"), "coverages")

    assert (coverages["Statut HTTP"], coverages["Marqueur data-r614 trouvé"], coverages["Verdict"]) == (
        "200",
        "oui",
        "présent",
    )


def test_records_and_a_served_page_that_disagree_are_inconsistent(admin):
    build_site(admin)
    items = {item.key: item for item in site_checklist.checklist()}

    without_marker = pack.Served("/le-mediateur/", 200, frozenset({"identity"}))
    failing = pack.Served("/le-mediateur/", 500, frozenset())
    with_marker = pack.Served("/le-mediateur/", 200, frozenset({"networks"}))

    assert pack.verdict(items["identity"], without_marker) == pack.Verdict.PRESENT
    assert pack.verdict(items["coverages"], without_marker) == pack.Verdict.INCONSISTENT  # recorded, not shown
    assert pack.verdict(items["identity"], failing) == pack.Verdict.INCONSISTENT
    assert items["networks"].status == site_checklist.Status.MISSING
    assert pack.verdict(items["networks"], with_marker) == pack.Verdict.INCONSISTENT  # shown, not recorded


def test_each_public_page_is_requested_once(admin, media_root, monkeypatch):
    calls: list[str] = []
    real_get = pack.Client.get

    def counting_get(self: Any, path: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(path)
        return real_get(self, path, *args, **kwargs)

    monkeypatch.setattr(pack.Client, "get", counting_get)

    pack.checked_items(host=HOST_A)

    assert sorted(calls) == sorted(set(calls))
    assert "/le-mediateur/" in calls and "/saisir-le-mediateur/" in calls and "/rapports/" in calls


# --- Coverages, mediators, fees, obligations ------------------------------------------------------------------


def test_the_fees_list_membership_tariffs_and_catalogue_prices_in_force(admin, media_root):
    today = timezone.localdate()
    Tariff.objects.create(
        headcount_band="1_9", term_years=1, yearly_price_cents=12000, valid_from=today - datetime.timedelta(days=30)
    )
    Tariff.objects.create(  # ended: not charged any more
        headcount_band="1_9",
        term_years=3,
        yearly_price_cents=99900,
        valid_until=today - datetime.timedelta(days=1),
        valid_from=today - datetime.timedelta(days=400),
    )
    fee = Product.objects.create(code="frais", name="Frais de dossier", kind="case_fee", vat_rate=Decimal("20.00"))
    Price.objects.create(product=fee, unit_price_cents=5050, valid_from=today - datetime.timedelta(days=10))
    Price.objects.create(  # a later price not yet in force
        product=fee, unit_price_cents=7000, valid_from=today + datetime.timedelta(days=10)
    )
    old = Product.objects.create(code="vieux", name="Option retirée", kind="option", is_active=False)
    Price.objects.create(product=old, unit_price_cents=100, valid_from=today - datetime.timedelta(days=10))

    rows = read_csv(build(), "tarifs-professionnels.csv")

    assert [row["Libellé"] for row in rows] == [
        "Adhésion, effectif 1 à 9 salariés, engagement 1 an",
        "Frais de dossier",
    ]
    membership, case_fee = rows
    assert (membership["Nature"], membership["Montant HT (euros)"], membership["Taux de TVA (%)"]) == (
        "Adhésion annuelle",
        "120,00",
        "",
    )
    assert (case_fee["Nature"], case_fee["Montant HT (euros)"], case_fee["Taux de TVA (%)"]) == (
        "Frais de dossier",
        "50,50",
        "20",
    )
    assert case_fee["Du"] == (today - datetime.timedelta(days=10)).isoformat() and case_fee["Au"] == ""


def test_the_obligations_coverages_and_mediators_are_listed(admin, media_root):
    build_site(admin)
    due = timezone.localdate() - datetime.timedelta(days=3)
    tracker.create_obligation(by=admin, kind=Obligation.Kind.LISTING_FILE, title="Dossier de référencement", due_on=due)
    MediatorFactory(first_name="Paul", last_name="Ancien", is_active=False)

    archive = build()

    obligations = read_csv(archive, "obligations-cecmc.csv")
    listing = next(row for row in obligations if row["Intitulé"] == "Dossier de référencement")
    assert (listing["Type"], listing["Échéance"], listing["Statut"], listing["Fait le"], listing["Documents"]) == (
        "Dossier de référencement (R614-3)",
        due.isoformat(),
        "À faire",
        "",
        "0",
    )
    assert read_csv(archive, "secteurs-et-conventions.csv")[0]["Intitulé"] == "Commerce en ligne"
    mediators = {row["Nom"]: row for row in read_csv(archive, "mediateurs.csv")}
    assert mediators["Roux"]["Inscrit sur la liste de la CECMC le"] == "2024-01-15"
    assert mediators["Roux"]["En activité"] == "oui" and mediators["Ancien"]["En activité"] == "non"
    readme = archive.read("LISEZMOI.txt").decode()
    assert "à faire, dont 1 en retard" in readme


def test_cells_typed_by_users_that_start_like_a_formula_are_neutralised(admin, media_root):
    this_year = timezone.localdate().year
    site.save_coverage(by=admin, kind="sector", name='=HYPERLINK("http://evil.example","x")')
    MediatorFactory(last_name="=1+1")
    received_case(MemberFactory(legal_name="=cmd|'/c calc'!A1"))

    archive = build(year=this_year)

    assert read_csv(archive, "secteurs-et-conventions.csv")[0]["Intitulé"].startswith("'=HYPERLINK")
    assert "'=1+1" in {row["Nom"] for row in read_csv(archive, "mediateurs.csv")}
    members = load_workbook(io.BytesIO(archive.read(f"rapport-activite-{this_year}.xlsx")))["Adhérents"]
    assert "'=cmd|'/c calc'!A1" in [row[0] for row in members.iter_rows(values_only=True)]


# --- Roles and firms -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=role_id)
def test_every_role_on_the_page_and_the_download(role, tenant_a, client_a, media_root):
    log_in_with_role(client_a, role)

    page = client_a.get(BASE)
    download = client_a.post(BASE, {"year": LAST_YEAR})

    assert_html_outcome(page, role=role, perm=Perm.REPORTS_VIEW, success=200)
    assert_html_outcome(download, role=role, perm=Perm.REPORTS_VIEW, success=200)
    if allowed(role, Perm.REPORTS_VIEW):
        assert download["Content-Type"] == "application/zip"


@pytest.mark.parametrize("role", [role for role in User.Role if role != User.Role.MEMBER], ids=role_id)
def test_the_staff_home_links_the_pack_for_those_who_may_read_it(role, tenant_a, client_a):
    log_in_with_role(client_a, role)

    response = client_a.get("/staff/")

    assert response.status_code == 200
    assert (BASE in response.content.decode()) == allowed(role, Perm.REPORTS_VIEW)


def test_firm_b_pack_holds_none_of_firm_a_data(admin, use_tenant, media_root):
    build_site(admin)
    today = timezone.localdate()
    tracker.create_obligation(by=admin, kind=Obligation.Kind.OTHER, title="Obligation secrète Alpha", due_on=today)
    Tariff.objects.create(headcount_band="1_9", term_years=1, yearly_price_cents=424242, valid_from=today)
    product = Product.objects.create(code="alpha", name="Produit Alpha", kind="option")
    Price.objects.create(product=product, unit_price_cents=31337, valid_from=today)
    AnnualReport.objects.create(
        year=LAST_YEAR,
        period_start=datetime.date(LAST_YEAR, 1, 1),
        period_end=datetime.date(LAST_YEAR, 12, 31),
        training="Formation Alpha",
    )

    use_tenant("beta")
    archive = build(host=HOST_B)

    assert connection.schema_name == "beta"
    text = "\n".join(
        archive.read(name).decode("utf-8-sig") for name in archive.namelist() if name.endswith((".csv", ".txt"))
    )
    for secret in ("Alpha", "Roux", "Commerce en ligne", "4242,42", "313,37", "contact@alpha"):
        assert secret not in text
    assert row_of(read_csv(archive, "site-r614-1.csv"), "identity")["Marqueur data-r614 trouvé"] == "non"


FUNDING = BASE + "financement/"


def test_the_listing_file_has_the_funding_text_and_the_fees(admin, tenant_a, client_a, media_root):
    archive = build()
    assert "Non renseigné" in archive.read("referencement-r614-3.txt").decode()
    Tariff.objects.create(
        headcount_band="1_9", term_years=1, yearly_price_cents=30_000, valid_from=datetime.date(2020, 1, 1)
    )
    client_a.force_login(admin)
    response = client_a.post(FUNDING, {"funding": "Cotisations des adhérents ; budget séparé."})
    assert response.status_code == 302
    connection.set_tenant(tenant_a)
    text = build().read("referencement-r614-3.txt").decode()
    assert "Cotisations des adhérents ; budget séparé." in text
    assert "300,00 €" in text


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=role_id)
def test_only_admins_and_mediators_write_the_funding(role, tenant_a, client_a):
    log_in_with_role(client_a, role)
    response = client_a.post(FUNDING, {"funding": "Texte"})
    assert_html_outcome(response, role=role, perm=Perm.REPORTS_EDIT, success=302)
    connection.set_tenant(tenant_a)
    saved = ListingInfo.objects.filter(funding="Texte").exists()
    assert saved == allowed(role, Perm.REPORTS_EDIT)


def test_a_too_long_funding_text_is_a_form_error(admin, client_a):
    client_a.force_login(admin)
    response = client_a.post(FUNDING, {"funding": "x" * 20_001})
    assert response.status_code == 400
    assert "20000" in response.content.decode().replace("\u202f", "").replace(" ", "")
