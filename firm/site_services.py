"""Every write on the firm's public site: texts, sectors and conventions, networks, pages, news, reports.

Admins only (firm.settings); each write leaves an audit row. Pages and news
are edited as drafts: `publish` puts the draft on the site, `unpublish` takes
it off; the site never shows a draft (firm.models.Publishable).
"""

from __future__ import annotations

import datetime
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.permissions import Perm, ensure_perm, user_has_perm
from core import audit
from firm.models import (
    Coverage,
    NetworkMembership,
    NewsPost,
    PublishedReport,
    SitePage,
    SiteSettings,
    validate_report_size,
)
from firm.services import _apply

SETTINGS_FIELDS = tuple(
    f.name for f in SiteSettings._meta.concrete_fields if f.editable and f.name not in {"id", "updated_at"}
)
COVERAGE_FIELDS = ("kind", "name", "name_en", "partner", "signed_on", "position")
NETWORK_FIELDS = ("name", "website", "since", "position")
PUBLISHABLE_FIELDS = ("draft_title", "draft_body", "title", "body", "published_at")

P = TypeVar("P", SitePage, NewsPost)


def _audit_created(by: User, action: str, obj: Any, fields: tuple[str, ...]) -> None:
    audit.record(actor=by, action=action, obj=obj, changes=audit.diff({}, audit.snapshot(obj, fields)))


@transaction.atomic
def save_site_settings(*, by: User, **changes: Any) -> SiteSettings:
    """Changes the site's texts (the row is created on first use); validated before saving."""
    ensure_perm(by, Perm.FIRM_SETTINGS)
    settings_row, _created = SiteSettings.objects.select_for_update().get_or_create(pk=SiteSettings.SINGLETON_PK)
    before = audit.snapshot(settings_row, SETTINGS_FIELDS)
    changed = _apply(settings_row, SETTINGS_FIELDS, changes)
    if changed:
        settings_row.save(update_fields=[*changed, "updated_at"])
        audit.record(
            actor=by,
            action="firm.site_settings_updated",
            obj=settings_row,
            changes=audit.diff(before, audit.snapshot(settings_row, SETTINGS_FIELDS)),
        )
    return settings_row


# --- Sectors, conventions and networks -----------------------------------------------------------------


R = TypeVar("R", Coverage, NetworkMembership)


def _save_record(
    *, by: User, model: type[R], obj: R | None, fields: tuple[str, ...], values: dict[str, Any], action: str
) -> R:
    """Creates (obj None) or changes a listed record, validated, with an audit row `<action>_created|updated`."""
    if obj is None:
        obj = model()
        _apply(obj, fields, values)
        obj.save()
        _audit_created(by, f"{action}_created", obj, fields)
        return obj
    obj = model.objects.select_for_update().get(pk=obj.pk)
    before = audit.snapshot(obj, fields)
    if _apply(obj, fields, values):
        obj.save()
        changes = audit.diff(before, audit.snapshot(obj, fields))
        audit.record(actor=by, action=f"{action}_updated", obj=obj, changes=changes)
    return obj


def _delete_record(*, by: User, obj: Coverage | NetworkMembership, fields: tuple[str, ...], action: str) -> None:
    changes = audit.diff(audit.snapshot(obj, fields), {})
    audit.record(actor=by, action=f"{action}_deleted", obj=obj, changes=changes)
    obj.delete()


@transaction.atomic
def save_coverage(*, by: User, coverage: Coverage | None = None, **fields: Any) -> Coverage:
    """Creates a sector or convention (coverage None) or changes one."""
    ensure_perm(by, Perm.FIRM_SETTINGS)
    return _save_record(
        by=by, model=Coverage, obj=coverage, fields=COVERAGE_FIELDS, values=fields, action="firm.coverage"
    )


@transaction.atomic
def delete_coverage(*, by: User, coverage: Coverage) -> None:
    ensure_perm(by, Perm.FIRM_SETTINGS)
    _delete_record(by=by, obj=coverage, fields=COVERAGE_FIELDS, action="firm.coverage")


@transaction.atomic
def save_network(*, by: User, network: NetworkMembership | None = None, **fields: Any) -> NetworkMembership:
    """Adds a network the firm belongs to (network None) or changes one; adding one unticks "no network"."""
    ensure_perm(by, Perm.FIRM_SETTINGS)
    if network is None:
        SiteSettings.objects.filter(pk=SiteSettings.SINGLETON_PK, no_network=True).update(no_network=False)
    return _save_record(
        by=by, model=NetworkMembership, obj=network, fields=NETWORK_FIELDS, values=fields, action="firm.network"
    )


@transaction.atomic
def delete_network(*, by: User, network: NetworkMembership) -> None:
    ensure_perm(by, Perm.FIRM_SETTINGS)
    _delete_record(by=by, obj=network, fields=NETWORK_FIELDS, action="firm.network")


# --- Pages and news: drafts and publication --------------------------------------------------------------


def _check_draft(title: str, body: str) -> None:
    errors = {}
    if not title.strip():
        errors["draft_title"] = ValidationError(_("Donnez un titre."), code="required")
    if not body.strip():
        errors["draft_body"] = ValidationError(_("Le texte est vide."), code="required")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def save_page_draft(*, by: User, kind: str, language: str, title: str, body: str) -> SitePage:
    """Saves the draft of a page (created on first save); the published version stays as it is."""
    ensure_perm(by, Perm.FIRM_SETTINGS)
    if kind not in SitePage.Kind.values or language not in ("fr", "en"):
        raise ValidationError(_("Cette page n'existe pas."), code="unknown_page")
    _check_draft(title, body)
    page, created = SitePage.objects.select_for_update().get_or_create(
        kind=kind, language=language, defaults={"draft_title": title.strip(), "draft_body": body, "updated_by": by}
    )
    if created:
        _audit_created(by, "firm.site_page_created", page, PUBLISHABLE_FIELDS)
        return page
    before = audit.snapshot(page, PUBLISHABLE_FIELDS)
    page.draft_title, page.draft_body, page.updated_by = title.strip(), body, by
    page.save(update_fields=["draft_title", "draft_body", "updated_by", "updated_at"])
    changes = audit.diff(before, audit.snapshot(page, PUBLISHABLE_FIELDS))
    if changes:
        audit.record(actor=by, action="firm.site_page_draft_saved", obj=page, changes=changes)
    return page


def _unique_slug(title: str) -> str:
    base = slugify(title)[:70].strip("-") or "actualite"
    slug, n = base, 2
    while NewsPost.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def save_news_draft(*, by: User, title: str, body: str, language: str = "fr", post: NewsPost | None = None) -> NewsPost:
    """Creates a piece of news (post None) or saves its draft. Its address is made from the first title."""
    ensure_perm(by, Perm.FIRM_SETTINGS)
    if language not in ("fr", "en"):
        raise ValidationError({"language": ValidationError(_("Langue inconnue."), code="invalid_choice")})
    _check_draft(title, body)
    if post is None:
        post = NewsPost(
            draft_title=title.strip(),
            draft_body=body,
            language=language,
            slug=_unique_slug(title),
            updated_by=by,
        )
        post.save()
        _audit_created(by, "firm.news_post_created", post, PUBLISHABLE_FIELDS)
        return post
    post = NewsPost.objects.select_for_update().get(pk=post.pk)
    before = audit.snapshot(post, (*PUBLISHABLE_FIELDS, "language"))
    post.draft_title, post.draft_body, post.language, post.updated_by = title.strip(), body, language, by
    post.save(update_fields=["draft_title", "draft_body", "language", "updated_by", "updated_at"])
    changes = audit.diff(before, audit.snapshot(post, (*PUBLISHABLE_FIELDS, "language")))
    if changes:
        audit.record(actor=by, action="firm.news_post_draft_saved", obj=post, changes=changes)
    return post


@transaction.atomic
def publish(*, by: User, item: P) -> P:
    """Puts the draft on the site (a page or a piece of news); the first publication dates it."""
    ensure_perm(by, Perm.FIRM_SETTINGS)
    item = type(item).objects.select_for_update().get(pk=item.pk)
    _check_draft(item.draft_title, item.draft_body)
    before = audit.snapshot(item, PUBLISHABLE_FIELDS)
    item.title, item.body, item.updated_by = item.draft_title, item.draft_body, by
    # News keeps the date it first appeared; a page shows when it last changed.
    if item.published_at is None or isinstance(item, SitePage):
        item.published_at = timezone.now()
    item.save(update_fields=["title", "body", "published_at", "updated_by", "updated_at"])
    audit.record(
        actor=by,
        action="firm.site_published",
        obj=item,
        changes=audit.diff(before, audit.snapshot(item, PUBLISHABLE_FIELDS)),
    )
    return item


@transaction.atomic
def unpublish(*, by: User, item: P) -> P:
    """Takes a page or a piece of news off the site; its draft stays."""
    ensure_perm(by, Perm.FIRM_SETTINGS)
    item = type(item).objects.select_for_update().get(pk=item.pk)
    if item.published_at is None:
        return item
    before = audit.snapshot(item, PUBLISHABLE_FIELDS)
    item.published_at, item.updated_by = None, by
    item.save(update_fields=["published_at", "updated_by", "updated_at"])
    audit.record(
        actor=by,
        action="firm.site_unpublished",
        obj=item,
        changes=audit.diff(before, audit.snapshot(item, PUBLISHABLE_FIELDS)),
    )
    return item


@transaction.atomic
def delete_news(*, by: User, post: NewsPost) -> None:
    ensure_perm(by, Perm.FIRM_SETTINGS)
    audit.record(
        actor=by,
        action="firm.news_post_deleted",
        obj=post,
        changes=audit.diff(audit.snapshot(post, PUBLISHABLE_FIELDS), {}),
    )
    post.delete()


# --- Annual activity reports ----------------------------------------------------------------------------


@transaction.atomic
def publish_report(*, by: User, year: int, file: UploadedFile, summary: str = "") -> PublishedReport:
    """Publishes a year's activity report (a PDF, checked on its content); replaces that year's earlier one.

    Admins (the site's settings) and those who write the report (mediation.reports) may.
    """
    if not user_has_perm(by, Perm.REPORTS_EDIT):
        ensure_perm(by, Perm.FIRM_SETTINGS)
    this_year = timezone.localdate().year
    if not 2016 <= year <= this_year:  # consumer mediation (ordonnance 2015-1033) starts in 2016
        raise ValidationError(
            {
                "year": ValidationError(
                    _("Année entre 2016 et %(year)s."), code="invalid_year", params={"year": this_year}
                )
            }
        )
    if not _is_pdf(file):
        raise ValidationError({"file": ValidationError(_("Ce fichier n'est pas un PDF."), code="not_pdf")})
    try:
        validate_report_size(file)  # before the file reaches the storage (a rollback would not remove it)
    except ValidationError as exc:
        raise ValidationError({"file": exc}) from None
    report = PublishedReport.objects.select_for_update().filter(year=year).first()
    replaced = report is not None
    old_file = report.file.name if report is not None else ""
    if report is None:
        report = PublishedReport(year=year)
    report.summary = summary.strip()
    report.published_at = timezone.now()
    report.published_by = by
    report.file.save(f"rapport-activite-{year}.pdf", file, save=False)
    report.full_clean()
    report.save()
    if old_file and old_file != report.file.name:
        storage = report.file.storage
        transaction.on_commit(lambda: storage.delete(old_file))
    audit.record(
        actor=by,
        action="firm.report_replaced" if replaced else "firm.report_published",
        obj=report,
        changes={"year": [None, year], "file": [old_file or None, report.file.name]},
    )
    return report


@transaction.atomic
def withdraw_report(*, by: User, report: PublishedReport) -> None:
    """Takes a report off the site (its file is deleted once the withdrawal is committed)."""
    ensure_perm(by, Perm.FIRM_SETTINGS)
    name, storage = report.file.name or "", report.file.storage
    audit.record(actor=by, action="firm.report_withdrawn", obj=report, changes={"year": [report.year, None]})
    report.delete()
    if name:
        transaction.on_commit(lambda: storage.delete(name))


def _is_pdf(file: UploadedFile) -> bool:
    """Recognised by its first bytes, never by its name or the browser's declared type."""
    file.seek(0)
    head = file.read(5)
    file.seek(0)
    return head == b"%PDF-"


def report_due_year(today: datetime.date | None = None) -> int:
    """The latest year whose report the site should show: last year's (R614-2: a yearly report)."""
    return (today or timezone.localdate()).year - 1
