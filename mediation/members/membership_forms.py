"""Staff forms of the membership pages: tariffs, convention versions, proposals, renewal, termination, status."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mediation.members import membership as ms
from mediation.members.models import Member, Tariff

TERM_CHOICES = Tariff.Term.choices
PROPOSAL_VALIDITY_DAYS = 30


class EuroField(forms.CharField):
    """An amount typed in euros ("300", "1 250,50 €"), cleaned to integer cents."""

    def __init__(self, *, allow_empty: bool = False, **kwargs: Any) -> None:
        self.allow_empty = allow_empty
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> int | None:
        from core.money import parse_euros

        text = super().clean(value)
        try:
            cents = parse_euros(text or "")
        except ValueError:
            raise forms.ValidationError(
                _("Montant invalide : écrivez par exemple 300 ou 1 250,50."), code="amount"
            ) from None
        if cents is None and not self.allow_empty:
            raise forms.ValidationError(_("Indiquez un montant."), code="required")
        if cents is not None and cents > 10_000_000:
            raise forms.ValidationError(_("Ce montant est trop élevé."), code="amount")
        return cents


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class TariffForm(forms.Form):
    headcount_band = forms.ChoiceField(label=_("Effectif"), choices=Member.HeadcountBand.choices)
    term_years = forms.TypedChoiceField(label=_("Engagement"), choices=TERM_CHOICES, coerce=int)
    yearly_price = EuroField(label=_("Prix annuel HT (€)"), help_text=_("Par exemple 300 ou 1 250,50."))
    valid_from = forms.DateField(label=_("Valable à partir du"), widget=DateInput())
    valid_until = forms.DateField(
        label=_("Valable jusqu'au"), required=False, widget=DateInput(), help_text=_("Facultatif.")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("La fin de validité précède son début."))
        return data


class ConventionForm(forms.Form):
    title = forms.CharField(label=_("Titre"), max_length=200, initial=_("Convention d'adhésion"))
    text = forms.CharField(
        label=_("Texte"),
        widget=forms.Textarea(attrs={"rows": 20}),
        help_text=_("Une fois publiée, une version ne change plus : corriger le texte, c'est publier une version."),
    )


class ProposalForm(forms.Form):
    term_years = forms.TypedChoiceField(label=_("Engagement"), choices=TERM_CHOICES, coerce=int)
    upfront = forms.BooleanField(label=_("Payée d'avance pour toute la durée"), required=False)
    yearly_price = EuroField(
        label=_("Prix annuel HT négocié (€)"),
        required=False,
        allow_empty=True,
        help_text=_("Laissez vide pour appliquer le tarif en vigueur de l'effectif de l'adhérent."),
    )
    discount_percent = forms.IntegerField(
        label=_("Remise (%)"),
        min_value=0,
        max_value=100,
        required=False,
        help_text=_("Par exemple la remise négociée par le groupement."),
    )
    valid_until = forms.DateField(label=_("Valable jusqu'au"), widget=DateInput())
    notes = forms.CharField(
        label=_("Conditions particulières"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["valid_until"].initial = timezone.localdate() + datetime.timedelta(days=PROPOSAL_VALIDITY_DAYS)

    def clean_valid_until(self) -> datetime.date:
        value: datetime.date = self.cleaned_data["valid_until"]
        if value < timezone.localdate():
            raise forms.ValidationError(_("Cette date est déjà passée."), code="past")
        return value


class RenewForm(forms.Form):
    term_years = forms.TypedChoiceField(label=_("Engagement"), choices=TERM_CHOICES, coerce=int)


class TerminateForm(forms.Form):
    reason = forms.CharField(label=_("Motif de la résiliation"), widget=forms.Textarea(attrs={"rows": 3}))


class StatusForm(forms.Form):
    to = forms.ChoiceField(label=_("Nouveau statut"), choices=())
    reason = forms.CharField(label=_("Motif"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, member: Member, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = ms.STATUS_TRANSITIONS.get(member.status, frozenset())
        field = self.fields["to"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(value, label) for value, label in Member.Status.choices if value in allowed]
