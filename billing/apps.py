from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    """A firm's invoicing of its members: catalogue, invoices, payments, exports."""

    name = "billing"
    verbose_name = _("Facturation")

    def ready(self) -> None:
        from billing import receivers  # noqa: F401 (connects the signal receivers)
