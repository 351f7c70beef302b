"""Serializers of /api/v1/webhooks/: endpoints (with their secret in the create answer and the detail), deliveries."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import ModelSerializer
from integrations.events import ALL_TYPES, SUBSCRIBABLE
from integrations.models import WebhookDelivery, WebhookEndpoint

# Enums described inline: other apps have their own `status` enums, and as components the names would collide.


def _inline_enum(values: list[str], description: str) -> dict[str, Any]:
    return {"allOf": [{"type": "string", "enum": values}], "description": description}


@extend_schema_field(_inline_enum(list(SUBSCRIBABLE), "An event type of the catalogue."))
class EventTypeField(serializers.ChoiceField):
    pass


@extend_schema_field(_inline_enum(list(ALL_TYPES), "The event type (`ping`: a test event)."))
class DeliveryEventTypeField(serializers.ChoiceField):
    pass


@extend_schema_field(_inline_enum(WebhookDelivery.Status.values, "pending, succeeded or failed."))
class DeliveryStatusField(serializers.ChoiceField):
    pass


@extend_schema_field(_inline_enum(WebhookDelivery.Status.values, "The last delivery's status (null: none yet)."))
class LastStatusField(serializers.ChoiceField):
    pass


class EndpointSerializer(ModelSerializer):
    """A row of GET /api/v1/webhooks/endpoints/ (no secret: read it on the detail)."""

    events = serializers.ListField(child=EventTypeField(choices=list(SUBSCRIBABLE)))
    last_delivery_status = LastStatusField(choices=WebhookDelivery.Status.choices, allow_null=True, read_only=True)
    last_delivery_at = serializers.DateTimeField(allow_null=True, read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "events",
            "is_active",
            "disabled_reason",
            "created_at",
            "updated_at",
            "last_delivery_status",
            "last_delivery_at",
        ]
        read_only_fields = fields


class EndpointDetailSerializer(EndpointSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret (whsec_…): verify each request's webhook-signature with it."
    )

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class EndpointInputSerializer(serializers.Serializer):
    url = serializers.CharField(
        max_length=500, help_text="https://… (http:// only where private networks are allowed)."
    )
    description = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")
    events = serializers.ListField(
        child=EventTypeField(choices=list(SUBSCRIBABLE)), allow_empty=False, max_length=len(SUBSCRIBABLE) * 2
    )
    is_active = serializers.BooleanField(required=False, default=True)


class DeliverySerializer(ModelSerializer):
    """A row of GET /api/v1/webhooks/deliveries/."""

    endpoint = serializers.IntegerField(source="endpoint_id", read_only=True)
    event_type = DeliveryEventTypeField(choices=list(ALL_TYPES), read_only=True)
    status = DeliveryStatusField(choices=WebhookDelivery.Status.choices, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "last_status_code",
            "delivered_at",
            "created_at",
        ]
        read_only_fields = fields


class DeliveryDetailSerializer(DeliverySerializer):
    payload = serializers.JSONField(read_only=True, help_text="The JSON body sent (id, type, created, firm, data).")

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "payload", "last_error", "response_excerpt"]
        read_only_fields = fields
