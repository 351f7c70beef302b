"""Reads of the firm's public site: what each page shows (firm.site_services writes it)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from firm.models import Coverage, Mediator, NetworkMembership, NewsPost, PublishedReport, SitePage, SiteSettings

NEWS_PER_PAGE = 10


def site_settings() -> SiteSettings:
    """The site's texts; before the first save, an unsaved empty row."""
    return SiteSettings.objects.filter(pk=SiteSettings.SINGLETON_PK).first() or SiteSettings(
        pk=SiteSettings.SINGLETON_PK
    )


def coverages() -> QuerySet[Coverage]:
    return Coverage.objects.order_by("kind", "position", "name")


def networks() -> QuerySet[NetworkMembership]:
    return NetworkMembership.objects.order_by("position", "name")


def site_mediators() -> QuerySet[Mediator]:
    """The mediators the site names: the active ones whose term has not ended."""
    return Mediator.objects.filter(is_active=True, term_ends_on__gte=timezone.localdate()).order_by(
        "last_name", "first_name"
    )


def pages() -> QuerySet[SitePage]:
    return SitePage.objects.select_related("updated_by").order_by("kind", "language")


def page(*, kind: str, language: str) -> SitePage | None:
    return SitePage.objects.filter(kind=kind, language=language).first()


def published_page(*, kind: str, language: str) -> SitePage | None:
    """The published page in `language`, else the French one; None when neither is published."""
    found = {
        p.language: p
        for p in SitePage.objects.filter(kind=kind, published_at__isnull=False, language__in=[language, "fr"])
    }
    return found.get(language[:2]) or found.get("fr")


def published_page_kinds(*, language: str) -> set[str]:
    """The kinds of page the site shows in `language` (French stands in for a missing English one)."""
    return set(
        SitePage.objects.filter(published_at__isnull=False, language__in=[language[:2], "fr"]).values_list(
            "kind", flat=True
        )
    )


def news_posts() -> QuerySet[NewsPost]:
    return NewsPost.objects.select_related("updated_by").order_by("-published_at", "-created_at")


def news_post(*, pk: int) -> NewsPost | None:
    return NewsPost.objects.filter(pk=pk).first()


def published_news(*, language: str) -> QuerySet[NewsPost]:
    """Published news in `language`; when there is none in English, the French news."""
    posts = NewsPost.objects.filter(published_at__isnull=False).order_by("-published_at", "-pk")
    if language.startswith("en") and posts.filter(language="en").exists():
        return posts.filter(language="en")
    return posts.filter(language="fr")


def published_news_post(*, slug: str) -> NewsPost | None:
    return NewsPost.objects.filter(slug=slug, published_at__isnull=False).first()


def published_reports() -> QuerySet[PublishedReport]:
    return PublishedReport.objects.order_by("-year")


def published_report(*, year: int) -> PublishedReport | None:
    return PublishedReport.objects.filter(year=year).first()
