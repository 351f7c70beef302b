from django.db import models
from django.utils.translation import gettext_lazy as _


class PeriodicRun(models.Model):
    """Last run of a periodic task in this tenant's schema (one row per task).

    Written by the task itself, in the schema it ran in: it is how the staff
    area shows that scheduled work reaches this firm.
    """

    name = models.CharField(_("tâche"), max_length=200, unique=True)
    schema_name = models.CharField(_("schéma"), max_length=63)
    runs = models.PositiveIntegerField(_("exécutions"), default=0)
    last_run_at = models.DateTimeField(_("dernière exécution"))

    class Meta:
        verbose_name = _("exécution périodique")
        verbose_name_plural = _("exécutions périodiques")

    def __str__(self) -> str:
        return self.name
