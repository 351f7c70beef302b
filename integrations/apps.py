from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    """The firm's own tools: outgoing webhooks (signed, retried, logged)."""

    name = "integrations"
    verbose_name = _("Intégrations")

    def ready(self) -> None:
        from integrations import receivers  # noqa: F401  (connects the signal receivers)
