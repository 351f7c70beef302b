from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenantsConfig(AppConfig):
    """Public schema: the firms (tenants) and their hosts. Imports no tenant app."""

    name = "tenants"
    verbose_name = _("Cabinets de médiation")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from tenants.middleware import forget_hosts
        from tenants.models import Domain, Tenant

        for model in (Tenant, Domain):
            post_save.connect(forget_hosts, sender=model, dispatch_uid=f"forget-hosts-save-{model.__name__}")
            post_delete.connect(forget_hosts, sender=model, dispatch_uid=f"forget-hosts-delete-{model.__name__}")
