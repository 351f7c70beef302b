from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import ApiToken
from accounts.permissions import scopes_for_role

LIFETIMES = {"30": 30, "90": 90, "365": 365, "never": None}


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Nom"), max_length=100, help_text=_("À quoi sert ce jeton, pour le reconnaître (ex. : « CRM »).")
    )
    scopes = forms.MultipleChoiceField(
        label=_("Droits"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Le jeton n'a jamais plus de droits que votre rôle, même si celui-ci change."),
    )
    lifetime = forms.ChoiceField(
        label=_("Durée de validité"),
        choices=[("30", _("30 jours")), ("90", _("90 jours")), ("365", _("1 an")), ("never", _("Sans expiration"))],
        initial="90",
    )

    def __init__(self, *args: Any, role: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(ApiToken.Scope.choices)
        scopes = self.fields["scopes"]
        assert isinstance(scopes, forms.MultipleChoiceField)
        scopes.choices = [(scope.value, labels[scope.value]) for scope in scopes_for_role(role)]

    def expires_at(self) -> datetime | None:
        days = LIFETIMES[self.cleaned_data["lifetime"]]
        return None if days is None else timezone.now() + timedelta(days=days)
