"""Forms of the staff webhook pages: an endpoint (URL, description, event checkboxes) and the log's filters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from integrations import services
from integrations.errors import WebhookError
from integrations.events import ALL_TYPES, EventType, label
from integrations.models import WebhookDelivery


class EndpointForm(forms.Form):
    url = forms.CharField(
        label=_("Adresse (URL)"),
        max_length=500,
        help_text=_("L'adresse de votre outil (CRM, helpdesk…) qui recevra les événements, en https://."),
        widget=forms.URLInput(attrs={"placeholder": "https://crm.example.fr/webhooks/mediation"}),
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=200,
        required=False,
        help_text=_("Pour vous y retrouver : « CRM commercial », « Zapier »…"),
    )
    events = forms.MultipleChoiceField(
        label=_("Événements envoyés"),
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choisissez au moins un événement.")},
    )
    is_active = forms.BooleanField(
        label=_("Actif"), required=False, initial=True, help_text=_("Décochez pour suspendre les envois.")
    )

    def clean_url(self) -> str:
        try:
            return services.clean_url(self.cleaned_data["url"])
        except WebhookError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc

    @classmethod
    def initial_from(cls, endpoint: Any) -> dict[str, Any]:
        return {
            "url": endpoint.url,
            "description": endpoint.description,
            "events": endpoint.events,
            "is_active": endpoint.is_active,
        }


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Statut"), required=False, choices=[("", _("Tous")), *WebhookDelivery.Status.choices]
    )
    event_type = forms.ChoiceField(
        label=_("Événement"), required=False, choices=[("", _("Tous")), *((value, label(value)) for value in ALL_TYPES)]
    )

    def filters(self) -> dict[str, str]:
        if not self.is_valid():
            return {}
        return {name: value for name, value in self.cleaned_data.items() if value}
