from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SaasConfig(AppConfig):
    """Public schema: firms' subscriptions to the platform, paid through the platform's Stripe account."""

    name = "tenants.saas"
    label = "saas"
    verbose_name = _("Abonnements des cabinets")
