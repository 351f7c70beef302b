"""`{% site_footer_links %}`: the firm's public pages in the footer of every page of its host (base.html).

The legal pages listed are the published ones only, read in one query when
the footer is rendered (never for the platform host, where base.html does
not call the tag).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils import translation

from firm import site_checklist, site_selectors
from firm.models import SitePage

register = template.Library()


@register.inclusion_tag("public_site/site/_footer_links.html", takes_context=True)
def site_footer_links(context: template.Context) -> dict[str, Any]:
    published = site_selectors.published_page_kinds(language=translation.get_language() or "fr")
    request = context.get("request")
    current = request.path if request is not None else ""
    pages = [
        {"label": SitePage.Kind(kind).label, "url": reverse(site_checklist.PAGE_PUBLIC_URLS[kind])}
        for kind in SitePage.Kind.values
        if kind in published
    ]
    return {"legal_pages": pages, "current_path": current}
