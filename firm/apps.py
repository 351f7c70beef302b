from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FirmConfig(AppConfig):
    """The firm's own settings (identity, branding, bank details, security) and its mediators."""

    name = "firm"
    verbose_name = _("Cabinet")

    def ready(self) -> None:
        from firm import receivers  # noqa: F401  (connects the signal receivers)
