"""The annual report's staff pages: the years, the figures of a year, the cases behind a figure, the period and
texts, the documents and the publication; always on the cases of the firm whose host is asked."""

from __future__ import annotations

import datetime
import itertools
import re
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from core.links import firm_site_url
from firm import site_selectors
from mediation.cases.models import Case, InadmissibilityReason, Outcome, Party, Status
from mediation.reports.figures import Period, compute
from mediation.reports.models import AnnualReport
from tests.factories import MemberFactory, UserFactory

YEAR = 2024
_references = itertools.count(1)


def at(year: int, month: int, day: int) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(year, month, day, 10, 0))


def make_case(**fields: Any) -> Case:
    """A case written directly in the state a test needs (the services' steps are not the subject here)."""
    values: dict[str, Any] = {"reference": f"T-{next(_references):05d}", "subject": "delivery"}
    values.update(fields)
    return Case.objects.create(**values)


@pytest.fixture
def cases(tenant_a) -> dict[str, Case]:
    """Five requests received in 2024 (one each of: agreed and carried out, two refused, stopped, pending),
    one refused in 2023, and a draft that counts nowhere."""
    shop, garage = MemberFactory(legal_name="Boutique Alpha"), MemberFactory(legal_name="Garage Alpha")
    return {
        "agreed": make_case(
            status=Status.CLOSED,
            member=shop,
            received_at=at(YEAR, 2, 1),
            opened_at=at(YEAR, 2, 10),
            closed_at=at(YEAR, 4, 1),
            outcome=Outcome.AGREEMENT,
            execution=Case.Execution.CARRIED_OUT,
        ),
        "late": make_case(
            status=Status.INADMISSIBLE,
            member=shop,
            subject="billing",
            received_at=at(YEAR, 3, 1),
            closed_at=at(YEAR, 3, 5),
            inadmissibility_reason=InadmissibilityReason.TOO_LATE,
        ),
        "out_of_scope": make_case(
            status=Status.INADMISSIBLE,
            member=garage,
            received_at=at(YEAR, 5, 1),
            closed_at=at(YEAR, 5, 3),
            inadmissibility_reason=InadmissibilityReason.OUT_OF_SCOPE,
        ),
        "withdrawn": make_case(
            status=Status.WITHDRAWN,
            member=garage,
            subject="defect",
            received_at=at(YEAR, 6, 1),
            opened_at=at(YEAR, 6, 5),
            closed_at=at(YEAR, 7, 1),
            closed_by_party=Party.BUSINESS,
        ),
        "pending": make_case(status=Status.RECEIVED, source=Case.Source.POSTAL, received_at=at(YEAR, 7, 1)),
        "last_year": make_case(
            status=Status.INADMISSIBLE,
            received_at=at(YEAR - 1, 5, 1),
            inadmissibility_reason=InadmissibilityReason.TOO_LATE,
        ),
        "draft": make_case(reference=None, status=Status.DRAFT),
    }


@pytest.fixture
def mediator(tenant_a, client_a) -> User:
    user = UserFactory(role=User.Role.MEDIATOR)
    client_a.force_login(user)
    return user


def count_link(content: str, year: int, scope: str, value: str | None = None) -> str | None:
    """The number shown as the link to the cases behind figure `scope` (None when there is no such link)."""
    url = f"/staff/rapports/{year}/dossiers/{scope}/" + (f"?value={value}" if value else "")
    found = re.search(re.escape(f'href="{url}">') + r"([\d\s\u00a0\u202f]+)<", content)
    return found.group(1) if found else None


def references(response: Any) -> set[str]:
    return set(re.findall(r">(T-\d{5})</a>", response.content.decode()))


# --- The years ----------------------------------------------------------------------------------------------


def test_list_shows_the_years_with_requests_or_a_report(cases, mediator, client_a):
    AnnualReport.objects.create(
        year=2020, period_start=datetime.date(2020, 1, 1), period_end=datetime.date(2020, 12, 31)
    )
    AnnualReport.objects.create(
        year=2023,
        period_start=datetime.date(2023, 1, 1),
        period_end=datetime.date(2023, 12, 31),
        status=AnnualReport.Status.PUBLISHED,
        published_at=at(2024, 3, 15),
    )

    response = client_a.get("/staff/rapports/")

    content = response.content.decode()
    assert response.status_code == 200
    years = re.findall(r'href="/staff/rapports/(\d{4})/"', content)
    assert years == ["2024", "2023", "2020"]
    rows = dict(re.findall(r"Rapport (\d{4})</a></th><td>([^<]+)</td>", content))
    assert rows == {"2024": "Pas commencé", "2023": "Publié le 15 mars 2024", "2020": "En préparation"}


def test_list_opens_another_year_and_refuses_one_out_of_range(tenant_a, mediator, client_a):
    assert client_a.get("/staff/rapports/?annee=2019")["Location"] == "/staff/rapports/2019/"

    response = client_a.get("/staff/rapports/?annee=2015")

    assert response.status_code == 400
    assert "Indiquez une année entre 2016 et" in response.content.decode()


def test_staff_home_links_to_the_reports(tenant_a, mediator, client_a):
    assert 'href="/staff/rapports/"' in client_a.get("/staff/").content.decode()


# --- A year's figures ---------------------------------------------------------------------------------------


def test_year_page_shows_the_computed_figures(cases, mediator, client_a):
    figures = compute(Period.year(YEAR))

    response = client_a.get(f"/staff/rapports/{YEAR}/")

    content = response.content.decode()
    assert response.status_code == 200
    assert figures.received == 5 and figures.refused == 2
    assert count_link(content, YEAR, "received") == str(figures.received)
    assert count_link(content, YEAR, "refused") == str(figures.refused)
    assert count_link(content, YEAR, "stopped") == str(figures.stopped) == "1"
    assert count_link(content, YEAR, "subject", "delivery") == "3"
    assert count_link(content, YEAR, "refusal_reason", "too_late") == "1"
    assert count_link(content, YEAR, "stop_reason", "withdrawn_business") == "1"
    assert "40,0\u00a0%" in content  # 2 refused of 5 received
    assert "50,0\u00a0%" in content  # 1 stopped of 2 opened


def test_year_page_compares_with_the_previous_year(cases, mediator, client_a):
    content = client_a.get(f"/staff/rapports/{YEAR}/").content.decode()

    received_row = re.search(r'dossiers/received/">5<.*?</tr>', content, re.S)
    assert received_row is not None
    cells = re.findall(r'<td class="number">([^<]*)</td>', received_row.group(0))
    assert cells == ["", "1", "+4 (+400,0\u00a0%)"]  # share (none), previous period, change
    refused_row = re.search(r'dossiers/refused/">2<.*?</tr>', content, re.S)
    assert refused_row is not None
    assert re.findall(r'<td class="number">([^<]*)</td>', refused_row.group(0)) == [
        "40,0\u00a0%",
        "1",
        "+1 (+100,0\u00a0%)",
    ]


def test_year_page_uses_the_period_of_the_report(cases, mediator, client_a):
    AnnualReport.objects.create(
        year=YEAR, period_start=datetime.date(YEAR, 1, 1), period_end=datetime.date(YEAR, 3, 31)
    )

    content = client_a.get(f"/staff/rapports/{YEAR}/").content.decode()

    assert count_link(content, YEAR, "received") == "2"
    assert "du 1 janvier 2024 au 31 mars 2024" in content
    # The traced list follows the same period.
    assert references(client_a.get(f"/staff/rapports/{YEAR}/dossiers/received/")) == {
        cases["agreed"].reference,
        cases["late"].reference,
    }


def test_empty_year_shows_dashes_for_shares(tenant_a, mediator, client_a):
    content = client_a.get("/staff/rapports/2019/").content.decode()

    assert "<td>—<span" in content  # a breakdown row's share with nothing to divide by
    assert "Pas encore rédigé." in content


def test_finance_sees_the_numbers_without_links_to_the_cases(cases, client_a):
    client_a.force_login(UserFactory(role=User.Role.FINANCE))

    content = client_a.get(f"/staff/rapports/{YEAR}/").content.decode()

    assert "/dossiers/" not in content
    assert "Modifier les textes et la période" not in content and "Publier sur le site" not in content
    assert "Télécharger le PDF" in content and "Télécharger le tableur (XLSX)" in content


@pytest.mark.parametrize("year", [2015, timezone.localdate().year + 1])
def test_year_out_of_range_is_not_found(tenant_a, mediator, client_a, year):
    for url in ("", "dossiers/received/", "modifier/", "rapport.pdf", "rapport.xlsx", "publier/"):
        assert client_a.get(f"/staff/rapports/{year}/{url}").status_code == 404, url


# --- The cases behind a figure ------------------------------------------------------------------------------


def test_traced_list_holds_exactly_the_cases_of_a_total(cases, mediator, client_a):
    response = client_a.get(f"/staff/rapports/{YEAR}/dossiers/refused/")

    content = response.content.decode()
    assert response.status_code == 200
    assert references(response) == {cases["late"].reference, cases["out_of_scope"].reference}
    assert "Demandes refusées (irrecevables)" in content
    assert "2 dossiers" in content
    assert f'href="/staff/dossiers/{cases["late"].reference}/"' in content


def test_traced_list_holds_exactly_the_cases_of_a_breakdown_row(cases, mediator, client_a):
    by_reason = client_a.get(f"/staff/rapports/{YEAR}/dossiers/refusal_reason/?value=too_late")
    by_subject = client_a.get(f"/staff/rapports/{YEAR}/dossiers/subject/?value=delivery")
    by_member = client_a.get(f"/staff/rapports/{YEAR}/dossiers/member/?value={cases['late'].member_id}")

    assert references(by_reason) == {cases["late"].reference}
    assert "Motif du refus (L612-2) : Demande introduite plus d&#x27;un an" in by_reason.content.decode()
    assert references(by_subject) == {
        cases["agreed"].reference,
        cases["out_of_scope"].reference,
        cases["pending"].reference,
    }
    assert references(by_member) == {cases["agreed"].reference, cases["late"].reference}
    assert "Professionnel : Boutique Alpha" in by_member.content.decode()


def test_traced_list_is_paginated_by_fifty(tenant_a, mediator, client_a):
    Case.objects.bulk_create(
        Case(reference=f"P-{n:05d}", status=Status.RECEIVED, received_at=at(YEAR, 1, 2)) for n in range(51)
    )

    first = client_a.get(f"/staff/rapports/{YEAR}/dossiers/pending/").content.decode()
    second = client_a.get(f"/staff/rapports/{YEAR}/dossiers/pending/?page=2").content.decode()

    assert first.count(">P-0") == 50 and "51 dossiers" in first and "page=2" in first
    assert second.count(">P-0") == 1


@pytest.mark.parametrize(
    "url",
    [
        "dossiers/nope/",
        "dossiers/stop_reason/?value=bogus",
        "dossiers/stop_reason/",
        "dossiers/subject/?value=bogus",
        "dossiers/member/?value=abc",
        "dossiers/member/?value=999999",
    ],
)
def test_unknown_scope_or_value_is_not_found(tenant_a, mediator, client_a, url):
    assert client_a.get(f"/staff/rapports/{YEAR}/{url}").status_code == 404


# --- The period and texts ----------------------------------------------------------------------------------


def edit_data(**changes: str) -> dict[str, str]:
    data = {
        "period_start": f"{YEAR}-01-01",
        "period_end": f"{YEAR}-12-31",
        "recurring_problems": "Les **retards de livraison** restent le premier motif.",
        "cooperation": "Membre du Club des médiateurs.",
        "training": "Deux jours de formation à l'écoute active.",
    }
    data.update(changes)
    return data


def test_edit_form_saves_the_period_and_texts(tenant_a, mediator, client_a):
    form = client_a.get(f"/staff/rapports/{YEAR}/modifier/")
    assert form.status_code == 200 and f'value="{YEAR}-01-01"' in form.content.decode()

    response = client_a.post(f"/staff/rapports/{YEAR}/modifier/", edit_data(period_end=f"{YEAR}-06-30"))

    assert response.status_code == 302 and response["Location"] == f"/staff/rapports/{YEAR}/"
    report = AnnualReport.objects.get(year=YEAR)
    assert report.period_end == datetime.date(YEAR, 6, 30)
    assert report.cooperation == "Membre du Club des médiateurs."
    assert report.updated_by == mediator
    page = client_a.get(f"/staff/rapports/{YEAR}/").content.decode()
    assert "<strong>retards de livraison</strong>" in page
    assert "En préparation" in page


def test_edit_form_escapes_scripts_in_the_texts(tenant_a, mediator, client_a):
    client_a.post(f"/staff/rapports/{YEAR}/modifier/", edit_data(training="<script>alert(1)</script>Formation"))

    page = client_a.get(f"/staff/rapports/{YEAR}/").content.decode()

    assert "<script>alert(1)</script>" not in page and "Formation" in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"period_start": f"{YEAR - 1}-12-01"}, "period_start", "La période commence dans l&#x27;année du rapport."),
        ({"period_end": f"{YEAR + 1}-01-31"}, "period_end", "La période finit dans l&#x27;année du rapport."),
        (
            {"period_start": f"{YEAR}-06-01", "period_end": f"{YEAR}-03-31"},
            "period_end",
            "La fin de la période précède son début.",
        ),
        ({"period_start": "pas une date"}, "period_start", "Saisissez une date valide."),
    ],
)
def test_edit_form_shows_the_errors_and_saves_nothing(tenant_a, mediator, client_a, changes, field, message):
    response = client_a.post(f"/staff/rapports/{YEAR}/modifier/", edit_data(**changes))

    content = response.content.decode()
    assert response.status_code == 400
    assert message in content
    assert f'id="id_{field}_error"' in content
    assert not AnnualReport.objects.exists()  # not even an empty report


def test_edit_form_starts_from_the_saved_report(tenant_a, mediator, client_a):
    AnnualReport.objects.create(
        year=YEAR, period_start=datetime.date(YEAR, 2, 1), period_end=datetime.date(YEAR, 11, 30), training="Déjà écrit"
    )

    content = client_a.get(f"/staff/rapports/{YEAR}/modifier/").content.decode()

    assert f'value="{YEAR}-02-01"' in content and "Déjà écrit</textarea>" in content


# --- Documents and publication -----------------------------------------------------------------------------


def test_pdf_and_xlsx_are_downloaded_as_attachments(cases, mediator, client_a):
    pdf = client_a.get(f"/staff/rapports/{YEAR}/rapport.pdf")
    xlsx = client_a.get(f"/staff/rapports/{YEAR}/rapport.xlsx")

    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == f'attachment; filename="rapport-activite-{YEAR}.pdf"'
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
    assert xlsx["Content-Disposition"] == f'attachment; filename="rapport-activite-{YEAR}.xlsx"'
    assert not AnnualReport.objects.exists()  # reading never creates the report


def test_publish_puts_the_pdf_on_the_site_and_marks_the_report_published(cases, mediator, client_a, media_root):
    confirmation = client_a.get(f"/staff/rapports/{YEAR}/publier/").content.decode()
    assert "Publier</button>" in confirmation and "remplacera" not in confirmation

    response = client_a.post(f"/staff/rapports/{YEAR}/publier/", follow=True)

    published = site_selectors.published_report(year=YEAR)
    assert published is not None
    with published.file.open("rb") as handle:
        assert handle.read(5) == b"%PDF-"
    report = AnnualReport.objects.get(year=YEAR)
    assert report.status == AnnualReport.Status.PUBLISHED and report.published_at is not None
    content = response.content.decode()
    assert f"{firm_site_url()}/rapports/{YEAR}.pdf" in content
    assert "Publié le" in content


def test_publishing_again_says_it_replaces_the_published_pdf(cases, mediator, client_a, media_root):
    client_a.post(f"/staff/rapports/{YEAR}/publier/")
    first = site_selectors.published_report(year=YEAR)
    assert first is not None

    confirmation = client_a.get(f"/staff/rapports/{YEAR}/publier/").content.decode()
    client_a.post(f"/staff/rapports/{YEAR}/publier/")

    assert "ce nouveau PDF le remplacera" in confirmation and "Remplacer le PDF publié" in confirmation
    second = site_selectors.published_report(year=YEAR)
    assert second is not None and second.pk == first.pk and second.published_at > first.published_at


# --- Another firm --------------------------------------------------------------------------------------------


def test_another_firm_sees_none_of_these_cases(cases, client_b, use_tenant):
    use_tenant("beta")
    client_b.force_login(UserFactory(role=User.Role.ADMIN))

    year_page = client_b.get(f"/staff/rapports/{YEAR}/").content.decode()
    traced = client_b.get(f"/staff/rapports/{YEAR}/dossiers/received/")
    years = client_b.get("/staff/rapports/").content.decode()

    assert count_link(year_page, YEAR, "received") is None  # zero: not a link
    assert re.search(r"Demandes reçues</th>\s*<td class=\"number\">0</td>", year_page)
    assert references(traced) == set() and "0 dossier" in traced.content.decode()
    assert f'href="/staff/rapports/{YEAR}/"' not in years
