from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PublicSiteConfig(AppConfig):
    """A firm's public pages. Views and templates only: writes go through other apps' services."""

    name = "public_site"
    verbose_name = _("Site public")
