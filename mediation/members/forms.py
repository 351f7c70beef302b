from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from mediation.members import selectors
from mediation.members.models import Contact, Group, Member
from mediation.members.services import CONTACT_FIELDS, GROUP_FIELDS, MEMBER_FIELDS

# The member form's sections, in display order: (legend, fields).
MEMBER_SECTIONS: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (
        _("Identité"),
        ("legal_name", "trade_name", "siren", "siret", "vat_number", "naf_code", "legal_form", "group"),
    ),
    (_("Adresse et sites"), ("address_line1", "address_line2", "postcode", "city", "country", "websites")),
    (_("Profil"), ("sector", "headcount_band", "turnover_band")),
    (_("Économie sociale et inclusive"), ("is_ess", "is_siae", "is_esat", "is_ea", "is_tih")),
)
assert {name for _legend, names in MEMBER_SECTIONS for name in names} == set(MEMBER_FIELDS)


def _model_field(model: type[models.Model], name: str, **overrides: Any) -> Any:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field.formfield(**overrides)


class UrlListField(forms.CharField):
    """Web addresses, one per line; `exemple.fr` becomes `https://exemple.fr`."""

    widget = forms.Textarea(attrs={"rows": 2})

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list | tuple):
            return [str(item) for item in value]
        text = super().to_python(value) or ""
        urls = [item.strip() for item in re.split(r"[\s,;]+", text) if item.strip()]
        return [url if "://" in url else f"https://{url}" for url in urls]

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")

    def run_validators(self, value: Any) -> None:
        check = URLValidator(schemes=["http", "https"])
        errors = []
        for url in value:
            try:
                check(url)
            except ValidationError:
                errors.append(
                    ValidationError(_("« %(value)s » n'est pas une adresse de site valide."), params={"value": url})
                )
        if errors:
            raise ValidationError(errors)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return "\n".join(value)
        return value


class MemberForm(forms.ModelForm):
    # No length limit on the form: identifiers are typed with spaces, the model compacts them.
    siren = _model_field(Member, "siren", max_length=None)
    siret = _model_field(Member, "siret", max_length=None)
    vat_number = _model_field(Member, "vat_number", max_length=None)
    naf_code = _model_field(Member, "naf_code", max_length=None)
    websites = UrlListField(
        label=_("Sites internet"), required=False, help_text=_("Une adresse par ligne, par exemple boulangerie.fr.")
    )

    class Meta:
        model = Member
        fields = list(MEMBER_FIELDS)
        widgets = {
            "address_line1": forms.TextInput(attrs={"autocomplete": "address-line1"}),
            "address_line2": forms.TextInput(attrs={"autocomplete": "address-line2"}),
            "postcode": forms.TextInput(attrs={"autocomplete": "postal-code"}),
            "city": forms.TextInput(attrs={"autocomplete": "address-level2"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        group_field = self.fields["group"]
        assert isinstance(group_field, forms.ModelChoiceField)
        group_field.empty_label = str(_("Aucun"))

    def sections(self) -> list[tuple[Any, list[forms.BoundField]]]:
        return [(legend, [self[name] for name in names]) for legend, names in MEMBER_SECTIONS]


class ContactForm(forms.ModelForm):
    roles = forms.MultipleChoiceField(
        label=_("Rôles"),
        choices=Contact.Role.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Une même personne peut avoir plusieurs rôles."),
    )

    class Meta:
        model = Contact
        fields = list(CONTACT_FIELDS)
        widgets = {
            "email": forms.EmailInput(attrs={"autocomplete": "off"}),
            "phone": forms.TextInput(attrs={"type": "tel"}),
        }


class GroupForm(forms.ModelForm):
    class Meta:
        model = Group
        fields = list(GROUP_FIELDS)
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}


class QuickSelect(forms.Select):
    """Django's select, rendered in Python: a template per option took a tenth of the member list's time.

    Same markup as django/forms/widgets/select.html (no optgroups in the filters).
    """

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (option["value"], flatatt(option["attrs"]), option["label"])
                for _group, choices, _index in widget["optgroups"]
                for option in choices
            ),
        )
        return format_html('<select name="{}"{}>{}</select>', widget["name"], flatatt(widget["attrs"]), options)


class MemberFilterForm(forms.Form):
    """The list's search, filters and sort (query parameters, shared by the page, the exports and the API)."""

    q = forms.CharField(label=_("Rechercher"), required=False, help_text=_("Nom, nom commercial, SIREN ou ville"))
    status = forms.ChoiceField(label=_("Statut"), required=False, widget=QuickSelect)
    sector = forms.ChoiceField(label=_("Secteur"), required=False, widget=QuickSelect)
    group = forms.ModelChoiceField(
        label=_("Groupement"), queryset=Group.objects.none(), required=False, widget=QuickSelect
    )
    headcount_band = forms.ChoiceField(label=_("Effectif"), required=False, widget=QuickSelect)
    renewal_from = forms.DateField(
        label=_("Fin d'adhésion du"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
    )
    renewal_to = forms.DateField(
        label=_("Fin d'adhésion au"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
    )
    sort = forms.ChoiceField(
        label=_("Trier par"),
        required=False,
        widget=QuickSelect,
        choices=[
            ("name", _("Nom (A → Z)")),
            ("-name", _("Nom (Z → A)")),
            ("siren", _("SIREN")),
            ("city", _("Ville")),
            ("status", _("Statut")),
            ("-created", _("Les plus récents")),
        ],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        everything = [("", _("Tous"))]
        for name, choices in (
            ("status", Member.Status.choices),
            ("sector", Member.Sector.choices),
            ("headcount_band", Member.HeadcountBand.choices),
        ):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [*everything, *choices]
        group_field = self.fields["group"]
        assert isinstance(group_field, forms.ModelChoiceField)
        group_field.queryset = Group.objects.order_by("name")
        group_field.empty_label = str(_("Tous"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("renewal_from"), data.get("renewal_to")
        if start and end and start > end:
            # The end bound is dropped (add_error removes it), the start bound still applies.
            self.add_error("renewal_to", _("Cette date doit suivre la date de début."))
        return data

    def filters(self) -> selectors.MemberFilters:
        """The selector's filters; call after is_valid() (an invalid field counts as not set)."""
        data = getattr(self, "cleaned_data", {})
        return selectors.MemberFilters(
            search=data.get("q") or "",
            status=data.get("status") or "",
            sector=data.get("sector") or "",
            group=data.get("group"),
            headcount_band=data.get("headcount_band") or "",
            renewal_from=data.get("renewal_from"),
            renewal_to=data.get("renewal_to"),
            sort=data.get("sort") or selectors.DEFAULT_SORT,
        )
