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


# --- The firm's public site (R614-1) ---------------------------------------------------------------------------


class SiteLanguage(models.TextChoices):
    FR = "fr", _("Français")
    EN = "en", _("Anglais")


class SiteSettings(models.Model):
    """What the public site says that no other record holds: one row per schema (pk 1).

    The identity, the mediators, the sectors, networks and reports come from
    their own records; these are the texts only the firm can write. Each text
    has an optional English version; the French one is shown when it is empty.
    """

    SINGLETON_PK = 1

    presentation = models.TextField(
        _("présentation du médiateur"),
        blank=True,
        help_text=_("Quelques lignes en tête du site : qui est le médiateur, pour quels professionnels."),
    )
    presentation_en = models.TextField(_("présentation (anglais)"), blank=True)
    disputes_handled = models.TextField(
        _("litiges traités"),
        blank=True,
        help_text=_("Les types de litiges que le médiateur examine (par exemple : livraison, garantie, facturation)."),
    )
    disputes_handled_en = models.TextField(_("litiges traités (anglais)"), blank=True)
    disputes_excluded = models.TextField(
        _("litiges non traités, en plus des cas de l'article L612-2"),
        blank=True,
        help_text=_("Les refus prévus par la loi sont déjà affichés ; ajoutez ici ce que vos conventions excluent."),
    )
    disputes_excluded_en = models.TextField(_("litiges non traités (anglais)"), blank=True)
    postal_address = models.TextField(
        _("adresse postale pour les demandes"),
        blank=True,
        help_text=_("Vide : l'adresse du cabinet. Une ligne par ligne d'adresse."),
    )
    no_network = models.BooleanField(
        _("le médiateur n'adhère à aucun réseau"),
        default=False,
        help_text=_("Cochez si c'est le cas : le site l'indique, comme le demande l'article R614-1."),
    )
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("textes du site public")
        verbose_name_plural = _("textes du site public")
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="site_settings_singleton")]

    def __str__(self) -> str:
        return str(_("Textes du site public"))

    def text(self, name: str, language: str) -> str:
        """The text `name` in `language`, or in French when it has no English version."""
        if language.startswith("en"):
            english = str(getattr(self, f"{name}_en", "") or "").strip()
            if english:
                return english
        return str(getattr(self, name) or "").strip()


class Coverage(models.Model):
    """A sector or a mediation convention the firm's mediators cover (R614-1)."""

    class Kind(models.TextChoices):
        SECTOR = "sector", _("Secteur d'activité")
        CONVENTION = "convention", _("Convention de médiation")

    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices, default=Kind.SECTOR)
    name = models.CharField(_("intitulé"), max_length=200, help_text=_("Par exemple : Commerce de détail alimentaire."))
    name_en = models.CharField(_("intitulé (anglais)"), max_length=200, blank=True)
    partner = models.CharField(
        _("signataire"),
        max_length=200,
        blank=True,
        help_text=_("Pour une convention : la fédération ou l'entreprise avec laquelle elle est signée."),
    )
    signed_on = models.DateField(_("signée le"), null=True, blank=True)
    position = models.PositiveSmallIntegerField(_("ordre d'affichage"), default=0)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("secteur ou convention couvert")
        verbose_name_plural = _("secteurs et conventions couverts")
        ordering = ("kind", "position", "name")

    def __str__(self) -> str:
        return self.name

    def label(self, language: str) -> str:
        return self.name_en if language.startswith("en") and self.name_en else self.name


class NetworkMembership(models.Model):
    """A network of mediators the firm belongs to (R614-1: "son appartenance à des réseaux")."""

    name = models.CharField(_("réseau"), max_length=200)
    website = models.URLField(_("site internet"), blank=True)
    since = models.DateField(_("membre depuis"), null=True, blank=True)
    position = models.PositiveSmallIntegerField(_("ordre d'affichage"), default=0)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("réseau de médiateurs")
        verbose_name_plural = _("réseaux de médiateurs")
        ordering = ("position", "name")

    def __str__(self) -> str:
        return self.name


class Publishable(models.Model):
    """A text with a draft the staff edits and the published version the site shows.

    Saving changes the draft only; `firm.site.publish` copies it to the
    published fields. The site never shows a draft.
    """

    draft_title = models.CharField(_("titre"), max_length=200)
    draft_body = models.TextField(_("texte"), blank=True)
    title = models.CharField(_("titre publié"), max_length=200, blank=True)
    body = models.TextField(_("texte publié"), blank=True)
    published_at = models.DateTimeField(_("publié le"), null=True, blank=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @property
    def has_unpublished_changes(self) -> bool:
        return not self.is_published or (self.draft_title, self.draft_body) != (self.title, self.body)


class SitePage(Publishable):
    """One of the pages every site must have, in one language: FAQ, legal notice, privacy, accessibility."""

    class Kind(models.TextChoices):
        FAQ = "faq", _("Questions fréquentes")
        LEGAL_NOTICE = "legal_notice", _("Mentions légales")
        PRIVACY = "privacy", _("Données personnelles")
        ACCESSIBILITY = "accessibility", _("Déclaration d'accessibilité")

    kind = models.CharField(_("page"), max_length=20, choices=Kind.choices)
    language = models.CharField(_("langue"), max_length=2, choices=SiteLanguage.choices, default=SiteLanguage.FR)

    class Meta:
        verbose_name = _("page du site")
        verbose_name_plural = _("pages du site")
        ordering = ("kind", "language")
        constraints = [models.UniqueConstraint(fields=["kind", "language"], name="site_page_once_per_language")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.language})"


class NewsPost(Publishable):
    """A piece of news on the public site (not the e-mails to members: `mediation.members.News`)."""

    slug = models.SlugField(_("adresse"), max_length=80, unique=True, allow_unicode=False)
    language = models.CharField(_("langue"), max_length=2, choices=SiteLanguage.choices, default=SiteLanguage.FR)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    class Meta:
        verbose_name = _("actualité du site")
        verbose_name_plural = _("actualités du site")
        ordering = ("-published_at", "-created_at")
        indexes = [models.Index(fields=["language", "-published_at"], name="site_news_published")]

    def __str__(self) -> str:
        return self.title or self.draft_title


REPORT_MAX_BYTES = 20 * 1024 * 1024


def validate_report_size(file: Any) -> None:
    if getattr(file, "size", 0) > REPORT_MAX_BYTES:
        raise ValidationError(_("Le rapport ne doit pas dépasser 20 Mo."), code="report_too_large")


def report_upload_to(instance: PublishedReport, filename: str) -> str:
    return f"firm/reports/rapport-activite-{instance.year}.pdf"


class PublishedReport(models.Model):
    """An annual activity report (R614-2) published on the site: uploaded, or produced by the CECMC reports."""

    year = models.PositiveSmallIntegerField(_("année"), unique=True)
    file = models.FileField(
        _("rapport (PDF)"),
        upload_to=report_upload_to,
        validators=[FileExtensionValidator(["pdf"]), validate_report_size],
    )
    summary = models.TextField(_("résumé"), blank=True)
    published_at = models.DateTimeField(_("publié le"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("rapport d'activité publié")
        verbose_name_plural = _("rapports d'activité publiés")
        ordering = ("-year",)

    def __str__(self) -> str:
        return str(_("Rapport d'activité %(year)s") % {"year": self.year})
