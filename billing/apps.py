from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    """A firm's invoicing of its members: catalogue, invoices, payments, exports."""

    name = "billing"
    verbose_name = _("Facturation")

    def ready(self) -> None:
        from billing import receivers  # noqa: F401 (connects the signal receivers)
        from billing.selectors import catalogue_fees
        from mediation.compliance.fees import register_fee_source

        # The CECMC pack lists the catalogue's prices; mediation cannot import billing, so billing registers them.
        register_fee_source(catalogue_fees)
