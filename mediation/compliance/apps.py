from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplianceConfig(AppConfig):
    """CECMC obligations (filing tracker) and recurring dysfunctions (R614-1 to R614-3, seed 003)."""

    name = "mediation.compliance"
    label = "compliance"
    verbose_name = _("Conformité CECMC")

    def ready(self) -> None:
        # Celery's autodiscovery imports `tasks` modules only: the fan-out needs these registered.
        from mediation.compliance import dysfunction_tasks, tracker_tasks  # noqa: F401
