from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.utils import get_public_schema_name


class Plan(models.Model):  # type: ignore[django-manager-missing]  # custom Tenant manager
    """A SaaS plan the platform sells to firms, with the limits it enforces."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("nom"), max_length=80)
    description = models.CharField(_("description"), max_length=300, blank=True)
    monthly_price_cents = models.PositiveIntegerField(_("prix mensuel HT (centimes)"))
    currency = models.CharField(_("devise"), max_length=3, default="EUR")
    max_active_members = models.PositiveIntegerField(_("adhérents actifs maximum"), null=True, blank=True)
    max_staff_seats = models.PositiveIntegerField(_("comptes équipe maximum"), null=True, blank=True)
    is_public = models.BooleanField(_("proposé à l'inscription"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("ordre"), default=0)

    class Meta:
        ordering = ["sort_order", "monthly_price_cents"]
        verbose_name = _("formule")
        verbose_name_plural = _("formules")

    def __str__(self) -> str:
        return self.name


class TenantQuerySet(models.QuerySet["Tenant"]):
    def firms(self) -> TenantQuerySet:
        """Real firms: not the public schema, not the template, not the pool of spare schemas."""
        return self.filter(kind=Tenant.Kind.FIRM).exclude(schema_name=get_public_schema_name())

    def active_firms(self) -> TenantQuerySet:
        return self.firms().filter(is_active=True)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    pass


class Tenant(TenantMixin):
    """A mediation firm. Everything it owns lives in its own PostgreSQL schema.

    Two technical kinds share the table so that `migrate_schemas` keeps them in
    step with the code: the template schema new firms are cloned from, and
    ready-made spare schemas that a signup claims by renaming.
    """

    class Kind(models.TextChoices):
        FIRM = "firm", _("Cabinet")
        TEMPLATE = "template", _("Modèle")
        POOL = "pool", _("Réserve")

    name = models.CharField(_("raison sociale"), max_length=200)
    siren = models.CharField(_("SIREN"), max_length=9, blank=True)
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.FIRM)
    plan = models.ForeignKey(Plan, verbose_name=_("formule"), null=True, blank=True, on_delete=models.PROTECT)
    is_active = models.BooleanField(_("actif"), default=True)
    suspended_at = models.DateTimeField(_("suspendu le"), null=True, blank=True)
    suspension_reason = models.CharField(_("motif de la suspension"), max_length=300, blank=True)
    closed_at = models.DateTimeField(_("fermé le"), null=True, blank=True)
    drop_after = models.DateTimeField(_("données supprimées après le"), null=True, blank=True)
    dropped_at = models.DateTimeField(_("données supprimées le"), null=True, blank=True)
    export_file = models.CharField(_("export des données"), max_length=300, blank=True)
    export_sha256 = models.CharField(_("empreinte SHA-256 de l'export"), max_length=64, blank=True)
    last_activity_at = models.DateTimeField(_("dernière activité"), null=True, blank=True)
    # The firm's own Stripe account connected to the platform (Stripe Connect): routes its webhook events.
    stripe_account_id = models.CharField(_("compte Stripe connecté"), max_length=64, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    auto_create_schema = True
    auto_drop_schema = False

    objects = TenantManager()

    class Meta:
        verbose_name = _("cabinet")
        verbose_name_plural = _("cabinets")

    def __str__(self) -> str:
        return self.name


class Domain(DomainMixin):
    """A host name that serves a firm (`<slug>.<PLATFORM_DOMAIN>` or a custom domain)."""

    class Meta:
        verbose_name = _("domaine")
        verbose_name_plural = _("domaines")


class DomainRequest(models.Model):
    """A firm asks for its own host name (e.g. `mediation.example.fr`); an operator approves it."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Demandé")
        APPROVED = "approved", _("Approuvé")
        REJECTED = "rejected", _("Refusé")

    tenant = models.ForeignKey(
        Tenant, verbose_name=_("cabinet"), on_delete=models.CASCADE, related_name="domain_requests"
    )
    domain = models.CharField(_("nom de domaine"), max_length=253)
    status = models.CharField(_("état"), max_length=10, choices=Status.choices, default=Status.REQUESTED)
    requested_by = models.EmailField(_("demandé par"))
    requested_at = models.DateTimeField(_("demandé le"), auto_now_add=True)
    decided_by = models.EmailField(_("décidé par"), blank=True)
    decided_at = models.DateTimeField(_("décidé le"), null=True, blank=True)
    rejection_reason = models.CharField(_("motif du refus"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("demande de domaine personnalisé")
        verbose_name_plural = _("demandes de domaine personnalisé")
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["domain"], condition=models.Q(status="requested"), name="one_open_request_per_domain"
            )
        ]

    def __str__(self) -> str:
        return self.domain


class SupportGrant(models.Model):
    """An operator's explicit, time-limited access to one firm's space, for support.

    Created from the console with a reason; opened through a single-use link on
    the firm's host; every step is written to the firm's own audit log.
    """

    class Level(models.TextChoices):
        READ_ONLY = "read_only", _("Lecture seule")
        ADMIN = "admin", _("Administrateur")

    tenant = models.ForeignKey(
        Tenant, verbose_name=_("cabinet"), on_delete=models.CASCADE, related_name="support_grants"
    )
    operator_email = models.EmailField(_("opérateur"))
    reason = models.CharField(_("motif"), max_length=300)
    level = models.CharField(_("niveau d'accès"), max_length=10, choices=Level.choices, default=Level.READ_ONLY)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("accordé le"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expire le"))
    used_at = models.DateTimeField(_("utilisé le"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)

    class Meta:
        verbose_name = _("accès support")
        verbose_name_plural = _("accès support")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.operator_email} → {self.tenant}"


class Signup(models.Model):
    """A firm's request to open its space, from the form to the ready schema."""

    class Status(models.TextChoices):
        PENDING = "pending", _("En attente de vérification de l'e-mail")
        QUEUED = "queued", _("E-mail vérifié, création en file d'attente")
        PROVISIONING = "provisioning", _("Création de l'espace en cours")
        READY = "ready", _("Espace prêt")
        FAILED = "failed", _("Échec de la création")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    legal_name = models.CharField(_("raison sociale"), max_length=200)
    siren = models.CharField(_("SIREN"), max_length=9)
    slug = models.SlugField(_("sous-domaine"), max_length=40)
    admin_first_name = models.CharField(_("prénom"), max_length=150)
    admin_last_name = models.CharField(_("nom"), max_length=150)
    admin_email = models.EmailField(_("adresse e-mail"))
    plan = models.ForeignKey(Plan, verbose_name=_("formule"), on_delete=models.PROTECT)
    language = models.CharField(_("langue"), max_length=8, default="fr")
    base_url = models.CharField(_("adresse de la plateforme"), max_length=200)
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(_("état"), max_length=20, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(_("erreur"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("tentatives"), default=0)
    tenant = models.OneToOneField(Tenant, null=True, blank=True, on_delete=models.SET_NULL, related_name="signup")
    created_at = models.DateTimeField(auto_now_add=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    provisioning_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name = _("inscription")
        verbose_name_plural = _("inscriptions")
        indexes = [models.Index(fields=["slug", "status"])]

    def __str__(self) -> str:
        return f"{self.legal_name} ({self.slug})"

    @property
    def schema_name(self) -> str:
        return schema_name_for(self.slug)


def schema_name_for(slug: str) -> str:
    """Sub-domain `cabinet-dupont` lives in schema `cabinet_dupont` (no quoting needed)."""
    return slug.replace("-", "_")


class CoveredBusiness(models.Model):
    """The platform-wide "which firm covers this business" index, in the public schema.

    Only what a member business must make public anyway (R616-1): its name, its
    SIREN, the firm and until when. Kept up to date from each firm when a
    membership changes, and rebuilt every night from the firms' own data.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="covered_businesses")
    siren = models.CharField(_("SIREN"), max_length=9)
    name = models.CharField(_("nom"), max_length=200)
    trade_name = models.CharField(_("nom commercial"), max_length=200, blank=True)
    # For a name search without accents or case; filled by the indexing service.
    search_text = models.CharField(max_length=420)
    covered_until = models.DateField(_("couvert jusqu'au"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("entreprise couverte")
        verbose_name_plural = _("entreprises couvertes")
        ordering = ("name",)
        constraints = [models.UniqueConstraint(fields=["tenant", "siren"], name="covered_business_once_per_firm")]
        indexes = [models.Index(fields=["siren"], name="covered_business_siren_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.siren})"
