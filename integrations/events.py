"""The catalogue of events a firm's webhook endpoint may subscribe to, with the French label of each."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    CASE_CREATED = "case.created", _("Nouveau dossier reçu (en ligne ou par courrier)")
    CASE_STATUS_CHANGED = "case.status_changed", _("Changement de statut d'un dossier")
    MEMBERSHIP_CHANGED = "membership.changed", _("Changement de statut d'un adhérent")
    INVOICE_ISSUED = "invoice.issued", _("Facture ou avoir émis")
    INVOICE_PAID = "invoice.paid", _("Facture payée")


# Sent on demand to one endpoint ("send a test event"); never subscribed to.
PING = "ping"
PING_LABEL = _("Événement de test")

SUBSCRIBABLE: tuple[str, ...] = tuple(EventType.values)
ALL_TYPES: tuple[str, ...] = (*SUBSCRIBABLE, PING)


def label(event_type: str) -> str:
    if event_type == PING:
        return str(PING_LABEL)
    try:
        return str(EventType(event_type).label)
    except ValueError:
        return event_type
