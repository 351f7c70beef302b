"""Accessibility in a real browser: axe-core on each page, and the filing wizard's first step by keyboard.

axe-core (bundled by axe-playwright-python, run offline) checks each page as Chromium rendered it, CSS
included (contrast). A page passes with no violation of impact "serious" or "critical"; "moderate" and
"minor" ones are not counted here. Every page is required to answer 200 first, so that an error page
cannot pass for the page meant.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, open_page
from tests.factories import (
    PDF_BYTES,
    AdminFactory,
    MediatorFactory,
    MemberFactory,
    UserFactory,
    opened_case,
    received_case,
    valid_siren,
)

AXE = Axe()
BLOCKING_IMPACTS = ("serious", "critical")

# The firm's public pages (firm A's host) built before the public site: filing, following a case
# (the parties' login), joining, the staff login.
FIRM_PAGES = (
    "/",
    "/deposer/",
    "/suivi/",
    "/adherer/",
    "/accounts/login/",
)
# The firm's public information site (public_site/site_urls.py, R614-1). Extend it with each new page.
FIRM_SITE_PAGES = (
    "/le-mediateur/",
    "/saisir-le-mediateur/",
    "/rapports/",
    "/verifier-un-professionnel/",
    "/faq/",
    "/mentions-legales/",
    "/donnees-personnelles/",
    "/accessibilite/",
    "/actualites/",
    "/actualites/rapport-annuel-2025-publie/",
)
# The platform's host (localhost): its home and the search for a firm's mediator.
PLATFORM_PAGES = (
    "/",
    "/trouver-un-mediateur/",
)


def blocking_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations of impact serious or critical on the page as it is now."""
    violations = AXE.run(page).response["violations"]
    return [violation for violation in violations if violation["impact"] in BLOCKING_IMPACTS]


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per element: rule id, impact, CSS target, what the rule asks."""
    lines = []
    for violation in violations:
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            lines.append(f"{violation['id']} ({violation['impact']}) at {target}: {violation['help']}")
    return "\n".join(lines)


def assert_accessible(page: Page) -> None:
    violations = blocking_violations(page)
    assert not violations, f"{page.url}:\n{describe(violations)}"


PAGE_BODY = """Le médiateur examine les litiges entre consommateurs et professionnels adhérents.

## Comment faire ?

1. Adressez d'abord une **réclamation écrite** au professionnel.
2. Sans réponse satisfaisante sous deux mois, [déposez votre demande](/deposer/).

- La médiation est *gratuite* pour le consommateur.
- Elle est confidentielle.
"""


@pytest.fixture
def firm_content(firm_site: Site) -> None:
    """What a firm's public pages show: a mediator, a covered member, its texts, pages and news published."""
    from firm import site_services
    from firm.models import SitePage

    MediatorFactory()
    MemberFactory(legal_name="Électro Ménager SAS", trade_name="ElectroPlus", status="active")
    admin: Any = AdminFactory()  # factory_boy returns the model instance
    site_services.save_site_settings(
        by=admin,
        presentation="Le **Cabinet Alpha** est médiateur de la consommation référencé.",
        disputes_handled="Les litiges de consommation avec nos professionnels adhérents.",
    )
    for kind, title in SitePage.Kind.choices:
        page = site_services.save_page_draft(by=admin, kind=kind, language="fr", title=str(title), body=PAGE_BODY)
        site_services.publish(by=admin, item=page)
    news = site_services.save_news_draft(by=admin, title="Rapport annuel 2025 publié", body=PAGE_BODY)
    site_services.publish(by=admin, item=news)


# --- The harness itself ---------------------------------------------------------------------


def test_the_check_reports_a_serious_violation(page: Page) -> None:
    """axe runs and its serious violations are caught: a form field with no label, grey on white text."""
    page.set_content(
        '<!doctype html><html lang="fr"><head><title>t</title></head><body><main>'
        '<input type="text" name="q"><p style="color:#ddd;background:#fff">Texte illisible</p>'
        "</main></body></html>"
    )
    found = {violation["id"] for violation in blocking_violations(page)}
    assert {"label", "color-contrast"} <= found


# --- Pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FIRM_PAGES)
def test_firm_page_has_no_serious_violation(path: str, page: Page, firm_site: Site, firm_content: None) -> None:
    open_page(page, firm_site.url(path))
    assert_accessible(page)


@pytest.mark.parametrize("path", FIRM_SITE_PAGES)
def test_firm_site_page_has_no_serious_violation(path: str, page: Page, firm_site: Site, firm_content: None) -> None:
    open_page(page, firm_site.url(path))
    assert_accessible(page)


@pytest.mark.parametrize("path", PLATFORM_PAGES)
def test_platform_page_has_no_serious_violation(path: str, page: Page, platform_site: Site) -> None:
    open_page(page, platform_site.url(path))
    assert_accessible(page)


def test_staff_inbox_and_case_page_have_no_serious_violation(
    page: Page, firm_site: Site, log_in: Any, media_root: Any, eager_celery: None
) -> None:
    mediator = UserFactory(role="mediator", first_name="Hélène", last_name="Médiatrice")
    case = opened_case(mediator, MemberFactory(legal_name="Garage Central SAS", status="active"))
    log_in(mediator)

    open_page(page, firm_site.url("/staff/dossiers/"))
    expect(page.get_by_role("link", name=case.reference)).to_be_visible()
    assert_accessible(page)

    open_page(page, firm_site.url(f"/staff/dossiers/{case.reference}/"))
    expect(page.get_by_text("Garage Central SAS").first).to_be_visible()
    assert_accessible(page)


# --- Forms through their states: errors, each step, the end ------------------------------------


def submit(page: Page, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def test_the_filing_wizard_through_every_step_and_its_errors(
    page: Page, firm_site: Site, firm_content: None, media_root: Path, eager_celery: None, mailoutbox: Any
) -> None:
    open_page(page, firm_site.url("/deposer/"))
    submit(page, "Continuer")
    expect(page.locator("#error-summary")).to_be_visible()
    assert_accessible(page)

    page.check("#id_is_consumer_0")
    page.fill("input[name=business_query]", "Électro")
    submit(page, "Rechercher")
    assert_accessible(page)  # the search results
    page.check("input[name=member]")
    page.check("#id_complained_0")
    page.fill("#id_complained_on", (datetime.date.today() - datetime.timedelta(days=20)).isoformat())
    page.check("#id_other_proceedings_1")
    submit(page, "Continuer")

    expect(page).to_have_url(firm_site.url("/deposer/coordonnees/"))
    submit(page, "Enregistrer et continuer")
    expect(page.locator("#error-summary")).to_be_visible()
    assert_accessible(page)
    page.fill("#id_consumer_last_name", "Martin")
    page.get_by_label("Adresse e-mail").fill("jeanne.martin@example.org")
    submit(page, "Enregistrer et continuer")

    expect(page).to_have_url(firm_site.url("/deposer/litige/"))
    assert_accessible(page)
    page.get_by_label("Objet du litige").select_option(index=1)
    page.get_by_label("Décrivez le litige").fill("Commande payée le 2 mars, jamais livrée.")
    submit(page, "Enregistrer et continuer")

    expect(page).to_have_url(firm_site.url("/deposer/documents/"))
    assert_accessible(page)
    complaint = media_root / "reclamation.pdf"
    complaint.write_bytes(PDF_BYTES)
    page.get_by_label("Fichier").set_input_files(complaint)
    submit(page, "Ajouter ce fichier")
    expect(page.get_by_text("reclamation.pdf").first).to_be_visible()
    assert_accessible(page)
    submit(page, "Continuer")

    expect(page).to_have_url(firm_site.url("/deposer/verification/"))
    submit(page, "Envoyer ma demande")
    expect(page.locator("#error-summary")).to_be_visible()
    assert_accessible(page)
    page.check("input[name=consent]")
    submit(page, "Envoyer ma demande")

    expect(page).to_have_url(firm_site.url("/deposer/envoyee/"))
    assert_accessible(page)


def test_the_parties_space_from_login_to_the_case(
    page: Page, firm_site: Site, firm_content: None, media_root: Path, eager_celery: None, mailoutbox: Any
) -> None:
    case = received_case(MemberFactory(legal_name="Garage Central SAS", status="active"))
    open_page(page, firm_site.url("/suivi/"))
    submit(page, "Recevoir un code")
    expect(page.locator("#error-summary")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Votre adresse e-mail").fill(case.consumer_email)
    submit(page, "Recevoir un code")

    expect(page).to_have_url(firm_site.url("/suivi/code/"))
    assert_accessible(page)
    code = re.search(r"\b(\d{6})\b", mailoutbox[-1].body)
    assert code is not None, mailoutbox[-1].body
    page.get_by_label("Code reçu par e-mail").fill(code.group(1))
    submit(page, "Accéder à mon espace")

    expect(page).to_have_url(firm_site.url("/suivi/dossiers/"))
    assert_accessible(page)
    with page.expect_navigation():
        page.get_by_role("link", name=case.reference).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(case.reference)
    assert_accessible(page)


def test_joining_siren_and_details_steps(page: Page, firm_site: Site, firm_content: None) -> None:
    open_page(page, firm_site.url("/adherer/"))
    submit(page, "Continuer")
    expect(page.locator("#error-summary")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("textbox").first.fill(valid_siren(4242))
    submit(page, "Continuer")

    expect(page).to_have_url(firm_site.url("/adherer/coordonnees/"))
    assert_accessible(page)
    submit(page, "Continuer")
    expect(page.locator("#error-summary")).to_be_visible()
    assert_accessible(page)


# --- Keyboard only --------------------------------------------------------------------------

MAX_TABS = 80


def tab_to(page: Page, selector: str) -> None:
    """Press Tab until the focused element matches `selector`: it is reachable by keyboard, in order."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement !== null && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} not reached with {MAX_TABS} presses of Tab")


def same_day_and_month_before(today: datetime.date) -> datetime.date:
    """The last date before today whose day and month are equal (12/12, 11/11…), less than a year ago.

    A date field's typing order follows Chromium's interface language (Debian ships it in en-US only:
    mm/dd/yyyy), not the page's: with day = month the keys are the same in either order.
    """
    day = today - datetime.timedelta(days=1)
    while day.day != day.month:
        day -= datetime.timedelta(days=1)
    return day


def test_the_filing_wizard_first_step_by_keyboard_only(page: Page, firm_site: Site, firm_content: None) -> None:
    complained_on = same_day_and_month_before(datetime.date.today())
    open_page(page, firm_site.url("/deposer/"))

    tab_to(page, "#id_is_consumer_0")
    page.keyboard.press("Space")
    expect(page.locator("#id_is_consumer_0")).to_be_checked()

    # Enter in the search field submits the form's first button, "Rechercher": the answers so far are kept.
    tab_to(page, "input[name=business_query]")
    page.keyboard.type("Électro")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#id_is_consumer_0")).to_be_checked()
    tab_to(page, "input[name=member]")
    page.keyboard.press("Space")
    expect(page.get_by_label("Électro Ménager SAS", exact=False)).to_be_checked()

    tab_to(page, "#id_complained_0")
    page.keyboard.press("Space")
    tab_to(page, "#id_complained_on")
    page.keyboard.type(complained_on.strftime("%d%m%Y"))
    expect(page.locator("#id_complained_on")).to_have_value(complained_on.isoformat())

    # Tab enters a radio group on its first button; the arrow keys move to (and choose) the next.
    tab_to(page, "#id_other_proceedings_0")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#id_other_proceedings_1")).to_be_checked()

    tab_to(page, "button[value=next]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == firm_site.url("/deposer/coordonnees/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Vos coordonnées")
