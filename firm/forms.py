from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from firm.models import FirmProfile, Mediator
from firm.services import MEDIATOR_FIELDS
from firm.validators import normalize_siren, validate_siren

COLOUR_WIDGET = forms.TextInput(attrs={"type": "color"})

# The profile form's sections, in display order: (legend, fields).
PROFILE_SECTIONS: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (_("Identité"), ("legal_name", "legal_form", "siren", "siret", "vat_number", "rcs")),
    (_("Adresse"), ("address_line1", "address_line2", "postcode", "city", "country")),
    (_("Contact"), ("contact_email", "contact_phone", "website")),
    (_("Image de marque"), ("logo", "primary_color", "secondary_color")),
    (_("E-mails et factures"), ("email_sender_name", "reply_to_email", "invoice_prefix", "iban", "bic")),
    (_("Préférences et sécurité"), ("default_language", "require_mfa")),
)


def _profile_field(name: str, **overrides: Any) -> Any:
    field = FirmProfile._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field.formfield(**overrides)


class FirmProfileForm(forms.ModelForm):
    website = _profile_field("website", assume_scheme="https")
    # No length limit on the form: identifiers are typed with spaces, and the
    # model compacts them before checking them.
    siren = _profile_field("siren", max_length=None)
    siret = _profile_field("siret", max_length=None)
    vat_number = _profile_field("vat_number", max_length=None)
    iban = _profile_field("iban", max_length=None)
    bic = _profile_field("bic", max_length=None)

    class Meta:
        model = FirmProfile
        fields = [name for _legend, names in PROFILE_SECTIONS for name in names]
        widgets = {
            "primary_color": COLOUR_WIDGET,
            "secondary_color": COLOUR_WIDGET,
            "contact_phone": forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
            "contact_email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "address_line1": forms.TextInput(attrs={"autocomplete": "address-line1"}),
            "address_line2": forms.TextInput(attrs={"autocomplete": "address-line2"}),
            "postcode": forms.TextInput(attrs={"autocomplete": "postal-code"}),
            "city": forms.TextInput(attrs={"autocomplete": "address-level2"}),
        }

    def sections(self) -> list[tuple[Any, list[forms.BoundField]]]:
        return [(legend, [self[name] for name in names]) for legend, names in PROFILE_SECTIONS]


class SirenListField(forms.CharField):
    """SIRENs typed one per line (or separated by commas); each is checked, the list is compacted."""

    widget = forms.Textarea(attrs={"rows": 3})

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list | tuple):
            return [str(item) for item in value]
        text = super().to_python(value) or ""
        # A SIREN may be written with spaces ("732 829 320"): split on lines, commas and semicolons only.
        return [item.strip() for item in re.split(r"[\n,;]+", text) if item.strip()]

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")

    def run_validators(self, value: Any) -> None:
        errors = []
        for item in value:
            try:
                validate_siren(item)
            except ValidationError as exc:
                errors.append(
                    ValidationError(_("« %(value)s » : %(error)s"), params={"value": item, "error": exc.messages[0]})
                )
        if errors:
            raise ValidationError(errors)

    def clean(self, value: Any) -> list[str]:
        return sorted({normalize_siren(item) for item in super().clean(value)})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return "\n".join(value)
        return value


class MediatorForm(forms.ModelForm):
    conflict_sirens = SirenListField(
        label=_("Conflits d'intérêts déclarés (SIREN)"),
        required=False,
        help_text=_("Un SIREN par ligne : les entreprises avec lesquelles le médiateur a des liens (article R613-1)."),
    )

    class Meta:
        model = Mediator
        fields = list(MEDIATOR_FIELDS)
        widgets = {
            "listed_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "term_ends_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "sectors": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user_field = self.fields["user"]
        assert isinstance(user_field, forms.ModelChoiceField)
        active = User.objects.filter(is_active=True)
        if self.instance.user_id:
            active = active | User.objects.filter(pk=self.instance.user_id)
        user_field.queryset = active.order_by("last_name", "first_name", "email")
        user_field.empty_label = str(_("Aucun"))


class CustomDomainForm(forms.Form):
    domain = forms.CharField(
        label=_("Nom de domaine souhaité"),
        max_length=253,
        help_text=_(
            "Par exemple mediation.exemple.fr. Faites pointer ce nom (enregistrement CNAME) vers l'adresse actuelle "
            "de votre espace avant de le demander."
        ),
    )
