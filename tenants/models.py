from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin


class Tenant(TenantMixin):
    """A mediation firm. Everything it owns lives in its own PostgreSQL schema."""

    name = models.CharField(_("raison sociale"), max_length=200)
    siren = models.CharField(_("SIREN"), max_length=9, blank=True)
    is_active = models.BooleanField(_("actif"), default=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    auto_create_schema = True
    auto_drop_schema = False

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
