from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siren as siren_number

from tenants.models import Plan
from tenants.services import slug_problem


class SignupForm(forms.Form):
    legal_name = forms.CharField(label=_("Raison sociale du cabinet"), max_length=200)
    siren = forms.CharField(
        label=_("SIREN"), max_length=20, help_text=_("9 chiffres, figurant sur l'extrait Kbis ou l'avis de situation.")
    )
    slug = forms.CharField(
        label=_("Sous-domaine souhaité"),
        max_length=40,
        help_text=_("Votre espace sera à l'adresse <sous-domaine>.%(domain)s"),
    )
    admin_first_name = forms.CharField(label=_("Prénom de l'administrateur"), max_length=150)
    admin_last_name = forms.CharField(label=_("Nom de l'administrateur"), max_length=150)
    admin_email = forms.EmailField(label=_("Adresse e-mail de l'administrateur"))
    plan = forms.ModelChoiceField(
        label=_("Formule"), queryset=Plan.objects.filter(is_public=True), empty_label=None, widget=forms.RadioSelect
    )

    def __init__(self, *args: Any, platform_domain: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slug"].help_text = str(self.fields["slug"].help_text) % {"domain": platform_domain}
        for name in ("legal_name", "admin_first_name", "admin_last_name"):
            self.fields[name].widget.attrs["autocomplete"] = {
                "legal_name": "organization",
                "admin_first_name": "given-name",
                "admin_last_name": "family-name",
            }[name]
        self.fields["admin_email"].widget.attrs["autocomplete"] = "email"
        self.fields["siren"].widget.attrs["inputmode"] = "numeric"

    def clean_siren(self) -> str:
        try:
            return str(siren_number.validate(self.cleaned_data["siren"]))
        except StdnumError:
            raise forms.ValidationError(
                _(
                    "Ce numéro SIREN n'est pas valide : il doit compter 9 chiffres "
                    "et sa clé de contrôle doit être juste."
                ),
                code="invalid_siren",
            ) from None

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].strip().lower()
        problem = slug_problem(slug)
        if problem:
            raise forms.ValidationError(problem, code="slug_unavailable")
        return slug
