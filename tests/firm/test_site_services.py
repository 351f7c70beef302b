"""The public site's records: validated, audited writes; drafts the site never shows until published."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from core.models import AuditEntry
from firm import site_selectors, site_services
from firm.models import Coverage, NewsPost, PublishedReport, SitePage, SiteSettings
from tests.factories import AdminFactory, UserFactory

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def admin(tenant_a):
    return AdminFactory(email="admin@alpha.fr")


def pdf(name: str = "rapport.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def test_only_admins_write_the_site(tenant_a):
    officer = UserFactory(role=User.Role.CASE_OFFICER)
    with pytest.raises(PermissionDenied):
        site_services.save_site_settings(by=officer, presentation="Texte")
    with pytest.raises(PermissionDenied):
        site_services.save_page_draft(by=officer, kind="faq", language="fr", title="FAQ", body="Texte")
    assert not SiteSettings.objects.exists() and not SitePage.objects.exists()


def test_site_settings_are_created_on_first_save_and_audited(admin):
    site_services.save_site_settings(by=admin, presentation="Le médiateur du commerce.", no_network=True)
    site_services.save_site_settings(by=admin, presentation="Le médiateur du commerce.")  # no change

    row = site_selectors.site_settings()
    assert (row.presentation, row.no_network) == ("Le médiateur du commerce.", True)
    entries = AuditEntry.objects.filter(action="firm.site_settings_updated")
    assert entries.count() == 1
    assert entries.get().changes["presentation"] == ["", "Le médiateur du commerce."]


def test_english_text_falls_back_to_french(admin):
    row = site_services.save_site_settings(by=admin, disputes_handled="Livraison", disputes_handled_en="")
    assert row.text("disputes_handled", "en") == "Livraison"
    row = site_services.save_site_settings(by=admin, disputes_handled_en="Delivery")
    assert row.text("disputes_handled", "en") == "Delivery"
    assert row.text("disputes_handled", "fr") == "Livraison"


def test_unknown_settings_field_is_refused(admin):
    with pytest.raises(TypeError):
        site_services.save_site_settings(by=admin, updated_at=None)


def test_coverage_is_validated_created_changed_and_deleted_with_audit(admin):
    with pytest.raises(ValidationError) as caught:
        site_services.save_coverage(by=admin, kind="sector", name="")
    assert "name" in caught.value.message_dict
    coverage = site_services.save_coverage(
        by=admin, kind="convention", name="Convention FCD", partner="FCD", signed_on=datetime.date(2024, 3, 1)
    )
    site_services.save_coverage(by=admin, coverage=coverage, name="Convention de la FCD")
    assert Coverage.objects.get().name == "Convention de la FCD"
    site_services.delete_coverage(by=admin, coverage=coverage)
    assert not Coverage.objects.exists()
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions[-3:] == ["firm.coverage_created", "firm.coverage_updated", "firm.coverage_deleted"]


def test_adding_a_network_withdraws_the_no_network_statement(admin):
    site_services.save_site_settings(by=admin, no_network=True)
    site_services.save_network(by=admin, name="Club des médiateurs", website="https://example.org")
    assert site_selectors.site_settings().no_network is False
    assert list(site_selectors.networks().values_list("name", flat=True)) == ["Club des médiateurs"]


def test_page_draft_is_not_published_until_published_and_edits_stay_drafts(admin):
    page = site_services.save_page_draft(by=admin, kind="legal_notice", language="fr", title="Mentions", body="v1")
    assert site_selectors.published_page(kind="legal_notice", language="fr") is None
    assert page.has_unpublished_changes

    site_services.publish(by=admin, item=page)
    site_services.save_page_draft(by=admin, kind="legal_notice", language="fr", title="Mentions", body="v2")
    live = site_selectors.published_page(kind="legal_notice", language="fr")
    assert live is not None and live.body == "v1" and live.draft_body == "v2" and live.has_unpublished_changes

    site_services.publish(by=admin, item=live)
    assert site_selectors.published_page(kind="legal_notice", language="fr").body == "v2"
    site_services.unpublish(by=admin, item=live)
    assert site_selectors.published_page(kind="legal_notice", language="fr") is None
    assert SitePage.objects.get().draft_body == "v2"  # the draft stays


def test_english_page_falls_back_to_the_published_french_one(admin):
    french = site_services.save_page_draft(by=admin, kind="faq", language="fr", title="FAQ", body="Réponses")
    site_services.publish(by=admin, item=french)
    assert site_selectors.published_page(kind="faq", language="en").language == "fr"
    english = site_services.save_page_draft(by=admin, kind="faq", language="en", title="FAQ", body="Answers")
    assert site_selectors.published_page(kind="faq", language="en").language == "fr"  # a draft is not shown
    site_services.publish(by=admin, item=english)
    assert site_selectors.published_page(kind="faq", language="en").body == "Answers"


@pytest.mark.parametrize(
    ("kind", "language", "title", "body"),
    [("nope", "fr", "T", "B"), ("faq", "de", "T", "B"), ("faq", "fr", " ", "B"), ("faq", "fr", "T", "  ")],
)
def test_bad_page_drafts_are_refused(admin, kind, language, title, body):
    with pytest.raises(ValidationError):
        site_services.save_page_draft(by=admin, kind=kind, language=language, title=title, body=body)
    assert not SitePage.objects.exists()


def test_news_slugs_are_unique_and_the_first_publication_date_stays(admin):
    with time_machine.travel(datetime.datetime(2026, 3, 2, 9, tzinfo=datetime.UTC), tick=False):
        first = site_services.save_news_draft(by=admin, title="Nouveau barème 2026", body="Texte")
        second = site_services.save_news_draft(by=admin, title="Nouveau barème 2026", body="Autre")
        site_services.publish(by=admin, item=first)
    assert (first.slug, second.slug) == ("nouveau-bareme-2026", "nouveau-bareme-2026-2")
    with time_machine.travel(datetime.datetime(2026, 4, 2, 9, tzinfo=datetime.UTC), tick=False):
        site_services.save_news_draft(by=admin, post=first, title="Nouveau barème 2026", body="Corrigé")
        republished = site_services.publish(by=admin, item=first)
    assert republished.published_at == datetime.datetime(2026, 3, 2, 9, tzinfo=datetime.UTC)
    assert list(site_selectors.published_news(language="fr")) == [republished]
    assert site_selectors.published_news_post(slug=second.slug) is None


def test_english_news_list_falls_back_to_french(admin):
    post = site_services.save_news_draft(by=admin, title="Actualité", body="Texte")
    site_services.publish(by=admin, item=post)
    assert list(site_selectors.published_news(language="en")) == [post]
    english = site_services.save_news_draft(by=admin, title="News", body="Text", language="en")
    site_services.publish(by=admin, item=english)
    assert list(site_selectors.published_news(language="en")) == [english]


def test_report_is_checked_on_content_and_replaced_per_year(admin, media_root, django_capture_on_commit_callbacks):
    with pytest.raises(ValidationError) as caught:
        site_services.publish_report(by=admin, year=2025, file=pdf("rapport.pdf", b"MZ\x90\x00 not a pdf"))
    assert "file" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        site_services.publish_report(by=admin, year=2015, file=pdf())
    assert "year" in caught.value.message_dict
    with pytest.raises(ValidationError):
        site_services.publish_report(by=admin, year=datetime.date.today().year + 1, file=pdf())
    assert not PublishedReport.objects.exists()

    first = site_services.publish_report(by=admin, year=2025, file=pdf(), summary="Premier")
    first_name = first.file.name
    with django_capture_on_commit_callbacks(execute=True):
        second = site_services.publish_report(by=admin, year=2025, file=pdf(content=PDF + b"%v2"), summary="Corrigé")
    assert PublishedReport.objects.count() == 1 and second.summary == "Corrigé"
    with second.file.open("rb") as handle:
        assert handle.read().endswith(b"%v2")
    assert second.file.name == first_name or not second.file.storage.exists(first_name)
    assert AuditEntry.objects.filter(action="firm.report_replaced").count() == 1


def test_withdrawn_report_leaves_the_site_and_its_file_goes(admin, media_root, django_capture_on_commit_callbacks):
    report = site_services.publish_report(by=admin, year=2024, file=pdf())
    name, storage = report.file.name, report.file.storage
    with django_capture_on_commit_callbacks(execute=True):
        site_services.withdraw_report(by=admin, report=report)
    assert site_selectors.published_report(year=2024) is None
    assert not storage.exists(name)


def test_delete_news_is_audited(admin):
    post = site_services.save_news_draft(by=admin, title="Brouillon", body="x")
    site_services.delete_news(by=admin, post=post)
    assert not NewsPost.objects.exists()
    assert AuditEntry.objects.filter(action="firm.news_post_deleted").exists()
