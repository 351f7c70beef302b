"""The CECMC compliance pack's staff page (/staff/conformite/dossier/): what the pack holds, and the ZIP.

reports.view: GET explains the pack and offers a year (2016 to last year, last year by default); POST builds
the ZIP (`pack.build`) and sends it as an attachment. The public pages are checked on the host the request
came to: the firm's own host, since a firm's staff pages are only served on it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from accounts.models import User
from accounts.permissions import Perm, require_perm, user_has_perm
from mediation.compliance import listing, pack
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
    return _page(request, form=form, status=400 if form.errors else 200)


class FundingForm(forms.Form):
    funding = forms.CharField(
        label=_("Financement du médiateur (R614-3)"),
        required=False,
        max_length=listing.MAX_FUNDING_CHARS,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "Comment l'activité de médiation est financée et comment l'indépendance du médiateur est garantie ; "
            "repris dans le dossier de référencement du ZIP."
        ),
    )


def _page(
    request: HttpRequest, *, form: PackForm | None = None, funding_form: FundingForm | None = None, status: int = 200
) -> HttpResponse:
    context = {
        "form": form or PackForm(),
        "funding_form": funding_form or FundingForm(initial={"funding": listing.listing_info().funding}),
        "can_edit": user_has_perm(request.user, Perm.REPORTS_EDIT),
        "funding": listing.listing_info().funding,
    }
    return render(request, "compliance/pack/index.html", context, status=status)


@require_perm(Perm.REPORTS_EDIT)
@require_http_methods(["POST"])
def funding_save(request: HttpRequest) -> HttpResponse:
    """Saves the listing file's funding text, then back to the pack page."""
    form = FundingForm(request.POST)
    if not form.is_valid():
        return _page(request, funding_form=form, status=400)
    assert isinstance(request.user, User)
    listing.save_funding(by=request.user, funding=form.cleaned_data["funding"])
    messages.success(request, _("Le financement du médiateur est enregistré."))
    return redirect("pack:index")
