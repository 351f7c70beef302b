"""The firm's public site: R614-1 items from the firm's data with their markers, lookup, pages, news, reports."""

from __future__ import annotations

import datetime
import html
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from firm import services as firm_services
from firm import site_checklist
from firm import site_services as site
from firm.models import SitePage
from mediation.cases.models import InadmissibilityReason
from tests.factories import AdminFactory, MemberFactory, pdf_upload

SIREN = "732829320"
ADDRESS = {"address_line1": "12 rue de la République", "postcode": "69002", "city": "Lyon"}
REPORT_YEAR = timezone.localdate().year - 1
ALL_PARTS = frozenset({"address", "contact", "mediators", "coverages", "networks", "disputes_handled", "report"})


@pytest.fixture
def admin(tenant_a):
    return AdminFactory(email="claire@example.fr")


def build_site(admin: Any, *, without: frozenset[str] | set[str] = frozenset()) -> None:
    """A firm whose site has every R614-1 item, except the parts named in `without`."""
    parts = ALL_PARTS - set(without)
    profile: dict[str, Any] = {"legal_name": "Cabinet Alpha Médiation", "legal_form": "SAS", "siren": SIREN}
    if "address" in parts:
        profile.update(ADDRESS)
    if "contact" in parts:
        profile.update(contact_email="contact@alpha.example.fr", contact_phone="04 72 00 00 00")
    firm_services.update_firm_profile(by=admin, **profile)
    if "mediators" in parts:
        firm_services.create_mediator(
            by=admin,
            first_name="Hélène",
            last_name="Roux",
            email="helene@example.fr",
            listed_on=datetime.date(2024, 1, 15),
            term_ends_on=timezone.localdate() + datetime.timedelta(days=3 * 365),
        )
    if "coverages" in parts:
        site.save_coverage(by=admin, kind="sector", name="Commerce en ligne", name_en="Online retail")
        site.save_coverage(
            by=admin,
            kind="convention",
            name="Convention du e-commerce",
            partner="Fédération du e-commerce",
            signed_on=datetime.date(2025, 3, 4),
        )
    if "networks" in parts:
        site.save_network(by=admin, name="Club des médiateurs", website="https://clubdesmediateurs.example.fr")
    texts: dict[str, Any] = {
        "presentation": "Le médiateur des **boutiques en ligne**.",
        "disputes_excluded": "Les litiges sur les **cartes cadeaux**.",
    }
    if "disputes_handled" in parts:
        texts["disputes_handled"] = "Livraison, garantie et *facturation*."
    site.save_site_settings(by=admin, **texts)
    if "report" in parts:
        site.publish_report(by=admin, year=REPORT_YEAR, file=pdf_upload(), summary="1 200 demandes reçues.")


def publish_page(admin: Any, kind: str, *, language: str = "fr", title: str = "", body: str = "Texte.") -> SitePage:
    page = site.save_page_draft(by=admin, kind=kind, language=language, title=title or kind, body=body)
    return site.publish(by=admin, item=page)


def text(response: Any) -> str:
    """The page's text with entities decoded (apostrophes come escaped)."""
    return html.unescape(response.content.decode())


def marker(key: str) -> str:
    return f'data-r614="{key}"'


# --- Every R614-1 item, from the firm's data ---------------------------------------------------------------


def test_the_mediator_page_shows_identity_contact_mediators_coverages_and_networks(admin, client_a, media_root):
    build_site(admin)

    page = text(client_a.get("/le-mediateur/"))

    for key in ("identity", "contact", "mediators", "coverages", "networks"):
        assert marker(key) in page
    assert "Cabinet Alpha Médiation (SAS)" in page
    assert "12 rue de la République" in page and "69002 Lyon" in page
    assert "732 829 320" in page
    assert 'href="mailto:contact@alpha.example.fr"' in page and "04 72 00 00 00" in page
    assert "Hélène Roux" in page
    assert "le 15 janvier 2024" in page
    term_ends = timezone.localdate() + datetime.timedelta(days=3 * 365)
    assert f"mandat jusqu'au {term_ends.day} " in page
    assert "Commerce en ligne" in page
    assert "Convention du e-commerce — signée avec Fédération du e-commerce, le 4 mars 2025" in page
    assert "Club des médiateurs" in page
    assert 'href="/rapports/"' in page


def test_the_how_to_file_page_shows_filing_procedure_and_disputes(admin, client_a, media_root):
    build_site(admin)

    page = text(client_a.get("/saisir-le-mediateur/"))

    for key in ("online_filing", "postal_filing", "procedure", "disputes_handled", "disputes_refused"):
        assert marker(key) in page
    assert 'href="/deposer/"' in page
    assert "PDF, JPEG, PNG" in page
    assert "Cabinet Alpha Médiation<br>12 rue de la République<br>69002 Lyon" in page
    assert "gratuite pour le consommateur" in page
    assert "retirer de la médiation à tout moment" in page
    assert "saisir un tribunal" in page
    assert "90 jours à compter de cette notification" in page and "si le litige est complexe" in page
    assert "Livraison, garantie et <em>facturation</em>." in page
    for reason in InadmissibilityReason.labels:
        assert str(reason) in page
    assert "Les litiges sur les <strong>cartes cadeaux</strong>." in page


def test_a_site_postal_address_replaces_the_firms(admin, client_a, media_root):
    build_site(admin)
    site.save_site_settings(by=admin, postal_address="Service médiation\nBP 42\n69001 Lyon Cedex")

    page = text(client_a.get("/saisir-le-mediateur/"))

    assert "Service médiation<br>BP 42<br>69001 Lyon Cedex" in page
    assert "12 rue de la République" not in page


def test_the_reports_page_lists_the_published_reports(admin, client_a, media_root):
    build_site(admin)

    page = text(client_a.get("/rapports/"))

    assert marker("annual_report") in page
    assert f"Rapport d'activité {REPORT_YEAR}" in page
    assert "1 200 demandes reçues." in page
    assert f'href="/rapports/{REPORT_YEAR}.pdf"' in page


def test_no_network_is_said_plainly_when_declared(admin, client_a, media_root):
    build_site(admin, without={"networks"})
    site.save_site_settings(by=admin, no_network=True)

    page = text(client_a.get("/le-mediateur/"))

    assert "Le médiateur n'adhère à aucun réseau de médiateurs." in page
    assert marker("networks") in page


MISSING_CASES = [
    # (part left out, checklist key, what the page says instead)
    ("coverages", "coverages", "Les secteurs couverts seront bientôt publiés."),
    ("address", "postal_filing", "L'adresse postale du médiateur sera bientôt publiée."),
    ("address", "identity", "L'adresse du médiateur sera bientôt publiée."),
    ("report", "annual_report", "Le médiateur n'a pas encore publié de rapport d'activité sur ce site."),
    ("networks", "networks", "L'appartenance du médiateur à des réseaux sera bientôt publiée."),
    ("mediators", "mediators", "Les médiateurs et la durée de leur mandat seront bientôt publiés."),
    ("contact", "contact", "Les coordonnées du médiateur seront bientôt publiées."),
    ("disputes_handled", "disputes_handled", "Les types de litiges traités par le médiateur seront bientôt publiés."),
]


@pytest.mark.parametrize(("part", "key", "instead"), MISSING_CASES, ids=[case[1] for case in MISSING_CASES])
def test_a_missing_item_has_no_marker_and_the_checklist_says_missing(admin, client_a, media_root, part, key, instead):
    build_site(admin, without={part})
    item = next(item for item in site_checklist.checklist() if item.key == key)

    page = text(client_a.get(reverse(item.public_url_name)))

    assert item.status == site_checklist.Status.MISSING
    assert marker(key) not in page
    assert instead in page


SCENARIOS = {
    "complete": frozenset(),
    "empty": ALL_PARTS,
    "no_address_nor_report": frozenset({"address", "report"}),
    "no_coverages_nor_mediators": frozenset({"coverages", "mediators", "networks"}),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_pages_and_the_checklist_agree_on_every_item(admin, client_a, media_root, scenario):
    build_site(admin, without=SCENARIOS[scenario])
    publish_page(admin, SitePage.Kind.LEGAL_NOTICE)
    items = [item for item in site_checklist.checklist() if item.public_url_name]
    pages: dict[str, str] = {}

    for item in items:
        if item.public_url_name not in pages:
            pages[item.public_url_name] = client_a.get(reverse(item.public_url_name)).content.decode()
        if item.status == site_checklist.Status.OK:
            assert marker(item.key) in pages[item.public_url_name], item.key
        elif item.status == site_checklist.Status.MISSING:
            assert marker(item.key) not in pages[item.public_url_name], item.key
    assert {item.key for item in items if item.ok} >= {"online_filing", "procedure", "page_legal_notice"}


# --- Is this business a member? ------------------------------------------------------------------------------


@pytest.fixture
def covered(tenant_a):
    return MemberFactory(
        legal_name="Électro Ménager SAS",
        trade_name="ElectroPlus",
        status="active",
        websites=["https://www.boutique-electro.example.fr"],
    )


@pytest.mark.parametrize("query", ["ménager sas", "electroplus", "{siren_spaced}", "boutique-electro.example.fr"])
def test_lookup_finds_a_covered_member_by_name_siren_or_website(covered, client_a, query):
    siren = covered.siren
    query = query.format(siren_spaced=f"{siren[:3]} {siren[3:6]} {siren[6:]}")

    response = client_a.get("/verifier-un-professionnel/", {"q": query})

    page = text(response)
    assert response.status_code == 200
    assert "Électro Ménager SAS est adhérent : vous pouvez saisir le médiateur." in page
    assert f'href="/deposer/?adherent={siren}"' in page


def test_the_filing_link_of_a_lookup_preselects_the_member(covered, client_a):
    page = client_a.get(f"/deposer/?adherent={covered.siren}").content.decode()

    assert f'value="{covered.pk}" id="member-{covered.pk}" checked' in page


def test_lookup_says_plainly_when_no_member_matches(covered, client_a):
    MemberFactory(legal_name="Ancien Adhérent SARL", status="lapsed")

    response = client_a.get("/verifier-un-professionnel/", {"q": "Ancien Adhérent"})

    page = text(response)
    assert response.status_code == 200
    assert "Aucun adhérent ne correspond à « Ancien Adhérent »" in page
    assert "adhérent : vous pouvez saisir le médiateur" not in page
    assert "/trouver-un-mediateur/annuaire/" in page
    assert "/trouver-un-mediateur/" in page


@pytest.mark.parametrize("query", ["", "a", " x ", "\x00"])
def test_lookup_answers_a_short_or_bad_query_with_a_form_error(tenant_a, client_a, query):
    response = client_a.get("/verifier-un-professionnel/", {"q": query})

    assert response.status_code == 400
    page = text(response)
    assert 'role="alert"' in page and 'aria-invalid="true"' in page
    assert "adhérent : vous pouvez saisir le médiateur" not in page


def test_lookup_without_a_query_shows_the_form_only(tenant_a, client_a):
    response = client_a.get("/verifier-un-professionnel/")

    assert response.status_code == 200
    assert 'role="search"' in response.content.decode()
    assert "Aucun adhérent" not in text(response)


def test_the_home_page_has_the_entry_points_the_lookup_and_the_latest_news(admin, client_a, media_root):
    build_site(admin)
    for n in range(4):
        site.publish(by=admin, item=site.save_news_draft(by=admin, title=f"Nouvelle {n}", body="Texte."))

    page = text(client_a.get("/"))

    assert "<h1>Cabinet Alpha Médiation</h1>" in page
    assert "Le médiateur des <strong>boutiques en ligne</strong>." in page
    assert "Livraison, garantie et facturation." in page
    assert 'href="/deposer/"' in page and 'href="/suivi/"' in page
    assert 'action="/verifier-un-professionnel/"' in page
    assert 'href="/le-mediateur/"' in page and 'href="/saisir-le-mediateur/"' in page
    assert sum(f"Nouvelle {n}" in page for n in range(4)) == 3


# --- Legal pages and news: only what is published ------------------------------------------------------------

LEGAL_URLS = {
    SitePage.Kind.FAQ: "/faq/",
    SitePage.Kind.LEGAL_NOTICE: "/mentions-legales/",
    SitePage.Kind.PRIVACY: "/donnees-personnelles/",
    SitePage.Kind.ACCESSIBILITY: "/accessibilite/",
}


@pytest.mark.parametrize("kind", LEGAL_URLS)
def test_a_legal_page_shows_its_published_version(admin, client_a, kind):
    page = publish_page(admin, kind, title="Le titre publié", body="## Partie\n\nLe texte <script>alert(1)</script>")
    site.save_page_draft(by=admin, kind=kind, language="fr", title="Brouillon", body="Pas encore publié.")

    body = text(client_a.get(LEGAL_URLS[kind]))

    assert "<h1>Le titre publié</h1>" in body
    assert "<h2>Partie</h2>" in body  # the body's top heading follows the h1
    assert f"Mise à jour le {timezone.localtime(page.published_at).day} " in body
    assert "<script>alert" not in body
    assert "Brouillon" not in body and "Pas encore publié." not in body


@pytest.mark.parametrize("kind", LEGAL_URLS)
def test_a_legal_page_never_published_or_withdrawn_is_not_found(admin, client_a, kind):
    page = site.save_page_draft(by=admin, kind=kind, language="fr", title="Brouillon", body="Texte.")
    assert client_a.get(LEGAL_URLS[kind]).status_code == 404

    site.publish(by=admin, item=page)
    assert client_a.get(LEGAL_URLS[kind]).status_code == 200

    site.unpublish(by=admin, item=page)
    assert client_a.get(LEGAL_URLS[kind]).status_code == 404


def test_a_draft_news_post_is_never_shown(admin, client_a):
    draft = site.save_news_draft(by=admin, title="Annonce en préparation", body="Secret.")
    published = site.publish(by=admin, item=site.save_news_draft(by=admin, title="Annonce publiée", body="Public."))

    listing = text(client_a.get("/actualites/"))

    assert "Annonce publiée" in listing and "Annonce en préparation" not in listing
    assert client_a.get(f"/actualites/{draft.slug}/").status_code == 404
    assert client_a.get("/actualites/inconnue/").status_code == 404
    post = text(client_a.get(f"/actualites/{published.slug}/"))
    assert "<h1>Annonce publiée</h1>" in post and "Public." in post


def test_news_is_paginated_ten_per_page_and_a_bad_page_number_does_not_crash(admin, client_a):
    for n in range(12):
        site.publish(by=admin, item=site.save_news_draft(by=admin, title=f"Nouvelle numéro {n:02d}", body="Texte."))

    first = text(client_a.get("/actualites/"))
    second = text(client_a.get("/actualites/", {"page": 2}))

    assert first.count("Nouvelle numéro") == 10 and second.count("Nouvelle numéro") == 2
    assert "Page 1 sur 2" in first and 'href="?page=2"' in first
    assert client_a.get("/actualites/", {"page": "abc"}).status_code == 200
    assert "Page 2 sur 2" in text(client_a.get("/actualites/", {"page": 999}))


# --- English ---------------------------------------------------------------------------------------------------


@pytest.fixture
def english(client_a):
    client_a.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client_a


def test_in_english_the_english_texts_are_shown_and_french_stands_in(admin, english, media_root):
    build_site(admin)
    site.save_site_settings(by=admin, presentation_en="The mediator of **online shops**.")

    home = text(english.get("/"))
    how = text(english.get("/saisir-le-mediateur/"))
    mediator = text(english.get("/le-mediateur/"))

    assert '<html lang="en">' in home
    assert "The mediator of <strong>online shops</strong>." in home
    assert "boutiques en ligne" not in home
    assert "Livraison, garantie et <em>facturation</em>." in how  # no English version: the French one
    assert "Online retail" in mediator  # a sector's English name


def test_in_english_the_english_version_of_a_page_is_shown_else_the_french(admin, english):
    publish_page(admin, SitePage.Kind.LEGAL_NOTICE, title="Mentions légales", body="Éditeur du site.")
    publish_page(admin, SitePage.Kind.LEGAL_NOTICE, language="en", title="Legal notice", body="Publisher.")
    publish_page(admin, SitePage.Kind.PRIVACY, title="Données personnelles", body="Vos droits.")

    legal = text(english.get("/mentions-legales/"))
    privacy = text(english.get("/donnees-personnelles/"))

    assert "<h1>Legal notice</h1>" in legal and "Éditeur du site." not in legal
    assert "<h1>Données personnelles</h1>" in privacy
    assert '<article data-r614="page_privacy" lang="fr">' in privacy  # French text marked as such on an English page


# --- Reports ------------------------------------------------------------------------------------------------------


def test_a_report_is_served_as_an_inline_pdf(admin, client_a, media_root):
    site.publish_report(by=admin, year=REPORT_YEAR, file=pdf_upload())

    response = client_a.get(f"/rapports/{REPORT_YEAR}.pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="rapport-activite-{REPORT_YEAR}.pdf"'
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert client_a.get(f"/rapports/{REPORT_YEAR - 1}.pdf").status_code == 404


def test_a_report_whose_file_is_gone_is_not_found(admin, client_a, media_root):
    report = site.publish_report(by=admin, year=REPORT_YEAR, file=pdf_upload())
    report.file.storage.delete(report.file.name)

    assert client_a.get(f"/rapports/{REPORT_YEAR}.pdf").status_code == 404


# --- Tenant isolation -----------------------------------------------------------------------------------------


def test_firm_b_shows_none_of_firm_as_news_pages_or_reports(admin, client_a, client_b, media_root):
    post = site.publish(by=admin, item=site.save_news_draft(by=admin, title="Nouvelle d'Alpha", body="Texte."))
    publish_page(admin, SitePage.Kind.FAQ, title="FAQ d'Alpha")
    site.publish_report(by=admin, year=REPORT_YEAR, file=pdf_upload(), summary="Résumé d'Alpha")
    assert client_a.get(f"/actualites/{post.slug}/").status_code == 200

    assert "Nouvelle d'Alpha" not in text(client_b.get("/actualites/"))
    assert client_b.get(f"/actualites/{post.slug}/").status_code == 404
    assert client_b.get("/faq/").status_code == 404
    assert "Résumé d'Alpha" not in text(client_b.get("/rapports/"))
    assert client_b.get(f"/rapports/{REPORT_YEAR}.pdf").status_code == 404
    assert "/faq/" not in client_b.get("/").content.decode()


# --- Footer, metadata, no third-party resource -------------------------------------------------------------


def _footer(page: str) -> str:
    return page[page.index('<footer class="site-footer') :]


def test_the_footer_links_the_site_pages_and_only_the_published_legal_pages(admin, client_a):
    publish_page(admin, SitePage.Kind.LEGAL_NOTICE)
    site.save_page_draft(by=admin, kind=SitePage.Kind.FAQ, language="fr", title="FAQ", body="Brouillon.")

    for url in ("/", "/deposer/", "/le-mediateur/"):
        footer = _footer(client_a.get(url).content.decode())
        assert 'href="/le-mediateur/"' in footer and 'href="/saisir-le-mediateur/"' in footer
        assert 'href="/rapports/"' in footer
        assert 'href="/mentions-legales/"' in footer
        assert 'href="/faq/"' not in footer
        assert "Médiation de la consommation — Code de la consommation" in footer


def test_the_footer_reads_the_published_pages_in_one_query(admin, client_a):
    publish_page(admin, SitePage.Kind.LEGAL_NOTICE)
    publish_page(admin, SitePage.Kind.PRIVACY)

    with CaptureQueriesContext(connection) as captured:
        assert client_a.get("/deposer/").status_code == 200

    assert len([q for q in captured.captured_queries if "firm_sitepage" in q["sql"]]) == 1


def test_the_platform_host_keeps_its_own_footer(db, public_client):
    footer = _footer(public_client.get("/trouver-un-mediateur/").content.decode())

    assert "le-mediateur" not in footer
    assert "Médiation de la consommation — Code de la consommation" in footer


def test_public_pages_have_a_description_a_canonical_address_and_open_graph(admin, client_a, media_root):
    build_site(admin)

    page = client_a.get("/le-mediateur/").content.decode()

    assert '<meta name="description" content="Le médiateur des boutiques en ligne.">' in page
    assert '<link rel="canonical" href="http://alpha.localhost/le-mediateur/">' in page
    assert '<meta property="og:title" content="Le médiateur">' in page
    assert '<meta property="og:description" content="Le médiateur des boutiques en ligne.">' in page


def test_without_a_presentation_the_description_is_a_default_sentence(tenant_a, client_a):
    page = html.unescape(client_a.get("/").content.decode())

    assert re.search(r'<meta name="description" content="[^"]*médiateur de la consommation[^"]*">', page)
    assert '<link rel="canonical" href="http://alpha.localhost/">' in page


class _Resources(HTMLParser):
    """Every address the browser would load by itself: scripts, stylesheets, images, frames."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in {"script", "img", "iframe", "source", "audio", "video"} and values.get("src"):
            self.urls.append(values["src"] or "")
        if tag == "link" and (values.get("rel") or "") in {"stylesheet", "preload", "icon", "manifest"}:
            self.urls.append(values.get("href") or "")


PUBLIC_PAGES = [
    "/",
    "/le-mediateur/",
    "/saisir-le-mediateur/",
    "/rapports/",
    "/verifier-un-professionnel/?q=electro",
    "/actualites/",
    "/mentions-legales/",
]


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_public_pages_load_nothing_from_another_host(admin, client_a, media_root, url):
    build_site(admin)
    publish_page(
        admin, SitePage.Kind.LEGAL_NOTICE, body="[Un lien](https://example.org) ![image](https://x.example/i.png)"
    )

    response = client_a.get(url)
    parser = _Resources()
    parser.feed(response.content.decode())

    assert response.status_code == 200
    assert parser.urls  # the page's own stylesheets at least
    assert all(u.startswith("/") and not u.startswith("//") for u in parser.urls), parser.urls
    assert "@import" not in response.content.decode()


# --- Sitemap and robots.txt ------------------------------------------------------------------------------------


def test_the_sitemap_lists_the_public_pages_and_published_posts_only(admin, client_a):
    published = site.publish(by=admin, item=site.save_news_draft(by=admin, title="Publiée", body="Texte."))
    draft = site.save_news_draft(by=admin, title="Brouillon", body="Texte.")
    publish_page(admin, SitePage.Kind.PRIVACY)

    response = client_a.get("/sitemap.xml")

    body = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    for path in ("/", "/le-mediateur/", "/saisir-le-mediateur/", "/rapports/", "/actualites/"):
        assert f"<loc>http://alpha.localhost{path}</loc>" in body
    assert f"<loc>http://alpha.localhost/actualites/{published.slug}/</loc>" in body
    assert f"/actualites/{draft.slug}/" not in body
    assert "<loc>http://alpha.localhost/donnees-personnelles/</loc>" in body
    assert "/mentions-legales/" not in body


PRIVATE_PATHS = ("/staff/", "/espace-adherent/", "/accounts/", "/suivi/", "/deposer/", "/factures/", "/admin/", "/api/")


def test_robots_disallows_the_private_spaces_and_points_to_the_sitemap(tenant_a, client_a):
    response = client_a.get("/robots.txt")

    body = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    for path in PRIVATE_PATHS:
        assert f"Disallow: {path}\n" in body
    assert "Sitemap: http://alpha.localhost/sitemap.xml" in body
