from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """Registered so that project-wide management commands (seed_demo) live here."""

    name = "config"
    verbose_name = "Project"
