"""The form a firm edits a letter's text with: it must compile, render, and keep its mandatory variables."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mediation.cases import letter_texts


class LetterTemplateForm(forms.Form):
    subject = forms.CharField(label=_("Objet"), max_length=200)
    body = forms.CharField(
        label=_("Texte"),
        widget=forms.Textarea(attrs={"rows": 22}),
        max_length=20_000,
        help_text=_("Syntaxe des gabarits Django : {{ variable }}, {% if variable %}…{% endif %}."),
    )

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.preview: dict[str, str] | None = None

    def _check(self, name: str) -> str:
        source: str = self.cleaned_data[name]
        try:
            letter_texts.check_text(source, context=letter_texts.sample_context())
        except letter_texts.TemplateTextError as exc:
            raise ValidationError(str(exc), code="invalid_template") from exc
        return source

    def clean_subject(self) -> str:
        return self._check("subject")

    def clean_body(self) -> str:
        return self._check("body")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "subject" not in cleaned or "body" not in cleaned:
            return cleaned
        used = letter_texts.used_variables(cleaned["subject"]) | letter_texts.used_variables(cleaned["body"])
        for mention in letter_texts.DEFAULTS[self.kind].mentions:
            missing = [name for name in mention.variables if name not in used]
            if missing:
                self.add_error(
                    "body",
                    ValidationError(
                        gettext("Mention obligatoire absente : %(mention)s (variable %(names)s).")
                        % {"mention": mention.label, "names": ", ".join("{{ " + name + " }}" for name in missing)},
                        code="missing_mention",
                    ),
                )
        if not self.errors:
            context = letter_texts.sample_context()
            self.preview = {
                "subject": " ".join(letter_texts.render_text(cleaned["subject"], context).split()),
                "body": letter_texts.render_text(cleaned["body"], context),
            }
        return cleaned
