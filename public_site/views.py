"""The firm's public home page, on its own host."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext

from core.markup import plain_excerpt
from firm import site_selectors
from public_site.site_views import LATEST_NEWS, LookupForm, language, render_page

HANDLED_EXCERPT_LENGTH = 300


def home(request: HttpRequest) -> HttpResponse:
    """The firm's name and presentation, the two entry points (file, follow), the member lookup, the news."""
    lang = language()
    texts = site_selectors.site_settings()
    tenant_name = getattr(getattr(request, "tenant", None), "name", "")
    presentation = texts.text("presentation", lang)
    context: dict[str, Any] = {
        "presentation": presentation,
        "handled": plain_excerpt(texts.text("disputes_handled", lang), HANDLED_EXCERPT_LENGTH),
        "lookup_form": LookupForm(),
        "latest_news": list(site_selectors.published_news(language=lang)[:LATEST_NEWS]),
    }
    return render_page(
        request,
        "public_site/home.html",
        title=tenant_name or gettext("Accueil"),
        description=plain_excerpt(presentation),
        **context,
    )
