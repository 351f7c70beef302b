"""Forms of the public joining pages: SIREN, the business's details, the offer, the convention's acceptance."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from firm import validators as identifiers
from mediation.members.models import Member


class SirenForm(forms.Form):
    siren = forms.CharField(
        label=_("Numéro SIREN de l'entreprise"),
        max_length=20,
        help_text=_("Les 9 chiffres qui figurent sur l'extrait Kbis ou l'avis de situation SIRENE."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def clean_siren(self) -> str:
        value = identifiers.normalize_siren(self.cleaned_data["siren"])
        identifiers.validate_siren(value)
        return value


class DetailsForm(forms.Form):
    legal_name = forms.CharField(
        label=_("Raison sociale"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "organization"})
    )
    address_line1 = forms.CharField(
        label=_("Adresse"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "street-address"})
    )
    postcode = forms.CharField(
        label=_("Code postal"),
        max_length=5,
        validators=[identifiers.validate_french_postcode],
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "postal-code"}),
    )
    city = forms.CharField(
        label=_("Ville"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "address-level2"})
    )
    headcount_band = forms.ChoiceField(
        label=_("Effectif"),
        choices=Member.HeadcountBand.choices,
        widget=forms.RadioSelect,
        help_text=_("Le prix de l'adhésion dépend de l'effectif."),
    )
    contact_first_name = forms.CharField(
        label=_("Votre prénom"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    contact_last_name = forms.CharField(
        label=_("Votre nom"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )
    contact_role = forms.CharField(
        label=_("Votre fonction"),
        max_length=100,
        help_text=_("Par exemple : gérant, présidente, directeur administratif."),
        widget=forms.TextInput(attrs={"autocomplete": "organization-title"}),
    )
    contact_email = forms.EmailField(
        label=_("Votre adresse e-mail"),
        help_text=_("Nous y envoyons la convention acceptée, puis la facture."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean_contact_email(self) -> str:
        return str(self.cleaned_data["contact_email"]).strip().lower()


class OfferForm(forms.Form):
    term_years = forms.TypedChoiceField(label=_("Durée d'engagement"), coerce=int, widget=forms.RadioSelect, choices=())

    def __init__(self, *args: Any, choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["term_years"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices


class AcceptanceForm(forms.Form):
    signer_name = forms.CharField(
        label=_("Nom et prénom du signataire"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    signer_role = forms.CharField(
        label=_("Qualité du signataire"),
        max_length=200,
        help_text=_("La personne qui accepte doit pouvoir engager l'entreprise (gérant, président, mandataire…)."),
        widget=forms.TextInput(attrs={"autocomplete": "organization-title"}),
    )
    accept = forms.BooleanField(
        label=_("J'ai lu et j'accepte la convention d'adhésion ci-dessus, au nom de l'entreprise."),
        error_messages={"required": _("Cochez la case pour accepter la convention.")},
    )
    # The version the signer read: a version published meanwhile is shown before anything is accepted.
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
