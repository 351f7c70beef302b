"""The platform host's "find your mediator": which firm of the platform covers a business (issue 9).

Public, anonymous, read-only: one query on the coverage index
(`tenants.coverage_index`). When no firm here covers the business, the page
says so plainly and points to the official list of mediators and to the
conciliateur de justice.
"""

from __future__ import annotations

from django import forms
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import get_public_schema_name
from stdnum import exceptions as stdnum_errors
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from core.throttle import rate_limit
from tenants import coverage_index

# The CECMC's list of notified consumer mediators, on economie.gouv.fr.
OFFICIAL_LIST_URL = "https://www.economie.gouv.fr/mediation-conso/mediateurs-references"
# Free and open to everyone when a business has no mediator (service-public.fr).
CONCILIATEUR_URL = "https://www.service-public.fr/particuliers/vosdroits/F1736"


class LookupForm(forms.Form):
    q = forms.CharField(
        label=_("Nom de l'entreprise ou numéro SIREN"),
        max_length=200,
        help_text=_(
            "Par exemple « Boulangerie Martin » ou 123 456 789. Le SIREN (9 chiffres) figure sur les factures, "
            "les conditions générales de vente et les mentions légales du site de l'entreprise."
        ),
    )

    def clean_q(self) -> str:
        value: str = self.cleaned_data["q"].strip()
        compact = coverage_index.compact_siren(value)
        if compact.isdigit():
            return _checked_siren(compact)
        if len(coverage_index.normalise(value).replace(" ", "")) < coverage_index.MIN_NAME_LENGTH:
            raise forms.ValidationError(
                _("Saisissez au moins deux lettres du nom de l'entreprise, ou son numéro SIREN."), code="too_short"
            )
        return value


def _checked_siren(digits: str) -> str:
    """A SIREN from 9 digits, or from a 14-digit SIRET (its first 9); a clear message when the key is wrong."""
    if len(digits) == 14:
        try:
            stdnum_siret.validate(digits)
        except stdnum_errors.ValidationError:
            raise forms.ValidationError(
                _("Ce numéro SIRET n'existe pas : sa clé de contrôle est fausse. Vérifiez les 14 chiffres."),
                code="invalid_checksum",
            ) from None
        return digits[:9]
    if len(digits) != 9:
        raise forms.ValidationError(
            _("Un numéro SIREN compte 9 chiffres (un SIRET, 14) : vous en avez saisi %(count)d.")
            % {"count": len(digits)},
            code="invalid_length",
        )
    try:
        stdnum_siren.validate(digits)
    except stdnum_errors.ValidationError:
        raise forms.ValidationError(
            _("Ce numéro SIREN n'existe pas : sa clé de contrôle est fausse. Vérifiez les 9 chiffres."),
            code="invalid_checksum",
        ) from None
    return digits


@rate_limit("public_lookup", methods=("GET", "HEAD"))
def find_mediator(request: HttpRequest) -> HttpResponse:
    # Mounted on the platform host only; a firm's host never answers for the whole platform.
    if getattr(connection, "schema_name", None) != get_public_schema_name():
        raise Http404
    form = LookupForm(request.GET if "q" in request.GET else None)
    results: list[coverage_index.Found] | None = None
    more = False
    if form.is_bound and form.is_valid():
        found = coverage_index.search(form.cleaned_data["q"], limit=coverage_index.MAX_RESULTS + 1)
        more = len(found) > coverage_index.MAX_RESULTS
        results = found[: coverage_index.MAX_RESULTS]
    context = {
        "form": form,
        "query": request.GET.get("q", "").strip()[:200],
        "results": results,
        "more": more,
        "max_results": coverage_index.MAX_RESULTS,
        "official_list_url": OFFICIAL_LIST_URL,
        "conciliateur_url": CONCILIATEUR_URL,
    }
    return render(request, "tenants/lookup/search.html", context, status=400 if form.errors else 200)
