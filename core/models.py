from typing import Any

from django.db import models
from django.utils import timezone
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


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    """The audit log is append-only: bulk updates and deletes are refused too."""

    def update(self, **kwargs: object) -> int:
        raise PermissionError("The audit log is append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("The audit log is append-only.")


class AuditEntry(models.Model):
    """Who changed what, when, in this schema: one row per write, never changed afterwards.

    The actor is a plain id plus an e-mail snapshot rather than a foreign key:
    `core` imports no app, and the row must outlive the user it names.
    """

    actor_id = models.PositiveBigIntegerField(_("identifiant de l'auteur"), null=True, blank=True)
    actor_email = models.EmailField(_("e-mail de l'auteur"), blank=True)
    created_at = models.DateTimeField(_("date"), default=timezone.now, db_index=True)
    action = models.CharField(_("action"), max_length=100, db_index=True)
    object_type = models.CharField(_("type d'objet"), max_length=100)
    object_id = models.CharField(_("identifiant de l'objet"), max_length=64)
    object_repr = models.CharField(_("objet"), max_length=200)
    changes = models.JSONField(_("modifications"), default=dict, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("entrée du journal d'audit")
        verbose_name_plural = _("journal d'audit")
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["object_type", "object_id"], name="core_audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.action} {self.object_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise PermissionError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("The audit log is append-only.")
