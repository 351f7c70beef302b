"""Member businesses (professionnels adhérents), their contacts, and the groups that negotiate for them."""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
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
    # News only (never legal notices): set by the unsubscribe link of a news e-mail.
    news_opt_out_at = models.DateTimeField(_("désabonné des actualités le"), null=True, blank=True)
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


# --- Membership: offers, the convention, the lifecycle (issue 5) ---------------------------------


class Tariff(models.Model):
    """The yearly membership price for a headcount band and a commitment, valid between two dates."""

    class Term(models.IntegerChoices):
        ONE_YEAR = 1, _("1 an")
        THREE_YEARS = 3, _("3 ans")

    headcount_band = models.CharField(_("effectif"), max_length=10, choices=Member.HeadcountBand.choices)
    term_years = models.PositiveSmallIntegerField(_("engagement"), choices=Term.choices, default=Term.ONE_YEAR)
    yearly_price_cents = models.PositiveIntegerField(_("prix annuel HT (centimes)"))
    valid_from = models.DateField(_("valable à partir du"))
    valid_until = models.DateField(_("valable jusqu'au"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("tarif d'adhésion")
        verbose_name_plural = _("tarifs d'adhésion")
        ordering = ("headcount_band", "term_years", "-valid_from")
        indexes = [
            models.Index(fields=["headcount_band", "term_years", "valid_from"], name="members_tariff_lookup_idx")
        ]

    def __str__(self) -> str:
        return f"{self.get_headcount_band_display()} / {self.get_term_years_display()}"


class Convention(models.Model):
    """A version of the convention d'adhésion; published versions never change (a new text is a new version)."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    title = models.CharField(_("titre"), max_length=200, default="Convention d'adhésion")
    text = models.TextField(_("texte"))
    published_at = models.DateTimeField(_("publiée le"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("convention d'adhésion")
        verbose_name_plural = _("conventions d'adhésion")
        ordering = ("-version",)

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


def acceptance_path(instance: ConventionAcceptance, filename: str) -> str:
    import secrets

    return f"members/{instance.member_id}/conventions/{secrets.token_hex(12)}.pdf"


class ConventionAcceptance(models.Model):
    """Who accepted which version of the convention, when and from where; the PDF of what was accepted."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="convention_acceptances")
    convention = models.ForeignKey(Convention, on_delete=models.PROTECT, related_name="acceptances")
    signer_name = models.CharField(_("nom du signataire"), max_length=200)
    signer_role = models.CharField(_("qualité du signataire"), max_length=200)
    accepted_at = models.DateTimeField(_("acceptée le"))
    ip_address = models.GenericIPAddressField(_("adresse IP"), null=True, blank=True)
    pdf = models.FileField(upload_to=acceptance_path, max_length=200)
    sha256 = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("acceptation de la convention")
        verbose_name_plural = _("acceptations de la convention")
        ordering = ("-accepted_at",)

    def __str__(self) -> str:
        return f"{self.member_id} v{self.convention_id} {self.accepted_at:%Y-%m-%d}"


def proposal_path(instance: Proposal, filename: str) -> str:
    import secrets

    return f"members/{instance.member_id}/proposals/{secrets.token_hex(12)}.pdf"


class Proposal(models.Model):
    """A tailored membership proposal (devis) sent to a business, accepted online through a secret link."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Brouillon")
        SENT = "sent", _("Envoyée")
        ACCEPTED = "accepted", _("Acceptée")
        EXPIRED = "expired", _("Expirée")
        WITHDRAWN = "withdrawn", _("Retirée")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="proposals")
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    term_years = models.PositiveSmallIntegerField(_("engagement"), choices=Tariff.Term.choices, default=1)
    upfront = models.BooleanField(_("payée d'avance pour toute la durée"), default=False)
    # [{"label": str, "quantity": int, "unit_price_cents": int, "vat_rate": "20.00"}]
    lines = models.JSONField(_("lignes"), default=list)
    notes = models.TextField(_("conditions particulières"), blank=True)
    valid_until = models.DateField(_("valable jusqu'au"))
    token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    pdf = models.FileField(upload_to=proposal_path, max_length=200, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("proposition d'adhésion")
        verbose_name_plural = _("propositions d'adhésion")
        ordering = ("-created_at", "-pk")

    def __str__(self) -> str:
        return f"{self.member_id} {self.status}"

    @property
    def total_cents(self) -> int:
        return sum(int(line.get("quantity", 1)) * int(line.get("unit_price_cents", 0)) for line in self.lines)


class Membership(models.Model):
    """One term of membership: from the accepted convention to its end, renewed by a new term."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="memberships")
    acceptance = models.ForeignKey(
        ConventionAcceptance, null=True, blank=True, on_delete=models.PROTECT, related_name="memberships"
    )
    proposal = models.ForeignKey(Proposal, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    term_years = models.PositiveSmallIntegerField(_("engagement"), choices=Tariff.Term.choices, default=1)
    starts_on = models.DateField(_("début"))
    ends_on = models.DateField(_("fin"))
    # Paid (or marked paid by staff until Billing lands): coverage starts when the first invoice is paid.
    paid_at = models.DateTimeField(_("payée le"), null=True, blank=True)
    # Coverage suspended for an unpaid invoice (Billing's dunning); paying it lifts the suspension.
    suspended_at = models.DateTimeField(_("couverture suspendue le"), null=True, blank=True)
    terminated_at = models.DateTimeField(_("résiliée le"), null=True, blank=True)
    termination_reason = models.TextField(_("motif de résiliation"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("période d'adhésion")
        verbose_name_plural = _("périodes d'adhésion")
        ordering = ("-starts_on", "-pk")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gt=models.F("starts_on")), name="membership_ends_after_start"
            )
        ]
        indexes = [models.Index(fields=["ends_on"], name="members_membership_end_idx")]

    def __str__(self) -> str:
        return f"{self.member_id} {self.starts_on}→{self.ends_on}"


class StatusChange(models.Model):
    """Append-only history of a member's status: dates and the reason of each change."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="status_changes")
    before = models.CharField(max_length=30, choices=Member.Status.choices)
    after = models.CharField(max_length=30, choices=Member.Status.choices)
    reason = models.TextField(blank=True)
    by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("changement de statut")
        verbose_name_plural = _("changements de statut")
        ordering = ("at", "pk")

    def __str__(self) -> str:
        return f"{self.member_id} {self.before}→{self.after}"


class BadgeToken(models.Model):
    """The unguessable token of a member's live badge and verification page; a revoked one never shows covered."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="badge_tokens")
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("jeton de badge")
        verbose_name_plural = _("jetons de badge")

    def __str__(self) -> str:
        return f"{self.member_id} {'revoked' if self.revoked_at else 'active'}"


class MemberUser(models.Model):
    """A person who logs in to the member portal for one business (several per business)."""

    user = models.OneToOneField("accounts.User", on_delete=models.CASCADE, related_name="member_access")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="users")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("utilisateur de l'adhérent")
        verbose_name_plural = _("utilisateurs des adhérents")

    def __str__(self) -> str:
        return f"{self.user_id} → {self.member_id}"


def import_path(instance: MemberImport, filename: str) -> str:
    import secrets

    return f"members/imports/{secrets.token_hex(12)}"


class MemberImport(models.Model):
    """A bulk import of members from a CSV/XLSX file: checked first (dry run), applied once confirmed."""

    class Status(models.TextChoices):
        CHECKING = "checking", _("Vérification en cours")
        CHECKED = "checked", _("Vérifié")
        IMPORTING = "importing", _("Import en cours")
        DONE = "done", _("Terminé")
        FAILED = "failed", _("Échec")

    file = models.FileField(upload_to=import_path, max_length=200)
    original_name = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CHECKING)
    # What to do with a SIREN already on file: "update" the member, or "refuse" the row.
    on_duplicate = models.CharField(max_length=10, default="refuse")
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    # {"errors": [{"row": 3, "field": "siren", "message": "..."}], "created": n, "updated": n, "refused": n}
    report = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("import d'adhérents")
        verbose_name_plural = _("imports d'adhérents")
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.original_name} ({self.status})"


class News(models.Model):
    """A piece of news written once in the staff area and sent to a segment of members (seed 004)."""

    class Segment(models.TextChoices):
        ALL = "all", _("Tous les adhérents actifs")
        GROUP = "group", _("Un groupement ou une fédération")
        SECTOR = "sector", _("Un secteur")
        HEADCOUNT = "headcount", _("Une tranche d'effectif")
        LAPSING = "lapsing", _("Adhésion arrivant à échéance (60 jours)")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Brouillon")
        SENDING = "sending", _("Envoi en cours")
        SENT = "sent", _("Envoyée")

    subject = models.CharField(_("objet"), max_length=200)
    body = models.TextField(_("texte"))
    segment = models.CharField(_("destinataires"), max_length=20, choices=Segment.choices, default=Segment.ALL)
    # The group pk, sector or headcount band the segment names (empty for all / lapsing).
    segment_value = models.CharField(_("valeur"), max_length=50, blank=True)
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    total_recipients = models.PositiveIntegerField(default=0)
    sent_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("actualité")
        verbose_name_plural = _("actualités")
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return self.subject


class NewsDelivery(models.Model):
    """One recipient of a piece of news: to whom, for which member, and when it left (or why not)."""

    news = models.ForeignKey(News, on_delete=models.CASCADE, related_name="deliveries")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="news_deliveries")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    email = models.EmailField()
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("envoi d'actualité")
        verbose_name_plural = _("envois d'actualités")
        constraints = [models.UniqueConstraint(fields=["news", "email"], name="news_delivery_once_per_email")]

    def __str__(self) -> str:
        return f"{self.news_id} → {self.email}"
