from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    """Users, one table per schema: a firm's staff in its schema, operators in public."""

    name = "accounts"
    verbose_name = _("Comptes")
