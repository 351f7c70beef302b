from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenantsConfig(AppConfig):
    """Public schema: the firms (tenants) and their hosts. Imports no tenant app."""

    name = "tenants"
    verbose_name = _("Cabinets de médiation")
