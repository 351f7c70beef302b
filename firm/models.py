from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from firm import validators as v

LOGO_MAX_BYTES = 2 * 1024 * 1024


def _is_valid(validator: Callable[[str], None], value: str) -> bool:
    if not value:
        return False
    try:
        validator(value)
    except ValidationError:
        return False
    return True


def validate_logo_size(file: Any) -> None:
    if getattr(file, "size", 0) > LOGO_MAX_BYTES:
        raise ValidationError(_("Le logo ne doit pas dépasser 2 Mo."), code="logo_too_large")


class FirmProfile(models.Model):
    """The firm's identity, branding, bank details and security settings: one row per schema (pk 1)."""

    SINGLETON_PK = 1

    class Language(models.TextChoices):
        FR = "fr", _("Français")
        EN = "en", _("Anglais")

    # Identity
    legal_name = models.CharField(_("raison sociale"), max_length=200, blank=True)
    legal_form = models.CharField(
        _("forme juridique"), max_length=100, blank=True, help_text=_("SAS, SARL, association…")
    )
    siren = models.CharField(_("SIREN"), max_length=9, blank=True, validators=[v.validate_siren])
    siret = models.CharField(_("SIRET du siège"), max_length=14, blank=True, validators=[v.validate_siret])
    vat_number = models.CharField(
        _("numéro de TVA intracommunautaire"), max_length=13, blank=True, validators=[v.validate_vat_number]
    )
    rcs = models.CharField(_("immatriculation RCS"), max_length=100, blank=True, help_text=_("Par exemple : RCS Paris"))
    # Address
    address_line1 = models.CharField(_("adresse"), max_length=200, blank=True)
    address_line2 = models.CharField(_("complément d'adresse"), max_length=200, blank=True)
    postcode = models.CharField(_("code postal"), max_length=10, blank=True)
    city = models.CharField(_("ville"), max_length=100, blank=True)
    country = models.CharField(_("pays"), max_length=2, default="FR", help_text=_("Code ISO à deux lettres (FR)."))
    # Contact
    contact_email = models.EmailField(_("e-mail de contact"), blank=True)
    contact_phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    website = models.URLField(_("site internet"), blank=True)
    # Branding
    logo = models.ImageField(
        _("logo"),
        upload_to="firm/logo/",
        blank=True,
        validators=[FileExtensionValidator(["png", "jpg", "jpeg", "webp"]), validate_logo_size],
        help_text=_("PNG, JPEG ou WebP, 2 Mo au plus."),
    )
    primary_color = models.CharField(
        _("couleur principale"), max_length=7, default="#1d4e89", validators=[v.validate_hex_colour]
    )
    secondary_color = models.CharField(
        _("couleur secondaire"), max_length=7, default="#b3261e", validators=[v.validate_hex_colour]
    )
    # E-mail and invoices
    email_sender_name = models.CharField(_("nom d'expéditeur des e-mails"), max_length=100, blank=True)
    reply_to_email = models.EmailField(_("adresse de réponse des e-mails"), blank=True)
    invoice_prefix = models.CharField(
        _("préfixe des factures"), max_length=10, default="FA", validators=[v.validate_invoice_prefix]
    )
    iban = models.CharField(_("IBAN"), max_length=34, blank=True, validators=[v.validate_iban])
    bic = models.CharField(_("BIC"), max_length=11, blank=True, validators=[v.validate_bic])
    # Preferences and security
    default_language = models.CharField(
        _("langue par défaut"), max_length=2, choices=Language.choices, default=Language.FR
    )
    require_mfa = models.BooleanField(
        _("exiger la double authentification"),
        default=False,
        help_text=_("Chaque membre de l'équipe devra activer une application d'authentification (TOTP)."),
    )
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("profil du cabinet")
        verbose_name_plural = _("profil du cabinet")
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="firm_profile_singleton")]

    def __str__(self) -> str:
        return self.legal_name or str(_("Profil du cabinet"))

    def clean_fields(self, exclude: Any = None) -> None:
        # Identifiers are compacted before their length and checksum are checked.
        for name, normalize in v.NORMALIZERS.items():
            value = getattr(self, name)
            if value:
                setattr(self, name, normalize(value))
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        """Checks that the identifiers agree with each other; upper/lower-cases codes and colours."""
        errors: dict[str, list[Any]] = {}
        if _is_valid(v.validate_siren, self.siren):
            if (
                _is_valid(v.validate_vat_number, self.vat_number)
                and v.siren_of_vat_number(self.vat_number) != self.siren
            ):
                errors.setdefault("vat_number", []).append(
                    ValidationError(
                        _("Ce numéro de TVA correspond au SIREN %(found)s, pas à celui du cabinet (%(siren)s)."),
                        code="vat_siren_mismatch",
                        params={"found": v.siren_of_vat_number(self.vat_number), "siren": self.siren},
                    )
                )
            if _is_valid(v.validate_siret, self.siret) and not self.siret.startswith(self.siren):
                errors.setdefault("siret", []).append(
                    ValidationError(
                        _(
                            "Ce SIRET n'appartient pas au SIREN du cabinet : "
                            "ses 9 premiers chiffres doivent être %(siren)s."
                        ),
                        code="siret_siren_mismatch",
                        params={"siren": self.siren},
                    )
                )
        self.country = (self.country or "").upper()
        if self.country == "FR" and self.postcode:
            try:
                v.validate_french_postcode(self.postcode.strip())
            except ValidationError as exc:
                errors.setdefault("postcode", []).append(exc)
        for colour in ("primary_color", "secondary_color"):
            setattr(self, colour, (getattr(self, colour) or "").lower())
        if errors:
            raise ValidationError(errors)


class Mediator(models.Model):
    """A natural person the firm employs as a consumer mediator, listed by the CECMC."""

    first_name = models.CharField(_("prénom"), max_length=150)
    last_name = models.CharField(_("nom"), max_length=150)
    email = models.EmailField(_("adresse e-mail"), unique=True)
    listed_on = models.DateField(_("inscription sur la liste de la CECMC"))
    term_ends_on = models.DateField(
        _("fin du mandat"), help_text=_("Le mandat court habituellement au moins 3 ans après l'inscription.")
    )
    sectors = models.TextField(_("secteurs et conventions couverts"), blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("compte de l'équipe"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="mediator_profile",
    )
    is_active = models.BooleanField(_("en activité"), default=True)
    # R613-1: a mediator never handles a case against a business they have links with.
    conflict_sirens = ArrayField(
        models.CharField(max_length=9, validators=[v.validate_siren]),
        verbose_name=_("conflits d'intérêts déclarés (SIREN)"),
        default=list,
        blank=True,
    )
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("médiateur")
        verbose_name_plural = _("médiateurs")
        ordering = ("last_name", "first_name")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(term_ends_on__gt=models.F("listed_on")), name="mediator_term_after_listing"
            )
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def clean_fields(self, exclude: Any = None) -> None:
        # Compacted before the length and checksum of each SIREN are checked.
        self.conflict_sirens = sorted({v.normalize_siren(siren) for siren in self.conflict_sirens or []})
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        if self.listed_on and self.term_ends_on and self.term_ends_on <= self.listed_on:
            raise ValidationError(
                {
                    "term_ends_on": ValidationError(
                        _("La fin du mandat doit être postérieure à la date d'inscription sur la liste de la CECMC."),
                        code="term_before_listing",
                    )
                }
            )
