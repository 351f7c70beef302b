"""The public site's settings in the staff area (/staff/cabinet/site/). Admins only (firm.settings).

The checklist of what the law asks the site to show, then one page per kind
of record: the texts, sectors and conventions, networks, the legal pages,
news and annual reports. Every write goes through firm.site_services; pages
and news are edited as drafts and published on demand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.permissions import Perm, require_perm
from core.markup import render_markdown
from firm import site_checklist, site_selectors, site_services
from firm.models import Coverage, NetworkMembership, NewsPost, PublishedReport, SiteLanguage, SitePage
from firm.site_checklist import Item, Status
from firm.site_forms import (
    MAX_TEXT_CHARS,
    CoverageForm,
    DraftForm,
    NetworkForm,
    NewsForm,
    ReportForm,
    SiteSettingsForm,
    add_service_error,
)
from firm.views import _acting_user, _changes

STATUS_LABELS = {
    Status.OK: gettext_lazy("Présent"),
    Status.WARNING: gettext_lazy("À vérifier"),
    Status.MISSING: gettext_lazy("Manquant"),
}


def _url(name: str, *args: Any) -> str:
    """The address of `name`, or "" when there is none (no name, or a page the site does not have yet)."""
    if not name:
        return ""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _absolute_url(request: HttpRequest, name: str, *args: Any) -> str:
    """The full address of a public page on the firm's host (as a visitor would type it), or ""."""
    path = _url(name, *args)
    return request.build_absolute_uri(path) if path else ""


def _render(request: HttpRequest, template: str, section: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, f"firm/site/{template}", {"section": section, **context})


# --- The checklist ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChecklistRow:
    item: Item
    status_label: str
    fix_url: str
    public_url: str


@require_perm(Perm.FIRM_SETTINGS)
def checklist(request: HttpRequest) -> HttpResponse:
    items = site_checklist.checklist()
    rows = [
        ChecklistRow(item, str(STATUS_LABELS[item.status]), _url(item.fix_url_name), _url(item.public_url_name))
        for item in items
    ]
    return _render(request, "checklist.html", "checklist", {"rows": rows, "counts": site_checklist.summary(items)})


# --- Forms saved through a service, and deletions confirmed by a POST ----------------------------------------


def _form_page(
    request: HttpRequest,
    form: Any,
    *,
    save: Callable[[], str],
    redirect_to: str,
    template: str,
    section: str,
    context: dict[str, Any] | None = None,
) -> HttpResponse:
    """Renders `form`; on a valid POST calls `save` (which returns the success message) and redirects."""
    if request.method == "POST" and form.is_valid():
        try:
            message = save()
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, message)
            return redirect(redirect_to)
    return _render(request, template, section, {"form": form, **(context or {})})


@dataclass(frozen=True)
class Confirmation:
    title: str
    question: str
    button: str
    cancel_url: str


def _confirm(
    request: HttpRequest, *, perform: Callable[[], str], redirect_to: str, section: str, confirmation: Confirmation
) -> HttpResponse:
    """A GET shows what is about to happen; only a POST does it (`perform` returns the success message)."""
    if request.method == "POST":
        messages.success(request, perform())
        return redirect(redirect_to)
    return _render(request, "confirm.html", section, {"confirmation": confirmation})


# --- Texts ---------------------------------------------------------------------------------------------------


@require_perm(Perm.FIRM_SETTINGS)
def texts(request: HttpRequest) -> HttpResponse:
    form = SiteSettingsForm(request.POST or None, instance=site_selectors.site_settings())

    def save() -> str:
        site_services.save_site_settings(by=_acting_user(request), **_changes(form))
        return _("Les textes du site sont enregistrés.")

    return _form_page(request, form, save=save, redirect_to="site-admin:texts", template="texts.html", section="texts")


# --- Sectors and conventions ---------------------------------------------------------------------------------


def _coverage_or_404(pk: int) -> Coverage:
    coverage = site_selectors.coverages().filter(pk=pk).first()
    if coverage is None:
        raise Http404
    return coverage


@require_perm(Perm.FIRM_SETTINGS)
def coverage_list(request: HttpRequest) -> HttpResponse:
    return _render(request, "coverage_list.html", "coverages", {"coverages": site_selectors.coverages()})


@require_perm(Perm.FIRM_SETTINGS)
def coverage_create(request: HttpRequest) -> HttpResponse:
    form = CoverageForm(request.POST or None)

    def save() -> str:
        coverage = site_services.save_coverage(by=_acting_user(request), **form.cleaned_data)
        return _("« %(name)s » figure maintenant parmi les secteurs et conventions couverts.") % {"name": coverage}

    return _form_page(
        request,
        form,
        save=save,
        redirect_to="site-admin:coverages",
        template="coverage_form.html",
        section="coverages",
        context={"coverage": None},
    )


@require_perm(Perm.FIRM_SETTINGS)
def coverage_edit(request: HttpRequest, pk: int) -> HttpResponse:
    coverage = _coverage_or_404(pk)
    form = CoverageForm(request.POST or None, instance=coverage)

    def save() -> str:
        saved = site_services.save_coverage(by=_acting_user(request), coverage=coverage, **_changes(form))
        return _("Les modifications de « %(name)s » sont enregistrées.") % {"name": saved}

    return _form_page(
        request,
        form,
        save=save,
        redirect_to="site-admin:coverages",
        template="coverage_form.html",
        section="coverages",
        context={"coverage": coverage},
    )


@require_perm(Perm.FIRM_SETTINGS)
def coverage_delete(request: HttpRequest, pk: int) -> HttpResponse:
    coverage = _coverage_or_404(pk)
    name = str(coverage)

    def perform() -> str:
        site_services.delete_coverage(by=_acting_user(request), coverage=coverage)
        return _("« %(name)s » ne figure plus parmi les secteurs et conventions couverts.") % {"name": name}

    return _confirm(
        request,
        perform=perform,
        redirect_to="site-admin:coverages",
        section="coverages",
        confirmation=Confirmation(
            title=_("Supprimer « %(name)s »") % {"name": name},
            question=_("Le site ne l'affichera plus parmi les secteurs et conventions couverts."),
            button=_("Supprimer"),
            cancel_url=reverse("site-admin:coverages"),
        ),
    )


# --- Networks ------------------------------------------------------------------------------------------------


def _network_or_404(pk: int) -> NetworkMembership:
    network = site_selectors.networks().filter(pk=pk).first()
    if network is None:
        raise Http404
    return network


@require_perm(Perm.FIRM_SETTINGS)
def network_list(request: HttpRequest) -> HttpResponse:
    context = {"networks": site_selectors.networks(), "no_network": site_selectors.site_settings().no_network}
    return _render(request, "network_list.html", "networks", context)


@require_perm(Perm.FIRM_SETTINGS)
def network_create(request: HttpRequest) -> HttpResponse:
    form = NetworkForm(request.POST or None)

    def save() -> str:
        network = site_services.save_network(by=_acting_user(request), **form.cleaned_data)
        return _("Le réseau « %(name)s » est ajouté.") % {"name": network}

    return _form_page(
        request,
        form,
        save=save,
        redirect_to="site-admin:networks",
        template="network_form.html",
        section="networks",
        context={"network": None},
    )


@require_perm(Perm.FIRM_SETTINGS)
def network_edit(request: HttpRequest, pk: int) -> HttpResponse:
    network = _network_or_404(pk)
    form = NetworkForm(request.POST or None, instance=network)

    def save() -> str:
        saved = site_services.save_network(by=_acting_user(request), network=network, **_changes(form))
        return _("Le réseau « %(name)s » est enregistré.") % {"name": saved}

    return _form_page(
        request,
        form,
        save=save,
        redirect_to="site-admin:networks",
        template="network_form.html",
        section="networks",
        context={"network": network},
    )


@require_perm(Perm.FIRM_SETTINGS)
def network_delete(request: HttpRequest, pk: int) -> HttpResponse:
    network = _network_or_404(pk)
    name = str(network)

    def perform() -> str:
        site_services.delete_network(by=_acting_user(request), network=network)
        return _("Le réseau « %(name)s » est supprimé.") % {"name": name}

    return _confirm(
        request,
        perform=perform,
        redirect_to="site-admin:networks",
        section="networks",
        confirmation=Confirmation(
            title=_("Supprimer le réseau « %(name)s »") % {"name": name},
            question=_("Le site ne l'affichera plus parmi les réseaux auxquels le médiateur adhère."),
            button=_("Supprimer"),
            cancel_url=reverse("site-admin:networks"),
        ),
    )


# --- Pages and news: drafts, preview, publication --------------------------------------------------------------


T = TypeVar("T", SitePage, NewsPost)


@dataclass
class DraftOutcome(Generic[T]):
    form: DraftForm
    preview: SafeString | None = None
    saved: T | None = None  # set once the draft is saved (and published when asked)
    published: bool = False


def _edit_draft(
    request: HttpRequest,
    form_class: type[DraftForm],
    *,
    initial: dict[str, Any],
    save: Callable[[dict[str, Any]], T],
) -> DraftOutcome[T]:
    """The editor's buttons: « Prévisualiser » renders the text, « Enregistrer » saves the draft, « Publier »
    saves it and puts it on the site (both or neither)."""
    if request.method != "POST":
        return DraftOutcome(form_class(initial=initial))
    form = form_class(request.POST)
    if not form.is_valid():
        return DraftOutcome(form)
    action = request.POST.get("action", "save")
    if action == "preview":
        return DraftOutcome(form, preview=render_markdown(form.cleaned_data["body"]))
    try:
        with transaction.atomic():
            item = save(form.cleaned_data)
            if action == "publish":
                item = site_services.publish(by=_acting_user(request), item=item)
    except ValidationError as exc:
        form.add_service_error(exc)
        return DraftOutcome(form)
    return DraftOutcome(form, saved=item, published=action == "publish")


def _saved_message(outcome: DraftOutcome[T]) -> str:
    item = outcome.saved
    assert item is not None
    if outcome.published:
        return _("« %(title)s » est en ligne : le site montre cette version.") % {"title": item.title}
    if item.is_published:
        return _("Brouillon enregistré. Le site montre toujours la version publiée : « Publier » la remplace.")
    return _("Brouillon enregistré. Il n'est pas sur le site : « Publier » l'y met.")


def _unpublish(request: HttpRequest, item: T | None) -> None:
    if item is None or not item.is_published:
        messages.info(request, _("Ce texte n'est pas sur le site."))
        return
    site_services.unpublish(by=_acting_user(request), item=item)
    messages.success(
        request, _("« %(title)s » n'est plus sur le site ; son brouillon est conservé.") % {"title": item.title}
    )


@dataclass(frozen=True)
class PageRow:
    kind: str
    kind_label: str
    language: str
    language_label: str
    page: SitePage | None


@require_perm(Perm.FIRM_SETTINGS)
def page_list(request: HttpRequest) -> HttpResponse:
    existing = {(page.kind, page.language): page for page in site_selectors.pages()}
    rows = [
        PageRow(
            kind.value, str(kind.label), language.value, str(language.label), existing.get((kind.value, language.value))
        )
        for kind in SitePage.Kind
        for language in SiteLanguage
    ]
    return _render(request, "page_list.html", "pages", {"rows": rows})


@require_perm(Perm.FIRM_SETTINGS)
def page_edit(request: HttpRequest, kind: str, language: str) -> HttpResponse:
    if kind not in SitePage.Kind.values or language not in SiteLanguage.values:
        raise Http404
    page = site_selectors.page(kind=kind, language=language)
    if request.method == "POST" and request.POST.get("action") == "unpublish":
        _unpublish(request, page)
        return redirect("site-admin:page_edit", kind=kind, language=language)
    initial = {"title": page.draft_title, "body": page.draft_body} if page else {"title": SitePage.Kind(kind).label}

    def save(data: dict[str, Any]) -> SitePage:
        return site_services.save_page_draft(
            by=_acting_user(request), kind=kind, language=language, title=data["title"], body=data["body"]
        )

    outcome = _edit_draft(request, DraftForm, initial=initial, save=save)
    if outcome.saved is not None:
        messages.success(request, _saved_message(outcome))
        return redirect("site-admin:page_edit", kind=kind, language=language)
    context = {
        "form": outcome.form,
        "preview": outcome.preview,
        "item": page,
        "kind_label": SitePage.Kind(kind).label,
        "language": language,
        "language_label": SiteLanguage(language).label,
        "public_url": _absolute_url(request, site_checklist.PAGE_PUBLIC_URLS[kind]),
    }
    return _render(request, "page_form.html", "pages", context)


# --- News ----------------------------------------------------------------------------------------------------


def _news_or_404(pk: int) -> NewsPost:
    post = site_selectors.news_post(pk=pk)
    if post is None:
        raise Http404
    return post


@require_perm(Perm.FIRM_SETTINGS)
def news_list(request: HttpRequest) -> HttpResponse:
    return _render(request, "news_list.html", "news", {"posts": site_selectors.news_posts()})


def _news_editor(request: HttpRequest, post: NewsPost | None) -> HttpResponse:
    initial = (
        {"title": post.draft_title, "body": post.draft_body, "language": post.language}
        if post
        else {"language": SiteLanguage.FR}
    )

    def save(data: dict[str, Any]) -> NewsPost:
        return site_services.save_news_draft(
            by=_acting_user(request), title=data["title"], body=data["body"], language=data["language"], post=post
        )

    outcome = _edit_draft(request, NewsForm, initial=initial, save=save)
    if outcome.saved is not None:
        messages.success(request, _saved_message(outcome))
        return redirect("site-admin:news_edit", pk=outcome.saved.pk)
    context = {
        "form": outcome.form,
        "preview": outcome.preview,
        "item": post,
        "public_url": _absolute_url(request, "site:news_post", post.slug) if post and post.is_published else "",
    }
    return _render(request, "news_form.html", "news", context)


@require_perm(Perm.FIRM_SETTINGS)
def news_create(request: HttpRequest) -> HttpResponse:
    return _news_editor(request, None)


@require_perm(Perm.FIRM_SETTINGS)
def news_edit(request: HttpRequest, pk: int) -> HttpResponse:
    post = _news_or_404(pk)
    if request.method == "POST" and request.POST.get("action") == "unpublish":
        _unpublish(request, post)
        return redirect("site-admin:news_edit", pk=post.pk)
    return _news_editor(request, post)


@require_perm(Perm.FIRM_SETTINGS)
def news_delete(request: HttpRequest, pk: int) -> HttpResponse:
    post = _news_or_404(pk)
    title = str(post)

    def perform() -> str:
        site_services.delete_news(by=_acting_user(request), post=post)
        return _("L'actualité « %(title)s » est supprimée.") % {"title": title}

    question = (
        _("Elle est en ligne : elle disparaîtra du site, et son adresse ne mènera plus nulle part.")
        if post.is_published
        else _("Ce brouillon n'a jamais été publié.")
    )
    return _confirm(
        request,
        perform=perform,
        redirect_to="site-admin:news",
        section="news",
        confirmation=Confirmation(
            title=_("Supprimer l'actualité « %(title)s »") % {"title": title},
            question=question,
            button=_("Supprimer"),
            cancel_url=reverse("site-admin:news_edit", args=[post.pk]),
        ),
    )


# --- Annual reports -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRow:
    report: PublishedReport
    public_url: str


@require_perm(Perm.FIRM_SETTINGS)
def reports(request: HttpRequest) -> HttpResponse:
    due_year = site_services.report_due_year()
    form = ReportForm(request.POST or None, request.FILES or None, initial={"year": due_year})

    def save() -> str:
        data = form.cleaned_data
        replaced = site_selectors.published_report(year=data["year"]) is not None
        report = site_services.publish_report(
            by=_acting_user(request), year=data["year"], file=data["file"], summary=data["summary"]
        )
        if replaced:
            return _("Le rapport %(year)s est remplacé.") % {"year": report.year}
        return _("Le rapport %(year)s est publié.") % {"year": report.year}

    rows = [ReportRow(report, _url("site:report_file", report.year)) for report in site_selectors.published_reports()]
    return _form_page(
        request,
        form,
        save=save,
        redirect_to="site-admin:reports",
        template="reports.html",
        section="reports",
        context={"rows": rows, "due_year": due_year},
    )


@require_perm(Perm.FIRM_SETTINGS)
def report_withdraw(request: HttpRequest, year: int) -> HttpResponse:
    report = site_selectors.published_report(year=year)
    if report is None:
        raise Http404

    def perform() -> str:
        site_services.withdraw_report(by=_acting_user(request), report=report)
        return _("Le rapport %(year)s est retiré du site.") % {"year": year}

    return _confirm(
        request,
        perform=perform,
        redirect_to="site-admin:reports",
        section="reports",
        confirmation=Confirmation(
            title=_("Retirer le rapport %(year)s") % {"year": year},
            question=_("Le fichier sera supprimé et le site ne proposera plus ce rapport."),
            button=_("Retirer du site"),
            cancel_url=reverse("site-admin:reports"),
        ),
    )


# --- Live preview (htmx) ----------------------------------------------------------------------------------------


@require_perm(Perm.FIRM_SETTINGS)
@require_POST
def preview(request: HttpRequest) -> HttpResponse:
    """The Markdown in the `body` field as the site will show it (sanitised), for the editors' live preview."""
    text = request.POST.get("body", "")
    if len(text) > MAX_TEXT_CHARS:
        return HttpResponseBadRequest(
            _("Le texte dépasse %(max)s caractères : l'aperçu n'est pas affiché.") % {"max": "50\u202f000"},
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(render_to_string("firm/site/_preview.html", {"preview": render_markdown(text)}))
