"""The CECMC filing tracker and the recurring dysfunctions a firm watches for.

Obligation: something the firm owes the CECMC (R614-1 to R614-3): the yearly
report, the update sent when a sector, a convention or a mediator changes, a
mediator's term coming to its end, the listing file. Some are created by the
platform from the firm's records (`source_key` names what they come from, so a
second pass never duplicates them); others the staff add by hand.

DysfunctionSettings / DysfunctionAlert: a business, a sector or a subject whose
cases exceed the firm's threshold over a rolling window (seed 003: "identifier
les dysfonctionnements récurrents").
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import FileExtensionValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

DOCUMENT_MAX_BYTES = 20 * 1024 * 1024


class Obligation(models.Model):
    class Kind(models.TextChoices):
        ANNUAL_REPORT = "annual_report", _("Rapport annuel d'activité (R614-2)")
        UPDATE_NOTICE = "update_notice", _("Information de la CECMC d'un changement")
        MEDIATOR_TERM = "mediator_term", _("Fin du mandat d'un médiateur")
        LISTING_FILE = "listing_file", _("Dossier de référencement (R614-3)")
        OTHER = "other", _("Autre")

    class Status(models.TextChoices):
        TODO = "todo", _("À faire")
        DONE = "done", _("Fait")
        CANCELLED = "cancelled", _("Sans objet")

    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    title = models.CharField(_("intitulé"), max_length=200)
    due_on = models.DateField(_("échéance"))
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices, default=Status.TODO)
    done_on = models.DateField(_("fait le"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    # What an automatic obligation comes from (e.g. "mediator_term:12:2027-01-14"); empty for a manual one.
    source_key = models.CharField(max_length=120, blank=True)
    # The last reminder e-mailed, and how many days before the due date it was (30, 7, 0, or -1 once overdue).
    reminded_at = models.DateTimeField(null=True, blank=True)
    reminded_days = models.SmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("obligation CECMC")
        verbose_name_plural = _("obligations CECMC")
        ordering = ("status", "due_on", "pk")
        constraints = [
            models.UniqueConstraint(
                fields=["source_key"], condition=~models.Q(source_key=""), name="obligation_source_once"
            )
        ]
        indexes = [models.Index(fields=["status", "due_on"], name="obligation_status_due")]

    def __str__(self) -> str:
        return self.title


def obligation_upload_to(instance: ObligationDocument, filename: str) -> str:
    return f"compliance/obligations/{instance.obligation_id}/{filename}"


class ObligationDocument(models.Model):
    """A document kept with an obligation: what was sent to the CECMC, its acknowledgement."""

    obligation = models.ForeignKey(Obligation, on_delete=models.CASCADE, related_name="documents")
    file = models.FileField(
        _("document"),
        upload_to=obligation_upload_to,
        validators=[FileExtensionValidator(["pdf", "jpg", "jpeg", "png", "xlsx", "docx", "odt", "zip"])],
    )
    original_name = models.CharField(_("nom du fichier"), max_length=200)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(auto_now_add=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("document d'une obligation")
        verbose_name_plural = _("documents des obligations")
        ordering = ("uploaded_at", "pk")

    def __str__(self) -> str:
        return self.original_name


class DysfunctionSettings(models.Model):
    """The firm's thresholds (one row, pk 1): how many cases in how many days make a recurring dysfunction."""

    SINGLETON_PK = 1

    window_days = models.PositiveSmallIntegerField(
        _("période observée (jours)"), default=90, validators=[MinValueValidator(7)]
    )
    member_threshold = models.PositiveSmallIntegerField(
        _("seuil par professionnel"),
        default=5,
        validators=[MinValueValidator(2)],
        help_text=_("Nombre de demandes reçues contre un même professionnel sur la période."),
    )
    sector_threshold = models.PositiveSmallIntegerField(
        _("seuil par secteur"), default=20, validators=[MinValueValidator(2)]
    )
    subject_threshold = models.PositiveSmallIntegerField(
        _("seuil par objet de litige"), default=30, validators=[MinValueValidator(2)]
    )
    is_active = models.BooleanField(_("surveillance active"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("seuils de dysfonctionnement")
        verbose_name_plural = _("seuils de dysfonctionnement")
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="dysfunction_settings_singleton")]

    def __str__(self) -> str:
        return str(_("Seuils de dysfonctionnement"))


class DysfunctionAlert(models.Model):
    """A business, sector or subject over its threshold; open until a staff member deals with it."""

    class Scope(models.TextChoices):
        MEMBER = "member", _("Professionnel")
        SECTOR = "sector", _("Secteur")
        SUBJECT = "subject", _("Objet du litige")

    scope = models.CharField(_("portée"), max_length=10, choices=Scope.choices)
    value = models.CharField(_("valeur"), max_length=40)  # a member pk, a Member.Sector, a Subject
    label = models.CharField(_("intitulé"), max_length=200)
    cases_count = models.PositiveIntegerField(_("demandes"))
    threshold = models.PositiveSmallIntegerField(_("seuil"))
    window_start = models.DateField(_("depuis le"))
    window_end = models.DateField(_("jusqu'au"))
    detected_at = models.DateTimeField(_("détectée le"), auto_now_add=True)
    closed_at = models.DateTimeField(_("traitée le"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(_("suite donnée"), blank=True)
    letter_sent_at = models.DateTimeField(_("lettre de recommandations envoyée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("dysfonctionnement récurrent")
        verbose_name_plural = _("dysfonctionnements récurrents")
        ordering = ("closed_at", "-detected_at")
        constraints = [
            # One open alert per business, sector or subject: a later detection updates it.
            models.UniqueConstraint(
                fields=["scope", "value"], condition=models.Q(closed_at__isnull=True), name="one_open_alert"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_scope_display()}: {self.label}"


class ListingInfo(models.Model):
    """What the listing file (R614-3) says that no other record holds: how the mediator is funded (pk 1).

    The fees charged to businesses come from the membership tariffs and the
    billing catalogue (`compliance.fees`); the pack puts both in one file.
    """

    SINGLETON_PK = 1

    funding = models.TextField(
        _("financement du médiateur"),
        blank=True,
        help_text=_(
            "Comment l'activité de médiation est financée (cotisations des professionnels adhérents, "
            "conventions avec des fédérations…) et comment l'indépendance du médiateur est garantie (R614-3)."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("informations du dossier de référencement")
        verbose_name_plural = _("informations du dossier de référencement")
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="listing_info_singleton")]

    def __str__(self) -> str:
        return str(_("Dossier de référencement"))
