from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    """Member businesses (professionnels adhérents), their contacts and the groups that negotiate for them."""

    name = "mediation.members"
    label = "members"
    verbose_name = _("Adhérents")

    def ready(self) -> None:
        # Celery's autodiscovery reads `tasks.py` only: the import tasks live beside the import code.
        from mediation.members import coverage_sync, coverage_tasks, import_tasks, news_tasks  # noqa: F401

        # The platform-wide "which firm covers this business" index follows every membership change.
        coverage_sync.connect_receivers()
