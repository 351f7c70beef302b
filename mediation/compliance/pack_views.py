"""The CECMC compliance pack's staff page (/staff/conformite/dossier/): what the pack holds, and the ZIP.

reports.view: GET explains the pack and offers a year (2016 to last year, last year by default); POST builds
the ZIP (`pack.build`) and sends it as an attachment. The public pages are checked on the host the request
came to: the firm's own host, since a firm's staff pages are only served on it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from accounts.permissions import Perm, require_perm
from mediation.compliance import pack
from mediation.reports.services import FIRST_YEAR


def pack_years() -> list[int]:
    """From the first year of consumer mediation to last year, the most recent first."""
    return list(range(timezone.localdate().year - 1, FIRST_YEAR - 1, -1))


class PackForm(forms.Form):
    year = forms.TypedChoiceField(label=_("Année du rapport d'activité"), coerce=int, choices=())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        years = pack_years()
        field = self.fields["year"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(year, str(year)) for year in years]
        field.initial = years[0] if years else None


@require_perm(Perm.REPORTS_VIEW)
@require_http_methods(["GET", "POST"])
def pack_index(request: HttpRequest) -> HttpResponse:
    form = PackForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        year = form.cleaned_data["year"]
        content = pack.build(year=year, host=request.get_host(), secure=request.is_secure())
        response = HttpResponse(content, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{pack.zip_name(year)}"'
        return response
    return render(request, "compliance/pack/index.html", {"form": form}, status=400 if form.errors else 200)
