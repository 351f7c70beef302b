"""Firms' subscriptions to the platform (Stripe Billing, the platform's own account)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from tenants.models import Plan, Tenant


class PlanPrice(models.Model):
    """The Stripe Price a plan is sold at, per billing interval."""

    class Interval(models.TextChoices):
        MONTH = "month", _("Mensuel")
        YEAR = "year", _("Annuel")

    plan = models.ForeignKey(Plan, verbose_name=_("formule"), on_delete=models.PROTECT, related_name="prices")
    stripe_price_id = models.CharField(_("identifiant du prix Stripe"), max_length=100, unique=True)
    interval = models.CharField(_("périodicité"), max_length=5, choices=Interval.choices, default=Interval.MONTH)
    active = models.BooleanField(_("actif"), default=True)

    class Meta:
        verbose_name = _("prix d'une formule")
        verbose_name_plural = _("prix des formules")
        ordering = ["plan__sort_order", "interval"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "interval"], condition=models.Q(active=True), name="saas_one_active_price_per_interval"
            )
        ]

    def __str__(self) -> str:
        return f"{self.plan} ({self.get_interval_display()})"


class Subscription(models.Model):
    """A firm's subscription: a mirror of the Stripe object, refreshed from the API on every webhook."""

    class Status(models.TextChoices):
        INCOMPLETE = "incomplete", _("En attente de paiement")
        TRIALING = "trialing", _("Période d'essai")
        ACTIVE = "active", _("Actif")
        PAST_DUE = "past_due", _("Paiement en retard")
        CANCELED = "canceled", _("Résilié")
        UNPAID = "unpaid", _("Impayé")

    tenant = models.OneToOneField(
        Tenant, verbose_name=_("cabinet"), on_delete=models.CASCADE, related_name="saas_subscription"
    )
    stripe_customer_id = models.CharField(_("client Stripe"), max_length=100, unique=True)
    stripe_subscription_id = models.CharField(_("abonnement Stripe"), max_length=100, blank=True, db_index=True)
    status = models.CharField(_("état"), max_length=12, choices=Status.choices, default=Status.INCOMPLETE)
    plan = models.ForeignKey(Plan, verbose_name=_("formule"), null=True, blank=True, on_delete=models.PROTECT)
    current_period_end = models.DateTimeField(_("fin de la période en cours"), null=True, blank=True)
    cancel_at_period_end = models.BooleanField(_("résiliation en fin de période"), default=False)
    updated_at = models.DateTimeField(_("mis à jour le"), auto_now=True)

    class Meta:
        verbose_name = _("abonnement")
        verbose_name_plural = _("abonnements")

    def __str__(self) -> str:
        return f"{self.tenant} — {self.get_status_display()}"

    @property
    def is_live(self) -> bool:
        """A subscription Stripe still bills: a new Checkout would create a second one."""
        return bool(self.stripe_subscription_id) and self.status in LIVE_STATUSES


LIVE_STATUSES = frozenset(
    {
        Subscription.Status.TRIALING,
        Subscription.Status.ACTIVE,
        Subscription.Status.PAST_DUE,
        Subscription.Status.UNPAID,
    }
)


class StripeEvent(models.Model):
    """A webhook event from the platform's Stripe account, stored once (its id is unique)."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Reçu")
        PROCESSED = "processed", _("Traité")
        FAILED = "failed", _("Échec")
        IGNORED = "ignored", _("Ignoré")

    stripe_id = models.CharField(_("identifiant Stripe"), max_length=100, unique=True)
    type = models.CharField(_("type"), max_length=100, db_index=True)
    payload = models.JSONField(_("contenu"))
    received_at = models.DateTimeField(_("reçu le"), auto_now_add=True)
    processed_at = models.DateTimeField(_("traité le"), null=True, blank=True)
    status = models.CharField(_("état"), max_length=10, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(_("erreur"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("tentatives"), default=0)

    class Meta:
        verbose_name = _("événement Stripe")
        verbose_name_plural = _("événements Stripe")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} ({self.stripe_id})"
