"""The annual report's form: its period and the mediator's texts (the figures are computed, never typed)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from firm.site_forms import DATE_WIDGET, MARKDOWN_HELP, MAX_TEXT_CHARS
from mediation.reports.models import AnnualReport
from mediation.reports.services import EDITABLE_FIELDS, TEXT_FIELDS

SECTIONS: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (_("Période couverte"), ("period_start", "period_end")),
    (_("Textes du rapport"), TEXT_FIELDS),
)


class ReportForm(forms.Form):
    """Labels and help from the model; the period's rules are the service's (its errors come back here)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        widgets: dict[str, type[forms.Widget] | forms.Widget] = {"period_start": DATE_WIDGET, "period_end": DATE_WIDGET}
        widgets.update({name: forms.Textarea(attrs={"rows": 8}) for name in TEXT_FIELDS})
        self.fields.update(forms.fields_for_model(AnnualReport, fields=EDITABLE_FIELDS, widgets=widgets))
        for name in TEXT_FIELDS:
            field = self.fields[name]
            field.validators.append(MaxLengthValidator(MAX_TEXT_CHARS))
            field.help_text = f"{field.help_text} {MARKDOWN_HELP}".strip()

    def sections(self) -> list[tuple[Any, list[forms.BoundField]]]:
        return [(legend, [self[name] for name in names]) for legend, names in SECTIONS]

    @staticmethod
    def initial_for(report: AnnualReport) -> dict[str, Any]:
        return {name: getattr(report, name) for name in EDITABLE_FIELDS}
