"""A firm's webhook endpoints and the log of every delivery made to them (tenant schema)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from integrations.events import ALL_TYPES, EventType


class WebhookEndpoint(models.Model):
    """A URL of the firm's own tools (CRM, helpdesk) that receives the events it subscribed to, signed."""

    url = models.URLField(_("adresse (URL)"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = ArrayField(
        models.CharField(max_length=40, choices=EventType.choices), verbose_name=_("événements"), default=list
    )
    # Standard Webhooks form `whsec_<base64>`: the firm's tool verifies each signature with it.
    secret = models.CharField(_("secret de signature"), max_length=100)
    is_active = models.BooleanField(_("actif"), default=True)
    disabled_reason = models.TextField(_("motif de désactivation"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("point de terminaison webhook")
        verbose_name_plural = _("points de terminaison webhook")
        ordering = ("-created_at", "-pk")

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint: its payload, where its attempts stand and what the endpoint answered."""

    class Status(models.TextChoices):
        PENDING = "pending", _("En attente")
        SUCCEEDED = "succeeded", _("Réussie")
        FAILED = "failed", _("Échouée")

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    # The same for every endpoint receiving one event (and for a re-sent copy): the `webhook-id` header.
    event_id = models.UUIDField(_("identifiant de l'événement"), default=uuid.uuid4)
    event_type = models.CharField(
        _("événement"), max_length=40, choices=[(value, value) for value in ALL_TYPES], db_index=True
    )
    payload = models.JSONField(_("contenu"))
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("tentatives"), default=0)
    next_attempt_at = models.DateTimeField(_("prochaine tentative"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("dernière tentative"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("code de réponse"), null=True, blank=True)
    last_error = models.TextField(_("erreur"), blank=True)
    response_excerpt = models.TextField(_("début de la réponse"), blank=True)
    delivered_at = models.DateTimeField(_("livrée le"), null=True, blank=True)
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)

    class Meta:
        verbose_name = _("livraison webhook")
        verbose_name_plural = _("livraisons webhook")
        ordering = ("-created_at", "-pk")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhooks_delivery_due_idx"),
            models.Index(fields=["endpoint", "-created_at"], name="webhooks_delivery_log_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"
