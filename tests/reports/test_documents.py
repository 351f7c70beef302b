"""The annual report's PDF and XLSX: what they print matches `figures.compute()`, texts are sanitised, cells safe."""

from __future__ import annotations

import datetime
import io
import re
from typing import Any

import pytest
from django.utils import translation
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from pypdf import PdfReader

from firm.models import FirmProfile
from mediation.cases.models import Case, InadmissibilityReason, Outcome, Status, Subject
from mediation.reports import documents, figures
from mediation.reports.figures import Period
from mediation.reports.models import AnnualReport
from tests.factories import MediatorFactory, MemberFactory

pytestmark = pytest.mark.django_db

YEAR = 2025
SECTIONS = (
    "Demandes reçues et leur objet",
    "Demandes refusées et motifs du refus",
    "Médiations interrompues et leurs causes",
    "Issue des médiations",
    "Durée de traitement des litiges",
    "Propositions de solution acceptées et suivies",
    "Répartition par secteur et par professionnel",
    "Comparaison avec la période précédente",
    "Problèmes récurrents et recommandations",
    "Coopération avec les réseaux de médiateurs",
    "Formation des médiateurs",
)


def at(day: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(day).replace(hour=10, tzinfo=datetime.UTC)


def case(ref: str, **fields: Any) -> Case:
    for name in ("received_at", "opened_at", "closed_at"):
        if isinstance(fields.get(name), str):
            fields[name] = at(fields[name])
    return Case.objects.create(reference=ref, consumer_last_name=ref, **fields)


def pdf_text(pdf: bytes) -> str:
    """The PDF's text on one line, every kind of space a plain space (French numbers use no-break spaces)."""
    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"[\s\u00a0\u202f\u2009]+", " ", text)


@pytest.fixture
def firm(tenant_a: Any) -> FirmProfile:
    profile, _created = FirmProfile.objects.get_or_create(pk=FirmProfile.SINGLETON_PK)
    profile.legal_name = "Cabinet Alpha Médiation SAS"
    profile.city = "Lyon"
    profile.postcode = "69002"
    profile.primary_color = "#8a1c2b"
    profile.save()
    MediatorFactory(first_name="Hélène", last_name="Vasseur", term_ends_on=datetime.date(2099, 1, 1))
    return profile


@pytest.fixture
def dataset(firm: FirmProfile) -> dict[str, Any]:
    """2025: six requests (two refused, three mediations ended, one pending); 2024: two requests (one refused)."""
    shop = MemberFactory(legal_name="Boulangerie Un", sector="retail")
    web = MemberFactory(legal_name="Boutique Deux", sector="ecommerce")
    formula = MemberFactory(legal_name='=HYPERLINK("http://evil.example","clic")', sector="retail")
    refused = Status.INADMISSIBLE
    case("A", member=formula, subject=Subject.DELIVERY, status=refused, received_at="2025-01-10",
         closed_at="2025-01-20", inadmissibility_reason=InadmissibilityReason.TOO_LATE)  # fmt: skip
    case("B", member=shop, subject=Subject.DELIVERY, status=refused, received_at="2025-02-01",
         closed_at="2025-02-10", inadmissibility_reason=InadmissibilityReason.NO_PRIOR_COMPLAINT)  # fmt: skip
    case("C", member=shop, subject=Subject.DEFECT, status=Status.CLOSED, outcome=Outcome.AGREEMENT,
         execution=Case.Execution.CARRIED_OUT, received_at="2025-03-01", opened_at="2025-03-10",
         closed_at="2025-04-09")  # fmt: skip
    case("D", member=web, subject=Subject.SERVICE, status=Status.CLOSED, outcome=Outcome.PROPOSAL_ACCEPTED,
         execution=Case.Execution.NOT_CARRIED_OUT, received_at="2025-04-01", opened_at="2025-04-05",
         closed_at="2025-05-25")  # fmt: skip
    case("E", member=web, subject=Subject.BILLING, status=Status.INTERRUPTED, received_at="2025-05-01",
         opened_at="2025-05-03", closed_at="2025-06-02")  # fmt: skip
    case("F", member=shop, subject=Subject.DELIVERY, status=Status.RECEIVED, received_at="2025-12-01")
    case("Y", member=shop, subject=Subject.QUOTE, status=refused, received_at="2024-05-01",
         closed_at="2024-05-10", inadmissibility_reason=InadmissibilityReason.OUT_OF_SCOPE)  # fmt: skip
    case("Z", business_name="Inconnu SA", subject=Subject.OTHER, status=Status.REORIENTED,
         received_at="2024-06-01", closed_at="2024-06-03")  # fmt: skip
    report = AnnualReport.objects.create(
        year=YEAR,
        period_start=datetime.date(YEAR, 1, 1),
        period_end=datetime.date(YEAR, 12, 31),
        recurring_problems="## Retards de livraison\n\nLes **colis** arrivent tard.<script>alert('piège')</script>",
        cooperation="Membre du Club des médiateurs de services au public.",
        training="",
    )
    current = figures.compute(Period.year(YEAR))
    return {"report": report, "current": current, "previous": figures.compute(Period.year(YEAR).previous())}


@pytest.fixture
def pdf(dataset: dict[str, Any]) -> str:
    return pdf_text(documents.report_pdf(dataset["report"], dataset["current"], dataset["previous"]))


@pytest.fixture
def workbook(dataset: dict[str, Any]) -> Any:
    content = documents.report_xlsx(dataset["report"], dataset["current"], dataset["previous"])
    return load_workbook(io.BytesIO(content))


def rows_by_value(sheet: Worksheet) -> dict[str, tuple[Any, ...]]:
    """The sheet's rows (after its header) by the value column (the last): (label, count, share, scope, value)."""
    return {str(row[4] or row[0]): row for row in sheet.iter_rows(min_row=2, values_only=True) if row[0]}


# --- The PDF --------------------------------------------------------------------------------------------------


def test_pdf_has_the_title_firm_mediators_and_period(pdf: str) -> None:
    assert "Rapport d'activité 2025" in pdf
    assert "Cabinet Alpha Médiation SAS" in pdf
    assert "Hélène Vasseur" in pdf
    assert "du 1 janvier 2025 au 31 décembre 2025" in pdf


def test_pdf_has_every_r614_2_section_in_order(pdf: str) -> None:
    positions = [pdf.find(f"{number}. {title}") for number, title in enumerate(SECTIONS, start=1)]
    assert -1 not in positions, [title for title, at in zip(SECTIONS, positions, strict=True) if at == -1]
    assert positions == sorted(positions)


def test_pdf_figures_match_compute(dataset: dict[str, Any], pdf: str) -> None:
    current = dataset["current"]
    assert (current.received, current.refused, current.opened, current.stopped, current.ended) == (6, 2, 3, 1, 3)
    assert f"Demandes reçues {current.received}" in pdf
    assert "2 demandes refusées, soit 33,3 % des demandes reçues" in pdf
    assert "1 médiation interrompue sur 3 engagées, soit 33,3 %" in pdf
    assert "Demande introduite plus d'un an après la réclamation écrite 1 50,0 %" in pdf
    assert "Part des solutions suivies d'effet, lorsque l'exécution est connue 50,0 %" in pdf
    # Durations from the referral: 30 and 50 days (C and D) and 30 (E, interrupted): average 36.7, median 30.
    assert current.from_opening.average_days == 36.7
    assert "la saisine (notification aux parties) 3 36,7 30,0" in pdf


def test_pdf_compares_with_the_previous_period(pdf: str) -> None:
    assert "Demandes reçues 6 2 +4 +200,0 %" in pdf
    assert "Demandes refusées 2 1 +1 +100,0 %" in pdf
    assert "Demandes réorientées 0 1 −1 −100,0 %" in pdf
    assert "Part des demandes refusées 33,3 % 50,0 % −16,7 pts" in pdf


def test_pdf_prints_the_mediator_texts_as_sanitised_markdown(dataset: dict[str, Any], pdf: str) -> None:
    assert "Retards de livraison Les colis arrivent tard." in pdf
    assert "Club des médiateurs de services au public" in pdf
    assert "Non renseigné." in pdf  # the training text is empty
    assert "alert" not in pdf
    html = documents.report_html(dataset["report"], dataset["current"], dataset["previous"])
    assert "<script" not in html
    assert "<strong>colis</strong>" in html


def test_pdf_draws_a_bar_chart_beside_each_table(dataset: dict[str, Any]) -> None:
    html = documents.report_html(dataset["report"], dataset["current"], dataset["previous"])
    assert html.count("<svg") == 4  # subjects, refusal reasons, outcomes, sectors
    assert 'fill="#8a1c2b"' in html  # the firm's colour
    subjects = documents.chart(dataset["current"].by_subject, {})
    widths = {bar["label"][:9]: bar["width"] for bar in subjects["bars"]}
    # Delivery (3 requests) is the longest bar; defect (1) a third of it; quote (0) none.
    assert widths["Livraison"] == documents.CHART_BAR_MAX
    assert widths["Produit d"] == round(documents.CHART_BAR_MAX / 3, 1)
    assert widths["Devis, tr"] == 0


def test_an_empty_year_renders_with_dashes(firm: FirmProfile) -> None:
    report = AnnualReport.objects.create(
        year=2019, period_start=datetime.date(2019, 1, 1), period_end=datetime.date(2019, 12, 31)
    )
    current, previous = figures.compute(Period.year(2019)), figures.compute(Period.year(2018))
    text = pdf_text(documents.report_pdf(report, current, previous))
    # French is the source language: 0 takes the msgid's plural until a French catalogue says otherwise.
    assert re.search(r"\b0 demandes? refusées?, soit — des demandes reçues", text)
    assert "la saisine (notification aux parties) 0 — —" in text
    sheet = load_workbook(io.BytesIO(documents.report_xlsx(report, current, previous)))["Objets"]
    assert [row[1:3] for row in sheet.iter_rows(min_row=2, max_row=9, values_only=True)] == [(0, None)] * 8


def test_members_beyond_the_top_20_are_grouped_as_others(firm: FirmProfile) -> None:
    for number in range(figures.TOP_MEMBERS + 2):
        member = MemberFactory(legal_name=f"Adhérent {number:02d}")
        for day in range(1, 3 if number < figures.TOP_MEMBERS else 2):
            case(f"R{number}-{day}", member=member, status=Status.RECEIVED, received_at=f"2019-03-{day:02d}")
    report = AnnualReport.objects.create(
        year=2019, period_start=datetime.date(2019, 1, 1), period_end=datetime.date(2019, 12, 31)
    )
    current, previous = figures.compute(Period.year(2019)), figures.compute(Period.year(2018))
    assert (current.received, len(current.by_member), current.other_members) == (42, 20, 2)
    text = pdf_text(documents.report_pdf(report, current, previous))
    assert "Adhérent 19 2 4,8 % Autres adhérents 2 4,8 % Total des demandes reçues 42" in text
    assert "Adhérent 20" not in text
    sheet = load_workbook(io.BytesIO(documents.report_xlsx(report, current, previous)))["Adhérents"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert rows[-2] == ("Autres adhérents", 2, pytest.approx(2 / 42), None, None)
    assert rows[-1][:4] == ("Base : demandes reçues", 42, 1, "received")


def test_pdf_is_in_the_firms_language_with_its_number_format(firm: FirmProfile) -> None:
    with translation.override("en"):
        assert documents.percent_text(1 / 3) == "33.3%"
        assert documents.count_text(12345) == "12,345"
    with translation.override("fr"):
        assert documents.percent_text(1 / 3) == "33,3\u00a0%"
        assert documents.count_text(12345) == "12\u00a0345"
        assert documents.days_text(None) == "—"
        assert documents.percent_text(1 / 6) == "16,7\u00a0%"  # rounded, not cut
        assert documents.days_text(12.25) == "12,3"
    firm.default_language = "en"
    firm.save()
    report = AnnualReport.objects.create(
        year=2019, period_start=datetime.date(2019, 1, 1), period_end=datetime.date(2019, 12, 31)
    )
    html = documents.report_html(report, figures.compute(Period.year(2019)), figures.compute(Period.year(2018)))
    assert '<html lang="en">' in html


def test_breakdown_labels_follow_the_documents_language_not_the_callers(dataset: dict[str, Any]) -> None:
    with translation.override("en"):
        current = figures.compute(Period.year(YEAR))  # labels made in the caller's language
    html = documents.report_html(dataset["report"], current, dataset["previous"])
    assert "Livraison (retard, non-livraison, colis endommagé)" in html


# --- The XLSX -------------------------------------------------------------------------------------------------


def test_xlsx_has_a_summary_a_sheet_per_breakdown_and_the_durations(workbook: Any) -> None:
    assert workbook.sheetnames == [
        "Synthèse",
        "Objets",
        "Modes de saisine",
        "Motifs de refus",
        "Motifs d'interruption",
        "Issues",
        "Secteurs",
        "Adhérents",
        "Délais",
    ]


def test_xlsx_summary_compares_with_the_previous_period(workbook: Any) -> None:
    rows = {row[0]: row for row in workbook["Synthèse"].iter_rows(min_row=2, values_only=True) if row[0]}
    assert rows["Demandes reçues"][1:] == (6, 2, 4, 2.0, "received", None)
    assert rows["Médiations interrompues"][1:4] == (1, 0, 1)
    assert rows["Part des demandes refusées"][1:3] == (pytest.approx(1 / 3), 0.5)
    assert rows["Part des demandes refusées"][3] == pytest.approx(1 / 3 - 0.5, abs=1e-4)
    summary = workbook["Synthèse"]
    share_row = next(row for row in summary.iter_rows(min_row=2) if row[0].value == "Part des demandes refusées")
    assert share_row[1].number_format == "0.0%"


def test_xlsx_breakdowns_match_the_figures_and_trace_to_their_cases(dataset: dict[str, Any], workbook: Any) -> None:
    current: figures.Figures = dataset["current"]
    subjects = rows_by_value(workbook["Objets"])
    assert subjects["delivery"][1:] == (3, 0.5, "subject", "delivery")
    assert subjects["Base : demandes reçues"][1:4] == (6, 1, "received")
    assert workbook["Objets"]["C2"].number_format == "0.0%"
    refusals = rows_by_value(workbook["Motifs de refus"])
    assert refusals["too_late"][1:3] == (1, 0.5)
    outcomes = rows_by_value(workbook["Issues"])
    assert outcomes["agreement"][1:3] == (1, pytest.approx(1 / 3))
    stops = rows_by_value(workbook["Motifs d'interruption"])
    assert stops["interrupted"][1:3] == (1, 1.0)
    for sheet in ("Objets", "Motifs de refus", "Issues", "Secteurs", "Adhérents"):
        for label, count, _share, scope, value in workbook[sheet].iter_rows(min_row=2, values_only=True):
            if scope and value:
                traced = figures.traced_cases(scope, current.period, value).count()
                assert traced == count, (sheet, label)


def test_xlsx_durations_match_the_figures(dataset: dict[str, Any], workbook: Any) -> None:
    current: figures.Figures = dataset["current"]
    rows = list(workbook["Délais"].iter_rows(min_row=2, values_only=True))
    assert rows[0][:4] == (
        "Depuis la saisine (notification aux parties)",
        3,
        current.from_opening.average_days,
        current.from_opening.median_days,
    )
    assert rows[1][1:4] == (3, current.from_receipt.average_days, current.from_receipt.median_days)
    assert rows[0][4:7] == (0, None, None)  # nothing ended in 2024 after a referral


def test_xlsx_neutralises_member_names_that_look_like_formulas(workbook: Any) -> None:
    sheet = workbook["Adhérents"]
    names = [cell.value for cell in sheet["A"][1:] if cell.value]
    assert '\'=HYPERLINK("http://evil.example","clic")' in names
    assert all(cell.data_type == "s" for cell in sheet["A"][1:] if cell.value)
    assert not any(str(name).startswith("=") for name in names)


def test_filename() -> None:
    assert documents.filename(AnnualReport(year=2025), "pdf") == "rapport-activite-2025.pdf"
    assert documents.filename(AnnualReport(year=2025), "xlsx") == "rapport-activite-2025.xlsx"
