"""Forms of the public site's settings in the staff area (firm.site_views); every write goes through site_services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from firm import site_selectors
from firm.models import Coverage, NetworkMembership, SiteLanguage, SiteSettings, validate_report_size
from firm.site_services import COVERAGE_FIELDS, NETWORK_FIELDS, SETTINGS_FIELDS

# Longer than any legal notice or FAQ; bounds what the preview renders on every keystroke.
MAX_TEXT_CHARS = 50_000
MARKDOWN_HELP = _("Mise en forme simple : **gras**, listes avec « - » en début de ligne, liens [texte](https://…).")
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

# The texts form's sections, in display order: each text and its English version side by side.
SETTINGS_SECTIONS: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (_("Présentation du médiateur"), ("presentation", "presentation_en")),
    (_("Litiges traités"), ("disputes_handled", "disputes_handled_en")),
    (_("Litiges non traités"), ("disputes_excluded", "disputes_excluded_en")),
    (_("Saisine par courrier"), ("postal_address",)),
    (_("Réseaux de médiateurs"), ("no_network",)),
)
MARKDOWN_FIELDS = {
    "presentation",
    "presentation_en",
    "disputes_handled",
    "disputes_handled_en",
    "disputes_excluded",
    "disputes_excluded_en",
}
ENGLISH_HELP = _("Facultatif : sans version anglaise, le site montre le texte français aux visiteurs anglophones.")


def add_service_error(form: forms.BaseForm, exc: ValidationError, renames: dict[str, str] | None = None) -> None:
    """Shows a service's ValidationError next to the field it concerns (`renames`: service name → form field)."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.error_dict.items():
        field = (renames or {}).get(name, name)
        form.add_error(field if field in form.fields else None, errors)


class SiteSettingsForm(forms.ModelForm):
    class Meta:
        model = SiteSettings
        fields = list(SETTINGS_FIELDS)
        widgets = {name: forms.Textarea(attrs={"rows": 6}) for name in MARKDOWN_FIELDS} | {
            "postal_address": forms.Textarea(attrs={"rows": 4, "autocomplete": "street-address"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assert {name for _legend, names in SETTINGS_SECTIONS for name in names} == set(self.fields)
        for name in MARKDOWN_FIELDS:
            field = self.fields[name]
            field.validators.append(MaxLengthValidator(MAX_TEXT_CHARS))
            own = ENGLISH_HELP if name.endswith("_en") else field.help_text
            field.help_text = f"{own} {MARKDOWN_HELP}".strip()
            if name.endswith("_en"):
                field.widget.attrs["lang"] = "en"

    def sections(self) -> list[tuple[Any, list[forms.BoundField]]]:
        return [(legend, [self[name] for name in names]) for legend, names in SETTINGS_SECTIONS]


class CoverageForm(forms.ModelForm):
    class Meta:
        model = Coverage
        fields = list(COVERAGE_FIELDS)
        widgets = {"signed_on": DATE_WIDGET, "name_en": forms.TextInput(attrs={"lang": "en"})}


class NetworkForm(forms.ModelForm):
    website = forms.URLField(
        label=NetworkMembership._meta.get_field("website").verbose_name,
        required=False,
        assume_scheme="https",
        max_length=200,
    )

    class Meta:
        model = NetworkMembership
        fields = list(NETWORK_FIELDS)
        widgets = {"since": DATE_WIDGET}


class DraftForm(forms.Form):
    """The draft of a page or a piece of news: a title and a Markdown text (site_services checks them again)."""

    title = forms.CharField(label=_("Titre"), max_length=200, error_messages={"required": _("Donnez un titre.")})
    body = forms.CharField(
        label=_("Texte"),
        max_length=MAX_TEXT_CHARS,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 18}),
        help_text=MARKDOWN_HELP,
        error_messages={"required": _("Le texte est vide.")},
    )

    # The services name the fields as the model does.
    SERVICE_FIELDS = {"draft_title": "title", "draft_body": "body"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # With JavaScript, htmx shows the preview as the text is typed (the form's CSRF token goes with it);
        # without, the « Prévisualiser » button does the same through a full page.
        self.fields["body"].widget.attrs.update(
            {
                "hx-post": reverse_lazy("site-admin:preview"),
                "hx-trigger": "load, input changed delay:500ms",
                "hx-target": "#live-preview",
                "hx-swap": "innerHTML",
            }
        )

    def add_service_error(self, exc: ValidationError) -> None:
        add_service_error(self, exc, renames=self.SERVICE_FIELDS)


class NewsForm(DraftForm):
    language = forms.ChoiceField(label=_("Langue"), choices=SiteLanguage.choices, initial=SiteLanguage.FR)

    field_order = ("title", "language", "body")


class ReportForm(forms.Form):
    year = forms.IntegerField(
        label=_("Année du rapport"),
        help_text=_("L'année dont le rapport rend compte, d'ordinaire l'année précédente."),
    )
    file = forms.FileField(
        label=_("Rapport (PDF, 20 Mo au plus)"),
        validators=[validate_report_size],
        widget=forms.FileInput(attrs={"accept": "application/pdf,.pdf"}),
    )
    summary = forms.CharField(
        label=_("Résumé"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Quelques lignes affichées à côté du lien de téléchargement (facultatif)."),
    )
    replace = forms.BooleanField(
        label=_("Remplacer le rapport publié"),
        required=False,
        help_text=_("À cocher seulement pour remplacer le rapport d'une année déjà publiée."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        year = cleaned.get("year")
        if year is not None and not cleaned.get("replace") and site_selectors.published_report(year=year):
            self.add_error(
                "replace",
                ValidationError(
                    _("Le rapport %(year)s est déjà publié : cochez « Remplacer le rapport publié »."),
                    code="replace_not_confirmed",
                    params={"year": year},
                ),
            )
        return cleaned

    def add_service_error(self, exc: ValidationError) -> None:
        add_service_error(self, exc)
