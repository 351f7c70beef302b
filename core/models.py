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


class IdempotencyKey(models.Model):
    """A POST of the API sent with an `Idempotency-Key`, and the answer replayed when it is sent again.

    Scoped by who sends it (a token, or a session's user) so that two clients never share a key.
    """

    class State(models.TextChoices):
        PROCESSING = "processing", _("En cours")
        DONE = "done", _("Terminée")

    principal = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=1000)
    request_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=12, choices=State.choices, default=State.PROCESSING)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_content_type = models.CharField(max_length=200, blank=True)
    response_headers = models.JSONField(default=dict)
    response_body = models.BinaryField(default=b"")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=("principal", "key"), name="idempotency_key_per_principal")]

    def __str__(self) -> str:
        return f"{self.principal} {self.key}"
