"""The platform host's directory of sector and public mediators (`/trouver-un-mediateur/annuaire/`).

Where the platform-wide lookup sends a consumer when no firm here covers the
business: the sector mediators, the conciliateurs de justice and the official
list, from `mediation.cases.directory` (the list the filing wizard shows too).
"""

from __future__ import annotations

from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe
from django_tenants.utils import get_public_schema_name

from mediation.cases import directory
from tenants.lookup_views import CONCILIATEUR_URL, OFFICIAL_LIST_URL


@require_safe
def sector_directory(request: HttpRequest) -> HttpResponse:
    # Mounted on the platform host only, like the lookup it completes.
    if getattr(connection, "schema_name", None) != get_public_schema_name():
        raise Http404
    context = {
        "entries": directory.entries(),
        "checked_on": directory.CHECKED_ON,
        "official_list_url": OFFICIAL_LIST_URL,
        "conciliateur_url": CONCILIATEUR_URL,
        "canonical": request.build_absolute_uri(request.path),
    }
    return render(request, "public_site/directory.html", context)
