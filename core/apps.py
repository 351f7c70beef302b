from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared helpers (health, logging, tenant-aware tasks). Imports no other app."""

    name = "core"
    verbose_name = "Core"
