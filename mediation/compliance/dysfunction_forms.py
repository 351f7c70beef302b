"""Forms of the recurring dysfunctions: the thresholds with the letter's text, and closing an alert."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from mediation.compliance import dysfunctions
from mediation.compliance.models import DysfunctionSettings


class DysfunctionSettingsForm(forms.ModelForm):
    letter_subject = forms.CharField(label=_("Objet de la lettre de recommandations"), max_length=200)
    letter_body = forms.CharField(
        label=_("Texte de la lettre de recommandations"),
        widget=forms.Textarea(attrs={"rows": 18}),
        max_length=20_000,
        help_text=_(
            "Syntaxe des gabarits Django : {{ variable }}, {% if variable %}…{% endif %}. "
            "Le nombre de demandes ({{ cases_count }}) doit y figurer."
        ),
    )

    class Meta:
        model = DysfunctionSettings
        fields = list(dysfunctions.SETTINGS_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            subject, body, _customised = dysfunctions.letter_texts_for()
            self.initial.setdefault("letter_subject", subject)
            self.initial.setdefault("letter_body", body)
        self.sections = [
            (
                _("Seuils"),
                [self[name] for name in ("window_days", "member_threshold", "sector_threshold", "subject_threshold")],
            ),
            (_("Surveillance"), [self["is_active"]]),
            (_("Lettre de recommandations au professionnel"), [self["letter_subject"], self["letter_body"]]),
        ]

    def _check(self, name: str, required: tuple[str, ...] = ()) -> str:
        source: str = self.cleaned_data[name]
        dysfunctions.check_letter_text(source, required=required)
        return source

    def clean_letter_subject(self) -> str:
        return self._check("letter_subject")

    def clean_letter_body(self) -> str:
        return self._check("letter_body", dysfunctions.LETTER_REQUIRED)

    def settings_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in dysfunctions.SETTINGS_FIELDS}


class CloseAlertForm(forms.Form):
    note = forms.CharField(
        label=_("Suite donnée"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text=_("Par exemple : lettre de recommandations envoyée, échange avec le professionnel."),
        error_messages={"required": _("Indiquez la suite donnée à cette alerte.")},
    )

    def clean_note(self) -> str:
        note: str = self.cleaned_data["note"].strip()
        if not note:
            raise ValidationError(_("Indiquez la suite donnée à cette alerte."), code="required")
        return note
