from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

INVITATION_LIFETIME = timedelta(days=7)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", User.Role.ADMIN)
        return self._create(email, password, **extra)


class User(AbstractUser):
    """A person who logs in on one firm's host (or an operator on the platform host).

    The e-mail address is the login. The role decides what a firm's staff
    member may do; the permission table that enforces it grows with the
    features.
    """

    class Role(models.TextChoices):
        ADMIN = "admin", _("Administrateur du cabinet")
        MEDIATOR = "mediator", _("Médiateur")
        CASE_OFFICER = "case_officer", _("Chargé·e de médiation")
        FINANCE = "finance", _("Finance")
        READ_ONLY = "read_only", _("Lecture seule")
        # Not staff: a person of a member business, who only reaches the member portal (members.MemberUser).
        MEMBER = "member", _("Adhérent (portail)")

    username = None  # type: ignore[assignment]
    email = models.EmailField(_("adresse e-mail"), unique=True)
    role = models.CharField(_("rôle"), max_length=20, choices=Role.choices, default=Role.READ_ONLY)
    # The account the platform's support logs in with through a SupportGrant
    # link: it holds no seat of the plan and only lives as long as the grant.
    is_platform_support = models.BooleanField(_("assistance de la plateforme"), default=False, editable=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()  # type: ignore[assignment,misc]

    class Meta:
        verbose_name = _("utilisateur")
        verbose_name_plural = _("utilisateurs")

    def __str__(self) -> str:
        return self.get_full_name() or self.email


def new_token() -> str:
    return secrets.token_urlsafe(32)


def default_expiry() -> Any:
    return timezone.now() + INVITATION_LIFETIME


class Invitation(models.Model):
    """An e-mail invitation to join the firm's staff with a role; single use."""

    class Status(models.TextChoices):
        PENDING = "pending", _("En attente")
        ACCEPTED = "accepted", _("Acceptée")
        REVOKED = "revoked", _("Révoquée")
        EXPIRED = "expired", _("Expirée")

    email = models.EmailField(_("adresse e-mail"))
    role = models.CharField(_("rôle"), max_length=20, choices=User.Role.choices)
    token_hash = models.CharField(_("empreinte du jeton"), max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("invité par"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("créée le"), default=timezone.now)
    expires_at = models.DateTimeField(_("expire le"), default=default_expiry)
    accepted_at = models.DateTimeField(_("acceptée le"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("révoquée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.email} ({self.get_role_display()})"

    @property
    def status(self) -> Invitation.Status:
        if self.accepted_at is not None:
            return self.Status.ACCEPTED
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.PENDING

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING


API_TOKEN_PREFIX = "mdp_"  # noqa: S105 (a public marker, not a secret)


class ApiToken(models.Model):
    """A staff user's personal key to the API v1: scoped, stored as its SHA-256, shown once, revocable.

    Its scopes narrow the user's role (`accounts.permissions.permissions_of`): a token never grants more
    than its user holds, and a user who loses a role loses it through every token at once.
    """

    class Scope(models.TextChoices):
        MEMBERS_READ = "members:read", _("Adhérents : lecture")
        MEMBERS_WRITE = "members:write", _("Adhérents : écriture")
        CASES_READ = "cases:read", _("Dossiers : lecture")
        CASES_WRITE = "cases:write", _("Dossiers : traitement et décisions")
        BILLING_READ = "billing:read", _("Facturation : lecture et exports")
        BILLING_WRITE = "billing:write", _("Facturation : écriture")
        REPORTS_READ = "reports:read", _("Rapports et statistiques : lecture")
        FIRM_READ = "firm:read", _("Cabinet : journal d'audit")
        FIRM_WRITE = "firm:write", _("Cabinet : réglages, équipe et webhooks")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("utilisateur"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("nom"), max_length=100, help_text=_("À quoi sert ce jeton (ex. : « CRM »)."))
    prefix = models.CharField(_("début du jeton"), max_length=12, editable=False)
    key_hash = models.CharField(_("empreinte"), max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("droits"), default=list)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    expires_at = models.DateTimeField(_("expire le"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("dernière utilisation"), null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(_("dernière adresse IP"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("révoqué par"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("jeton d'API")
        verbose_name_plural = _("jetons d'API")
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    def get_scope_labels(self) -> list[str]:
        labels = dict(self.Scope.choices)
        return [str(labels.get(scope, scope)) for scope in self.scopes]


def new_api_key() -> str:
    """The clear key handed to the user once: a fixed prefix (recognisable by secret scanners) and 256 bits."""
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)
