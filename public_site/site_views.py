"""The firm's public site (R614-1): the mediator, how to file, reports, member lookup, legal pages, news.

Everything shown comes from the firm's records (firm.selectors, firm.site_selectors);
nothing here writes. Each R614-1 item carries `data-r614="<key>"` on its page
and is rendered only when `firm.site_checklist` finds its data: the staff
checklist, the compliance pack and the served pages cannot disagree.
Firm-written texts go through the `markdown` filter (sanitised), never `|safe`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from core import links
from core.markup import plain_excerpt
from core.throttle import rate_limit
from firm import selectors as firm_selectors
from firm import site_checklist, site_selectors
from firm.models import Coverage
from mediation.cases import clock, directory
from mediation.cases import services as case_services
from mediation.cases.models import InadmissibilityReason

# Paths no search engine needs: private spaces, forms with personal data, the API (robots.txt).
ROBOTS_DISALLOW = (
    "/staff/",
    "/espace-adherent/",
    "/accounts/",
    "/suivi/",
    "/deposer/",
    "/factures/",
    "/admin/",
    "/api/",
)
LEGAL_PAGE_URLS: dict[str, str] = site_checklist.PAGE_PUBLIC_URLS
LATEST_NEWS = 3


# --- Helpers -----------------------------------------------------------------------------


def language() -> str:
    """The two-letter language of this request ("fr" or "en"): the firm's texts follow it."""
    return (translation.get_language() or "fr")[:2]


def _default_description(request: HttpRequest) -> str:
    firm = getattr(getattr(request, "tenant", None), "name", "")
    return gettext("%(firm)s, médiateur de la consommation : la médiation est gratuite pour le consommateur.") % {
        "firm": firm
    }


def render_page(
    request: HttpRequest,
    template: str,
    *,
    title: str,
    description: str = "",
    canonical_path: str = "",
    status: int = 200,
    **context: Any,
) -> HttpResponse:
    """A page of the site with its metadata: description, canonical address (the path, no query), Open Graph."""
    if not description:
        description = plain_excerpt(site_selectors.site_settings().text("presentation", language()))
    meta = {
        "title": title,
        "description": description or _default_description(request),
        "canonical": request.build_absolute_uri(canonical_path or request.path),
    }
    return render(request, template, {"meta": meta, **context}, status=status)


def shown_items() -> set[str]:
    """The R614-1 items that have data (the checklist's ok and warning): the ones a page marks."""
    return {item.key for item in site_checklist.checklist() if item.status != site_checklist.Status.MISSING}


def _siren_display(siren: str) -> str:
    return f"{siren[:3]} {siren[3:6]} {siren[6:]}" if len(siren) == 9 else siren


# --- The mediator and how to file -----------------------------------------------------------------


@require_safe
def mediator(request: HttpRequest) -> HttpResponse:
    """« Le médiateur »: identity, contact, mediators and their term, sectors and conventions, networks."""
    lang = language()
    coverages = [
        {"label": c.label(lang), "kind": c.kind, "partner": c.partner, "signed_on": c.signed_on}
        for c in site_selectors.coverages()
    ]
    profile = firm_selectors.firm_profile()
    context: dict[str, Any] = {
        "profile": profile,
        "siren": _siren_display(profile.siren),
        "mediators": list(site_selectors.site_mediators()),
        "sectors": [c for c in coverages if c["kind"] == Coverage.Kind.SECTOR],
        "conventions": [c for c in coverages if c["kind"] == Coverage.Kind.CONVENTION],
        "networks": list(site_selectors.networks()),
        "no_network": site_selectors.site_settings().no_network,
        "shown": shown_items(),
    }
    return render_page(request, "public_site/site/mediator.html", title=gettext("Le médiateur"), **context)


def _accepted_types() -> str:
    """ "PDF, JPEG, PNG": the documents the filing form accepts (recognised by content)."""
    return ", ".join(mime.split("/")[1].upper() for _signature, mime, _ext in case_services.SIGNATURES)


@require_safe
def how_to_file(request: HttpRequest) -> HttpResponse:
    """« Saisir le médiateur »: online and by post, the procedure's rules, the disputes handled and refused."""
    lang = language()
    texts = site_selectors.site_settings()
    context: dict[str, Any] = {
        "postal_address": site_checklist.postal_address_lines(),
        "accepted_types": _accepted_types(),
        "document_max_mb": case_services.MAX_DOCUMENT_BYTES // (1024 * 1024),
        "case_max_mb": case_services.MAX_CASE_BYTES // (1024 * 1024),
        "admissibility_days": clock.ADMISSIBILITY_DAYS,
        "outcome_days": clock.OUTCOME_DAYS,
        "disputes_handled": texts.text("disputes_handled", lang),
        "disputes_excluded": texts.text("disputes_excluded", lang),
        "refusal_cases": [label for _value, label in InadmissibilityReason.choices],
        "shown": shown_items(),
    }
    return render_page(request, "public_site/site/how_to_file.html", title=gettext("Saisir le médiateur"), **context)


# --- Annual reports -----------------------------------------------------------------------------


@require_safe
def reports(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {"reports": list(site_selectors.published_reports())}
    return render_page(request, "public_site/site/reports.html", title=gettext("Rapports d'activité"), **context)


@require_safe
def report_file(request: HttpRequest, year: int) -> FileResponse:
    """The PDF of a published report, shown in the browser; 404 for a year that is not published."""
    report = site_selectors.published_report(year=year)
    if report is None or not report.file:
        raise Http404
    try:
        handle = report.file.open("rb")
    except OSError:  # the row outlived its file (storage restored without it): nothing to serve
        raise Http404 from None
    return FileResponse(
        handle, content_type="application/pdf", as_attachment=False, filename=f"rapport-activite-{year}.pdf"
    )


# --- Is this business a member? -------------------------------------------------------------------


class LookupForm(forms.Form):
    q = forms.CharField(
        label=_("Nom, numéro SIREN ou site internet du professionnel"),
        min_length=directory.SEARCH_MIN_LENGTH,
        max_length=200,
        help_text=_("Par exemple « Boulangerie Martin », 123 456 789 ou www.exemple.fr."),
        error_messages={
            "required": _("Saisissez le nom, le numéro SIREN ou le site internet du professionnel."),
            "min_length": _("Saisissez au moins %(limit_value)d caractères."),
        },
    )


@rate_limit("public_lookup", methods=("GET", "HEAD"))
@require_safe
def lookup(request: HttpRequest) -> HttpResponse:
    """« Vérifier qu'un professionnel est adhérent »: among the members this mediator covers today."""
    form = LookupForm(request.GET if "q" in request.GET else None)
    results = None
    more = False
    if form.is_bound and form.is_valid():
        found = directory.search_covered_members(form.cleaned_data["q"], limit=directory.SEARCH_LIMIT + 1)
        more = len(found) > directory.SEARCH_LIMIT
        # The filing wizard preselects the member from `adherent` (public_site.filing_views).
        results = [
            {
                "member": member,
                "siren": _siren_display(member.siren),
                "file_url": f"{reverse('filing:start')}?{urlencode({'adherent': member.siren})}",
            }
            for member in found[: directory.SEARCH_LIMIT]
        ]
    context: dict[str, Any] = {
        "form": form,
        "query": request.GET.get("q", "").strip()[:200],
        "results": results,
        "more": more,
        "max_results": directory.SEARCH_LIMIT,
        "platform_lookup_url": links.platform_url(reverse("lookup:search", urlconf="config.urls_public")),
        "sector_directory_url": links.platform_url(reverse("sector-directory", urlconf="config.urls_public")),
    }
    return render_page(
        request,
        "public_site/site/lookup.html",
        title=gettext("Vérifier qu'un professionnel est adhérent"),
        status=400 if form.errors else 200,
        **context,
    )


# --- Legal pages and news -----------------------------------------------------------------------


@require_safe
def legal_page(request: HttpRequest, kind: str) -> HttpResponse:
    """FAQ, legal notice, privacy, accessibility: the published version (French when no English one)."""
    page = site_selectors.published_page(kind=kind, language=language())
    if page is None:
        raise Http404
    return render_page(
        request,
        "public_site/site/page.html",
        title=page.title,
        description=plain_excerpt(page.body),
        page=page,
        marker=f"page_{kind}",
    )


@require_safe
def news(request: HttpRequest) -> HttpResponse:
    paginator = Paginator(site_selectors.published_news(language=language()), site_selectors.NEWS_PER_PAGE)
    page_obj = paginator.get_page(request.GET.get("page"))  # a wrong number shows the first or the last page
    posts = [{"post": post, "excerpt": plain_excerpt(post.body)} for post in page_obj]
    number = page_obj.number
    return render_page(
        request,
        "public_site/site/news_list.html",
        title=gettext("Actualités"),
        canonical_path=f"{request.path}?page={number}" if number > 1 else "",
        page_obj=page_obj,
        posts=posts,
    )


@require_safe
def news_post(request: HttpRequest, slug: str) -> HttpResponse:
    post = site_selectors.published_news_post(slug=slug)
    if post is None:
        raise Http404
    return render_page(
        request, "public_site/site/news_post.html", title=post.title, description=plain_excerpt(post.body), post=post
    )


# --- For search engines -----------------------------------------------------------------------------


@require_safe
def sitemap(request: HttpRequest) -> HttpResponse:
    """The public pages, with absolute addresses on this host; drafts and unpublished pages are not listed."""
    lang = language()
    names = ["home", "site:mediator", "site:how_to_file", "site:reports", "site:lookup", "site:news"]
    entries: list[dict[str, Any]] = [{"loc": request.build_absolute_uri(reverse(name))} for name in names]
    for kind, url_name in LEGAL_PAGE_URLS.items():
        page = site_selectors.published_page(kind=kind, language=lang)
        if page is not None:
            entries.append({"loc": request.build_absolute_uri(reverse(url_name)), "lastmod": page.published_at})
    # Every published post, in either language: its address answers whatever the visitor's language.
    entries += [
        {"loc": request.build_absolute_uri(reverse("site:news_post", args=[post.slug])), "lastmod": post.published_at}
        for post in site_selectors.news_posts()
        if post.is_published
    ]
    return render(request, "public_site/site/sitemap.xml", {"entries": entries}, content_type="application/xml")


@require_safe
def robots(request: HttpRequest) -> HttpResponse:
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in ROBOTS_DISALLOW)]
    lines.append(f"Sitemap: {request.build_absolute_uri(reverse('site:sitemap'))}")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
