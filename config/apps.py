from __future__ import annotations

from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings


class ConfigConfig(AppConfig):
    """Registered so that project-wide management commands (seed_demo) live here."""

    name = "config"
    verbose_name = "Project"

    def ready(self) -> None:
        fence_admin_by_schema()


def fence_admin_by_schema() -> None:
    """Each Django admin page only where its table lives.

    Models of public-only apps (tenants, beat…) are reachable on a firm's host
    through the search path: a firm's superuser must not see or change them
    there. Models of firm-only apps have no table in the public schema. Every
    permission of their ModelAdmin is ANDed with the right schema, whatever
    the admin class, so a new app is fenced without anyone remembering to.
    """
    from django.contrib import admin

    from core.tenancy import on_public_schema

    tenant_apps = set(settings.TENANT_APPS)
    shared_apps = set(settings.SHARED_APPS)
    for model, model_admin in admin.site._registry.items():
        app_name = apps.get_app_config(model._meta.app_label).name
        if app_name in shared_apps and app_name not in tenant_apps:
            allowed = on_public_schema
        elif app_name in tenant_apps and app_name not in shared_apps:

            def allowed() -> bool:
                return not on_public_schema()
        else:
            continue
        for name in ("has_module_permission", "has_view_permission", "has_add_permission",
                     "has_change_permission", "has_delete_permission"):  # fmt: skip
            original = getattr(model_admin, name)

            def fenced(*args: Any, _original: Any = original, _allowed: Any = allowed, **kwargs: Any) -> bool:
                return bool(_allowed() and _original(*args, **kwargs))

            setattr(model_admin, name, fenced)
