"""The annual activity report (R614-2): the texts the mediator writes; the figures are computed (figures.py)."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AnnualReport(models.Model):
    """One report per year: its period, the mediator's texts, and when it was published on the site."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("En préparation")
        PUBLISHED = "published", _("Publié")

    year = models.PositiveSmallIntegerField(_("année"), unique=True)
    period_start = models.DateField(_("début de la période"))
    period_end = models.DateField(_("fin de la période"))
    recurring_problems = models.TextField(
        _("problèmes récurrents et recommandations"),
        blank=True,
        help_text=_("Les problèmes les plus fréquents et vos recommandations pour les éviter (R614-2)."),
    )
    cooperation = models.TextField(
        _("coopération avec les réseaux de médiateurs"),
        blank=True,
        help_text=_("Votre participation à des réseaux, en France et dans l'Union européenne (R614-2)."),
    )
    training = models.TextField(
        _("formation des médiateurs"),
        blank=True,
        help_text=_("Les formations suivies par les médiateurs pendant l'année (R614-2)."),
    )
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(_("publié le"), null=True, blank=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("rapport d'activité")
        verbose_name_plural = _("rapports d'activité")
        ordering = ("-year",)
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")), name="report_period_in_order"
            )
        ]

    def __str__(self) -> str:
        return str(_("Rapport d'activité %(year)s") % {"year": self.year})

    @staticmethod
    def default_period(year: int) -> tuple[datetime.date, datetime.date]:
        return datetime.date(year, 1, 1), datetime.date(year, 12, 31)
