"""The public site's settings in the staff area (/staff/cabinet/site/): each page, each form and what it changes."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from core.models import AuditEntry
from firm import site_selectors, site_services
from firm.models import Coverage, NetworkMembership, NewsPost, PublishedReport, SitePage, SiteSettings
from tests.factories import PDF_BYTES, AdminFactory, pdf_upload

SITE = "/staff/cabinet/site/"
PAGES = [
    "",
    "textes/",
    "secteurs/",
    "secteurs/nouveau/",
    "reseaux/",
    "reseaux/nouveau/",
    "pages/",
    "pages/faq/fr/",
    "pages/accessibility/en/",
    "actualites/",
    "actualites/nouvelle/",
    "rapports/",
]


@pytest.fixture
def admin(tenant_a, client_a):
    user = AdminFactory(email="claire@example.fr")
    client_a.force_login(user)
    return user


def _row(page: str, marker: str) -> str:
    """The table row of `page` carrying `marker` (a data- attribute)."""
    start = page.index(marker)
    return page[start : page.index("</tr>", start)]


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --- Every page ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", PAGES)
def test_every_page_renders_for_an_admin(admin, client_a, url):
    response = client_a.get(SITE + url)

    assert response.status_code == 200
    page = response.content.decode()
    assert f'<a href="{SITE}" aria-current="page">Site public</a>' in page
    assert page.count("<h1>") == 1


def test_the_firm_settings_menu_links_to_the_public_site(admin, client_a):
    page = client_a.get("/staff/cabinet/").content.decode()

    assert f'<a href="{SITE}">Site public</a>' in page


# --- Checklist -----------------------------------------------------------------------------------------------


def test_checklist_counts_what_is_present_and_missing(admin, client_a, use_tenant):
    page = client_a.get(SITE).content.decode()

    summary = _text(page[page.index("data-summary") :].split("</p>")[0])
    assert "3 éléments présents, 2 à vérifier, 10 manquants." in summary

    use_tenant("alpha")
    site_services.save_coverage(by=admin, name="Commerce de détail")
    page = client_a.get(SITE).content.decode()

    assert "4 éléments présents, 2 à vérifier, 9 manquants." in _text(page)


def test_checklist_item_shows_status_as_text_and_links_to_where_it_is_fixed(admin, client_a, use_tenant):
    row = _row(client_a.get(SITE).content.decode(), 'data-checklist="coverages"')

    assert "Secteurs et conventions couverts" in row
    assert "R614-1" in row
    assert "Manquant" in row
    assert f'href="{SITE}secteurs/"' in row
    assert "Compléter" in row
    assert 'href="/le-mediateur/"' in row
    assert "Voir sur le site" in row

    use_tenant("alpha")
    site_services.save_coverage(by=admin, name="Commerce de détail")
    row = _row(client_a.get(SITE).content.decode(), 'data-checklist="coverages"')

    assert "Présent" in row
    assert "Manquant" not in row


def test_checklist_item_without_a_staff_page_has_no_fix_link(admin, client_a):
    row = _row(client_a.get(SITE).content.decode(), 'data-checklist="procedure"')

    assert "Présent" in row
    assert "Compléter" not in row


def test_checklist_warning_is_worded(admin, client_a):
    row = _row(client_a.get(SITE).content.decode(), 'data-checklist="page_faq"')

    assert "À vérifier" in row
    assert f'href="{SITE}pages/"' in row


# --- Texts ---------------------------------------------------------------------------------------------------


def test_texts_say_they_accept_simple_markdown(admin, client_a):
    page = client_a.get(SITE + "textes/").content.decode()

    assert "**gras**" in page
    assert 'id="id_presentation_en"' in page
    assert "<legend>Litiges traités</legend>" in page


def test_saving_the_texts(admin, client_a, use_tenant):
    response = client_a.post(
        SITE + "textes/",
        {"presentation": "Le **médiateur** du commerce.", "disputes_handled": "Livraison", "no_network": "on"},
        follow=True,
    )

    assert "Les textes du site sont enregistrés." in response.content.decode()
    use_tenant("alpha")
    row = SiteSettings.objects.get(pk=SiteSettings.SINGLETON_PK)
    assert (row.presentation, row.disputes_handled, row.no_network) == (
        "Le **médiateur** du commerce.",
        "Livraison",
        True,
    )
    assert AuditEntry.objects.get(action="firm.site_settings_updated").changes["disputes_handled"] == ["", "Livraison"]


def test_a_text_over_the_limit_is_refused(admin, client_a, use_tenant):
    response = client_a.post(SITE + "textes/", {"presentation": "x" * 50_001})

    page = response.content.decode()
    assert 'id="id_presentation_error"' in page
    assert "Le formulaire contient des erreurs" in page
    use_tenant("alpha")
    assert not SiteSettings.objects.exists()


# --- Sectors and conventions -----------------------------------------------------------------------------------


def test_adding_a_convention(admin, client_a, use_tenant):
    response = client_a.post(
        SITE + "secteurs/nouveau/",
        {"kind": "convention", "name": "Convention FCD", "partner": "FCD", "signed_on": "2024-03-01", "position": "1"},
        follow=True,
    )

    assert (
        "« Convention FCD » figure maintenant parmi les secteurs et conventions couverts." in response.content.decode()
    )
    assert "Convention FCD" in response.content.decode()
    use_tenant("alpha")
    coverage = Coverage.objects.get()
    assert (coverage.kind, coverage.partner, str(coverage.signed_on)) == ("convention", "FCD", "2024-03-01")
    assert AuditEntry.objects.filter(action="firm.coverage_created").exists()


def test_a_coverage_needs_a_name(admin, client_a, use_tenant):
    response = client_a.post(SITE + "secteurs/nouveau/", {"kind": "sector", "name": "", "position": "0"})

    assert 'id="id_name_error"' in response.content.decode()
    use_tenant("alpha")
    assert not Coverage.objects.exists()


def test_editing_a_coverage(admin, client_a, use_tenant):
    coverage = site_services.save_coverage(by=admin, name="Commerce")

    client_a.post(
        f"{SITE}secteurs/{coverage.pk}/modifier/",
        {"kind": "sector", "name": "Commerce de détail", "name_en": "Retail", "position": "2"},
    )

    use_tenant("alpha")
    coverage.refresh_from_db()
    assert (coverage.name, coverage.name_en, coverage.position) == ("Commerce de détail", "Retail", 2)


def test_deleting_a_coverage_needs_a_post(admin, client_a, use_tenant):
    coverage = site_services.save_coverage(by=admin, name="Commerce")
    url = f"{SITE}secteurs/{coverage.pk}/supprimer/"

    page = client_a.get(url).content.decode()

    assert "Supprimer « Commerce »" in page
    assert '<form method="post">' in page
    use_tenant("alpha")
    assert Coverage.objects.filter(pk=coverage.pk).exists()

    response = client_a.post(url, follow=True)

    assert "« Commerce » ne figure plus parmi les secteurs et conventions couverts." in response.content.decode()
    use_tenant("alpha")
    assert not Coverage.objects.filter(pk=coverage.pk).exists()


def test_empty_coverage_list_says_what_to_do(admin, client_a):
    page = client_a.get(SITE + "secteurs/").content.decode()

    assert "Aucun secteur ni convention pour l'instant." in page
    assert f'href="{SITE}secteurs/nouveau/"' in page


# --- Networks ------------------------------------------------------------------------------------------------


def test_adding_a_network_unticks_no_network(admin, client_a, use_tenant):
    site_services.save_site_settings(by=admin, no_network=True)

    response = client_a.post(
        SITE + "reseaux/nouveau/",
        {"name": "Club des médiateurs", "website": "club.example.fr", "position": "0"},
        follow=True,
    )

    assert "Le réseau « Club des médiateurs » est ajouté." in response.content.decode()
    use_tenant("alpha")
    assert NetworkMembership.objects.get().website == "https://club.example.fr"
    assert site_selectors.site_settings().no_network is False


def test_a_network_with_a_bad_website_is_refused(admin, client_a, use_tenant):
    response = client_a.post(SITE + "reseaux/nouveau/", {"name": "Club", "website": "pas une adresse", "position": "0"})

    assert 'id="id_website_error"' in response.content.decode()
    use_tenant("alpha")
    assert not NetworkMembership.objects.exists()


def test_editing_and_deleting_a_network(admin, client_a, use_tenant):
    network = site_services.save_network(by=admin, name="Club")

    client_a.post(f"{SITE}reseaux/{network.pk}/modifier/", {"name": "Club des médiateurs", "position": "3"})
    use_tenant("alpha")
    network.refresh_from_db()
    assert (network.name, network.position) == ("Club des médiateurs", 3)

    client_a.get(f"{SITE}reseaux/{network.pk}/supprimer/")
    use_tenant("alpha")
    assert NetworkMembership.objects.filter(pk=network.pk).exists()
    client_a.post(f"{SITE}reseaux/{network.pk}/supprimer/")
    use_tenant("alpha")
    assert not NetworkMembership.objects.filter(pk=network.pk).exists()


# --- Pages ---------------------------------------------------------------------------------------------------


def test_page_list_has_each_kind_in_both_languages(admin, client_a):
    page = client_a.get(SITE + "pages/").content.decode()

    assert page.count("data-page=") == 8
    assert page.count("Pas encore rédigée") == 8
    assert f'href="{SITE}pages/legal_notice/en/"' in page


def test_a_new_page_title_defaults_to_its_kind(admin, client_a):
    page = client_a.get(SITE + "pages/legal_notice/fr/").content.decode()

    assert 'value="Mentions légales"' in page
    assert "Enregistrer le brouillon" in page
    assert "Retirer du site" not in page


@pytest.mark.parametrize("url", ["pages/cgv/fr/", "pages/faq/de/"])
def test_an_unknown_page_is_404(admin, client_a, url):
    assert client_a.get(SITE + url).status_code == 404
    assert client_a.post(SITE + url, {"title": "T", "body": "B", "action": "publish"}).status_code == 404


def _post_page(client: Client, action: str, title: str = "Questions fréquentes", body: str = "Est-ce gratuit ? Oui."):
    return client.post(SITE + "pages/faq/fr/", {"title": title, "body": body, "action": action}, follow=True)


def test_saving_a_draft_leaves_the_site_as_it_is(admin, client_a, use_tenant):
    response = _post_page(client_a, "save")

    assert "Brouillon enregistré. Il n&#x27;est pas sur le site" in response.content.decode()
    use_tenant("alpha")
    assert SitePage.objects.get(kind="faq", language="fr").draft_body == "Est-ce gratuit ? Oui."
    assert site_selectors.published_page(kind="faq", language="fr") is None
    row = _row(client_a.get(SITE + "pages/").content.decode(), 'data-page="faq-fr"')
    assert "Brouillon" in row


def test_publishing_then_editing_then_unpublishing_a_page(admin, client_a, use_tenant):
    response = _post_page(client_a, "publish")

    assert "« Questions fréquentes » est en ligne" in response.content.decode()
    use_tenant("alpha")
    live = site_selectors.published_page(kind="faq", language="en")  # English falls back to French
    assert live is not None
    assert (live.title, live.body) == ("Questions fréquentes", "Est-ce gratuit ? Oui.")
    assert "Publiée le" in _row(client_a.get(SITE + "pages/").content.decode(), 'data-page="faq-fr"')

    _post_page(client_a, "save", body="Est-ce gratuit ? Toujours.")
    use_tenant("alpha")
    live = site_selectors.published_page(kind="faq", language="fr")
    assert live is not None
    assert live.body == "Est-ce gratuit ? Oui."
    assert "Publiée — modifications non publiées" in _row(
        client_a.get(SITE + "pages/").content.decode(), 'data-page="faq-fr"'
    )
    assert (
        "Le brouillon ci-dessous diffère de la version en ligne"
        in client_a.get(SITE + "pages/faq/fr/").content.decode()
    )

    response = client_a.post(SITE + "pages/faq/fr/", {"action": "unpublish"}, follow=True)

    assert "son brouillon est conservé." in response.content.decode()
    use_tenant("alpha")
    assert site_selectors.published_page(kind="faq", language="fr") is None
    assert SitePage.objects.get(kind="faq", language="fr").draft_body == "Est-ce gratuit ? Toujours."


def test_a_page_needs_a_title(admin, client_a, use_tenant):
    response = _post_page(client_a, "publish", title="  ")

    page = response.content.decode()
    assert 'id="id_title_error"' in page
    assert "Donnez un titre." in page
    use_tenant("alpha")
    assert not SitePage.objects.exists()


def test_preview_button_shows_the_sanitised_text_without_saving(admin, client_a, use_tenant):
    response = _post_page(client_a, "preview", body="Un **point** important.\n\n<script>alert(1)</script>")

    page = response.content.decode()
    preview = page[page.index('id="live-preview"') :]
    assert "<strong>point</strong>" in preview
    assert "<script>alert" not in page
    use_tenant("alpha")
    assert not SitePage.objects.exists()


def test_editor_asks_htmx_for_a_live_preview(admin, client_a):
    page = client_a.get(SITE + "pages/faq/fr/").content.decode()

    assert f'hx-post="{SITE}apercu/"' in page
    assert 'hx-target="#live-preview"' in page
    assert "htmx-2.min.js" in page


# --- Live preview --------------------------------------------------------------------------------------------


def test_preview_renders_markdown_and_removes_scripts(admin, client_a):
    response = client_a.post(
        SITE + "apercu/", {"body": "# Titre\n\n**gras** <script>alert(1)</script> [lien](javascript:alert(1))"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h2>Titre</h2>" in html
    assert "<strong>gras</strong>" in html
    assert "<script" not in html
    assert "javascript:" not in html


def test_preview_refuses_a_text_over_50000_characters(admin, client_a):
    response = client_a.post(SITE + "apercu/", {"body": "x" * 50_001})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert "Le texte dépasse 50\u202f000 caractères" in response.content.decode()


def test_preview_is_post_only(admin, client_a):
    assert client_a.get(SITE + "apercu/").status_code == 405


def test_preview_needs_the_csrf_token(admin, tenant_a):
    client = Client(HTTP_HOST="alpha.localhost", enforce_csrf_checks=True)
    client.force_login(admin)

    assert client.post(SITE + "apercu/", {"body": "texte"}).status_code == 403

    client.get(SITE + "pages/faq/fr/")
    token = client.cookies["csrftoken"].value
    assert client.post(SITE + "apercu/", {"body": "texte", "csrfmiddlewaretoken": token}).status_code == 200


# --- News ----------------------------------------------------------------------------------------------------


def _news(by, title: str = "Nouveaux horaires", **fields) -> NewsPost:
    return site_services.save_news_draft(by=by, title=title, body="Le service répond du lundi au vendredi.", **fields)


def test_writing_a_news_draft(admin, client_a, use_tenant):
    response = client_a.post(
        SITE + "actualites/nouvelle/",
        {"title": "Nouveaux horaires", "language": "fr", "body": "Du lundi au vendredi.", "action": "save"},
    )

    use_tenant("alpha")
    post = NewsPost.objects.get()
    assert response["Location"] == f"{SITE}actualites/{post.pk}/"
    assert (post.slug, post.is_published) == ("nouveaux-horaires", False)
    page = client_a.get(SITE + "actualites/").content.decode()
    assert "Nouveaux horaires" in page
    assert "Brouillon" in page


def test_publishing_news_shows_its_public_address(admin, client_a, use_tenant):
    post = _news(admin)

    client_a.post(
        f"{SITE}actualites/{post.pk}/",
        {"title": "Nouveaux horaires", "language": "fr", "body": "Du lundi au samedi.", "action": "publish"},
    )

    use_tenant("alpha")
    live = site_selectors.published_news_post(slug="nouveaux-horaires")
    assert live is not None
    assert live.body == "Du lundi au samedi."
    page = client_a.get(f"{SITE}actualites/{post.pk}/").content.decode()
    assert "http://alpha.localhost/actualites/nouveaux-horaires/" in page
    assert "Retirer du site" in page


def test_unpublishing_news_keeps_the_draft(admin, client_a, use_tenant):
    post = site_services.publish(by=admin, item=_news(admin))

    client_a.post(f"{SITE}actualites/{post.pk}/", {"action": "unpublish"})

    use_tenant("alpha")
    assert site_selectors.published_news_post(slug=post.slug) is None
    assert NewsPost.objects.filter(pk=post.pk).exists()


def test_news_in_an_unknown_language_is_refused(admin, client_a, use_tenant):
    response = client_a.post(
        SITE + "actualites/nouvelle/", {"title": "T", "language": "de", "body": "B", "action": "save"}
    )

    assert 'id="id_language_error"' in response.content.decode()
    use_tenant("alpha")
    assert not NewsPost.objects.exists()


def test_deleting_news_needs_a_post(admin, client_a, use_tenant):
    post = _news(admin)
    url = f"{SITE}actualites/{post.pk}/supprimer/"

    assert "Supprimer l&#x27;actualité « Nouveaux horaires »" in client_a.get(url).content.decode()
    use_tenant("alpha")
    assert NewsPost.objects.filter(pk=post.pk).exists()

    response = client_a.post(url, follow=True)

    assert "L&#x27;actualité « Nouveaux horaires » est supprimée." in response.content.decode()
    use_tenant("alpha")
    assert not NewsPost.objects.exists()


def test_unknown_news_is_404(admin, client_a):
    assert client_a.get(f"{SITE}actualites/999999/").status_code == 404
    assert client_a.post(f"{SITE}actualites/999999/supprimer/").status_code == 404


# --- Reports -------------------------------------------------------------------------------------------------


def _upload(client: Client, year: int | str = 2024, file=None, **extra):
    data = {"year": str(year), "file": file or pdf_upload("rapport.pdf"), "summary": "Une année calme.", **extra}
    return client.post(SITE + "rapports/", data, follow=True)


def test_publishing_a_report(admin, client_a, media_root, use_tenant):
    response = _upload(client_a)

    page = response.content.decode()
    assert "Le rapport 2024 est publié." in page
    assert "Une année calme." in page
    use_tenant("alpha")
    report = PublishedReport.objects.get(year=2024)
    assert report.file.read().startswith(b"%PDF-")


def test_a_file_that_is_not_a_pdf_is_refused(admin, client_a, media_root, use_tenant):
    fake = SimpleUploadedFile("rapport.pdf", b"<html>not a pdf</html>", content_type="application/pdf")

    page = _upload(client_a, file=fake).content.decode()

    assert 'id="id_file_error"' in page
    assert "Ce fichier n&#x27;est pas un PDF." in page
    use_tenant("alpha")
    assert not PublishedReport.objects.exists()


@pytest.mark.parametrize("year", [2010, 2999, "deux mille"])
def test_a_bad_year_is_refused(admin, client_a, media_root, use_tenant, year):
    response = _upload(client_a, year=year)

    assert response.status_code == 200
    assert 'id="id_year_error"' in response.content.decode()
    use_tenant("alpha")
    assert not PublishedReport.objects.exists()


def test_a_report_over_the_size_limit_is_refused(admin, client_a, media_root, use_tenant, monkeypatch):
    monkeypatch.setattr("firm.models.REPORT_MAX_BYTES", len(PDF_BYTES) - 1)

    page = _upload(client_a).content.decode()

    assert 'id="id_file_error"' in page
    assert "Le rapport ne doit pas dépasser 20 Mo." in page
    use_tenant("alpha")
    assert not PublishedReport.objects.exists()


def test_replacing_a_report_needs_the_confirmation(admin, client_a, media_root, use_tenant):
    _upload(client_a)
    use_tenant("alpha")
    first = PublishedReport.objects.get(year=2024)

    page = _upload(client_a, summary="Version corrigée.").content.decode()

    assert 'id="id_replace_error"' in page
    assert "Le rapport 2024 est déjà publié" in page
    use_tenant("alpha")
    assert PublishedReport.objects.get(year=2024).summary == "Une année calme."

    page = _upload(client_a, summary="Version corrigée.", replace="on").content.decode()

    assert "Le rapport 2024 est remplacé." in page
    use_tenant("alpha")
    report = PublishedReport.objects.get(year=2024)
    assert (report.pk, report.summary) == (first.pk, "Version corrigée.")
    assert report.published_at > first.published_at


def test_withdrawing_a_report_needs_a_post(admin, client_a, media_root, use_tenant):
    _upload(client_a)
    url = f"{SITE}rapports/2024/retirer/"

    assert "Retirer le rapport 2024" in client_a.get(url).content.decode()
    use_tenant("alpha")
    assert PublishedReport.objects.filter(year=2024).exists()

    response = client_a.post(url, follow=True)

    assert "Le rapport 2024 est retiré du site." in response.content.decode()
    use_tenant("alpha")
    assert not PublishedReport.objects.exists()
    assert client_a.post(url).status_code == 404


# --- Another firm --------------------------------------------------------------------------------------------


def test_another_firm_sees_none_of_these_records(admin, client_b, use_tenant):
    coverage = site_services.save_coverage(by=admin, name="Secteur réservé Alpha")
    network = site_services.save_network(by=admin, name="Réseau réservé Alpha")
    post = site_services.publish(by=admin, item=_news(admin, title="Actualité réservée Alpha"))
    use_tenant("beta")
    client_b.force_login(AdminFactory())

    for url in (
        f"secteurs/{coverage.pk}/modifier/",
        f"secteurs/{coverage.pk}/supprimer/",
        f"reseaux/{network.pk}/modifier/",
        f"reseaux/{network.pk}/supprimer/",
        f"actualites/{post.pk}/",
        f"actualites/{post.pk}/supprimer/",
    ):
        assert client_b.get(SITE + url).status_code == 404, url
        assert client_b.post(SITE + url).status_code == 404, url
    for url, name in (
        ("secteurs/", "Secteur réservé Alpha"),
        ("reseaux/", "Réseau réservé Alpha"),
        ("actualites/", "Actualité réservée Alpha"),
    ):
        assert name not in client_b.get(SITE + url).content.decode()
    use_tenant("alpha")
    assert Coverage.objects.filter(pk=coverage.pk).exists()
    assert NewsPost.objects.filter(pk=post.pk, published_at__isnull=False).exists()
