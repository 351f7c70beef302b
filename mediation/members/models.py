"""Member businesses (professionnels adhérents), their contacts, and the groups that negotiate for them."""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from firm import validators as identifiers
from mediation.members import validators as v


class Group(models.Model):
    """A group or a federation of businesses that negotiates membership terms for its members (seed 004)."""

    class Kind(models.TextChoices):
        GROUP = "group", _("Groupement")
        FEDERATION = "federation", _("Fédération")

    name = models.CharField(_("nom"), max_length=200, unique=True)
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices, default=Kind.GROUP)
    notes = models.TextField(_("notes"), blank=True, help_text=_("Conditions négociées, interlocuteurs…"))
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("groupement ou fédération")
        verbose_name_plural = _("groupements et fédérations")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    def unique_error_message(self, model_class: Any, unique_check: Any) -> ValidationError:
        if tuple(unique_check) == ("name",):
            return ValidationError(_("Un groupement porte déjà ce nom."), code="duplicate_group")
        return super().unique_error_message(model_class, unique_check)


class Member(models.Model):
    """A business that joined (or may join) the firm to give its consumers access to a mediator."""

    class Sector(models.TextChoices):
        RETAIL = "retail", _("Commerce de détail")
        ECOMMERCE = "ecommerce", _("E-commerce")
        PERSONAL_SERVICES = "personal_services", _("Services à la personne")
        CONSTRUCTION = "construction", _("BTP / artisanat")
        AUTOMOTIVE = "automotive", _("Automobile")
        REAL_ESTATE = "real_estate", _("Immobilier")
        TOURISM = "tourism", _("Tourisme")
        HEALTH = "health", _("Santé / bien-être")
        ENERGY = "energy", _("Énergie")
        TELECOM = "telecom", _("Télécoms")
        OTHER = "other", _("Autre")

    class HeadcountBand(models.TextChoices):
        NONE = "0", _("Aucun salarié")
        MICRO = "1_9", _("1 à 9 salariés")
        SMALL = "10_49", _("10 à 49 salariés")
        MEDIUM = "50_249", _("50 à 249 salariés")
        LARGE = "250_plus", _("250 salariés et plus")

    class TurnoverBand(models.TextChoices):
        UNDER_100K = "lt_100k", _("Moins de 100 000 €")
        UNDER_500K = "100k_500k", _("100 000 à 500 000 €")
        UNDER_2M = "500k_2m", _("500 000 € à 2 M€")
        UNDER_10M = "2m_10m", _("2 à 10 M€")
        OVER_10M = "gt_10m", _("Plus de 10 M€")

    class Status(models.TextChoices):
        PROSPECT = "prospect", _("Prospect")
        PROPOSAL_SENT = "proposal_sent", _("Proposition envoyée")
        CONVENTION_ACCEPTED = "convention_accepted", _("Convention acceptée")
        ACTIVE = "active", _("Adhérent actif")
        RENEWAL_DUE = "renewal_due", _("Renouvellement à faire")
        LAPSED = "lapsed", _("Adhésion échue")
        TERMINATED = "terminated", _("Adhésion résiliée")

    # Identity
    legal_name = models.CharField(_("raison sociale"), max_length=200)
    trade_name = models.CharField(_("nom commercial"), max_length=200, blank=True)
    siren = models.CharField(_("SIREN"), max_length=9, unique=True, validators=[identifiers.validate_siren])
    siret = models.CharField(
        _("SIRET de l'établissement"),
        max_length=14,
        blank=True,
        validators=[identifiers.validate_siret],
        help_text=_("Facultatif ; il commence par les 9 chiffres du SIREN."),
    )
    vat_number = models.CharField(
        _("numéro de TVA intracommunautaire"),
        max_length=13,
        blank=True,
        validators=[identifiers.validate_vat_number],
        help_text=_("Facultatif ; laissé vide, il peut être calculé à partir du SIREN."),
    )
    naf_code = models.CharField(
        _("code NAF/APE"),
        max_length=6,
        blank=True,
        validators=[v.validate_naf_code],
        help_text=_("Par exemple 10.71C."),
    )
    legal_form = models.CharField(
        _("forme juridique"), max_length=100, blank=True, help_text=_("SAS, SARL, EI, association…")
    )
    # Address
    address_line1 = models.CharField(_("adresse"), max_length=200, blank=True)
    address_line2 = models.CharField(_("complément d'adresse"), max_length=200, blank=True)
    postcode = models.CharField(_("code postal"), max_length=10, blank=True)
    city = models.CharField(_("ville"), max_length=100, blank=True)
    country = models.CharField(_("pays"), max_length=2, default="FR", help_text=_("Code ISO à deux lettres (FR)."))
    websites = ArrayField(models.URLField(max_length=200), verbose_name=_("sites internet"), default=list, blank=True)
    # Profile
    sector = models.CharField(_("secteur"), max_length=30, choices=Sector.choices, default=Sector.OTHER)
    headcount_band = models.CharField(_("effectif"), max_length=10, choices=HeadcountBand.choices, blank=True)
    turnover_band = models.CharField(_("chiffre d'affaires"), max_length=10, choices=TurnoverBand.choices, blank=True)
    # The social and inclusive economy (seeds 000 and 002): often a reduced rate.
    is_ess = models.BooleanField(_("ESS (économie sociale et solidaire)"), default=False)
    is_siae = models.BooleanField(_("SIAE (insertion par l'activité économique)"), default=False)
    is_esat = models.BooleanField(_("ESAT (établissement et service d'aide par le travail)"), default=False)
    is_ea = models.BooleanField(_("EA (entreprise adaptée)"), default=False)
    is_tih = models.BooleanField(_("TIH (travailleur indépendant handicapé)"), default=False)
    group = models.ForeignKey(
        Group,
        verbose_name=_("groupement ou fédération"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    # The lifecycle's transitions come with memberships (issue 5, later slice); here only the field.
    status = models.CharField(_("statut"), max_length=30, choices=Status.choices, default=Status.PROSPECT)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("adhérent")
        verbose_name_plural = _("adhérents")
        ordering = ("legal_name", "pk")
        indexes = [
            models.Index(fields=["legal_name", "id"], name="members_member_name_idx"),
            models.Index(fields=["status"], name="members_member_status_idx"),
            models.Index(fields=["sector"], name="members_member_sector_idx"),
        ]

    def __str__(self) -> str:
        return self.trade_name or self.legal_name

    def clean_fields(self, exclude: Any = None) -> None:
        # Identifiers are compacted before their length and checksum are checked.
        self.siren = identifiers.normalize_siren(self.siren or "")
        self.siret = identifiers.normalize_siret(self.siret or "")
        self.vat_number = identifiers.normalize_vat_number(self.vat_number or "")
        self.naf_code = v.normalize_naf_code(self.naf_code)
        self.country = (self.country or "").strip().upper()
        self.websites = [url.strip() for url in self.websites or [] if url and url.strip()]
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        """The SIRET and the VAT number must belong to the SIREN; a French postcode has 5 digits."""
        errors: dict[str, list[ValidationError]] = {}
        if v.is_valid(identifiers.validate_siren, self.siren):
            if v.is_valid(identifiers.validate_siret, self.siret) and not self.siret.startswith(self.siren):
                errors.setdefault("siret", []).append(
                    ValidationError(
                        _(
                            "Ce SIRET n'appartient pas à cette entreprise : "
                            "ses 9 premiers chiffres doivent être %(siren)s."
                        ),
                        code="siret_siren_mismatch",
                        params={"siren": self.siren},
                    )
                )
            if v.is_valid(identifiers.validate_vat_number, self.vat_number):
                found = identifiers.siren_of_vat_number(self.vat_number)
                if found != self.siren:
                    errors.setdefault("vat_number", []).append(
                        ValidationError(
                            _(
                                "Ce numéro de TVA correspond au SIREN %(found)s, pas à celui de l'entreprise "
                                "(%(siren)s). Le bon numéro serait %(expected)s."
                            ),
                            code="vat_siren_mismatch",
                            params={"found": found, "siren": self.siren, "expected": v.derive_vat_number(self.siren)},
                        )
                    )
        if self.country == "FR" and self.postcode:
            try:
                identifiers.validate_french_postcode(self.postcode.strip())
            except ValidationError as exc:
                errors.setdefault("postcode", []).append(exc)
        if errors:
            raise ValidationError(errors)

    def unique_error_message(self, model_class: Any, unique_check: Any) -> ValidationError:
        """A second record for the same SIREN is refused, naming the member that already holds it."""
        if tuple(unique_check) == ("siren",):
            existing = Member.objects.filter(siren=self.siren).exclude(pk=self.pk).first()
            return ValidationError(
                _(
                    "Le SIREN %(siren)s est déjà celui de l'adhérent « %(name)s » : "
                    "modifiez sa fiche plutôt que d'en créer une seconde."
                ),
                code="duplicate_siren",
                params={"siren": self.siren, "name": existing.legal_name if existing else ""},
            )
        return super().unique_error_message(model_class, unique_check)


class Contact(models.Model):
    """A person at a member business; one person may hold several roles."""

    class Role(models.TextChoices):
        LEGAL_REPRESENTATIVE = "legal_representative", _("Représentant légal")
        BILLING = "billing", _("Facturation")
        # Seed 000: the correspondent / internal mediator answers the cases for the business.
        MEDIATION_CORRESPONDENT = "mediation_correspondent", _("Correspondant médiation")

    member = models.ForeignKey(Member, verbose_name=_("adhérent"), on_delete=models.CASCADE, related_name="contacts")
    roles = ArrayField(
        models.CharField(max_length=30, choices=Role.choices), verbose_name=_("rôles"), default=list, blank=True
    )
    first_name = models.CharField(_("prénom"), max_length=150, blank=True)
    last_name = models.CharField(_("nom"), max_length=150)
    email = models.EmailField(_("adresse e-mail"), blank=True)
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    is_active = models.BooleanField(_("actif"), default=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ("-is_active", "last_name", "first_name", "pk")

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def clean_fields(self, exclude: Any = None) -> None:
        # One occurrence of each role, in the table's order.
        order = list(self.Role.values)
        self.roles = sorted(set(self.roles or []), key=lambda role: order.index(role) if role in order else len(order))
        self.email = (self.email or "").strip().lower()
        super().clean_fields(exclude=exclude)

    def role_labels(self) -> list[str]:
        labels = dict(self.Role.choices)
        return [str(labels.get(role, role)) for role in self.roles]
