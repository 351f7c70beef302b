"""Filters of GET /api/v1/webhooks/deliveries/ (django-filter)."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from integrations.events import ALL_TYPES
from integrations.models import WebhookDelivery


class DeliveryFilter(django_filters.FilterSet):
    endpoint = django_filters.NumberFilter(
        field_name="endpoint_id", min_value=1, max_value=2**63 - 1, help_text=_("Identifiant du point de terminaison.")
    )
    status = django_filters.ChoiceFilter(choices=WebhookDelivery.Status.choices, help_text=_("Statut de la livraison."))
    event_type = django_filters.ChoiceFilter(
        choices=[(value, value) for value in ALL_TYPES], help_text=_("Type d'événement.")
    )

    class Meta:
        model = WebhookDelivery
        fields: list[str] = []
