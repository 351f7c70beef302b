"""Each admin page only where its table lives: no platform table on a firm's host, no firm table on the platform."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin

from accounts.models import User


def _admin_urls(*, only_in: str) -> list[str]:
    tenant_apps, shared_apps = set(settings.TENANT_APPS), set(settings.SHARED_APPS)
    urls = []
    for model in admin.site._registry:
        name = apps.get_app_config(model._meta.app_label).name
        public_only = name in shared_apps and name not in tenant_apps
        firm_only = name in tenant_apps and name not in shared_apps
        if (only_in == "public" and public_only) or (only_in == "firm" and firm_only):
            urls.append(f"/admin/{model._meta.app_label}/{model._meta.model_name}/")
    return sorted(urls)


@pytest.mark.parametrize("url", _admin_urls(only_in="public"))
def test_a_firm_superuser_cannot_open_platform_tables_on_its_host(url, tenant_a, client_a):
    client_a.force_login(User.objects.create_superuser("boss@alpha.fr", "x" * 12))

    assert client_a.get(url).status_code == 403
    assert client_a.get(url + "add/").status_code == 403


@pytest.mark.parametrize("url", _admin_urls(only_in="firm"))
def test_firm_tables_are_not_offered_on_the_platform_host(url, db, public_client):
    public_client.force_login(User.objects.create_superuser("ops@plateforme.fr", "x" * 12))

    assert public_client.get(url).status_code == 403


def test_both_lists_are_not_empty():
    assert "/admin/tenants/tenant/" in _admin_urls(only_in="public")
    assert "/admin/django_celery_beat/periodictask/" in _admin_urls(only_in="public")
    assert "/admin/firm/firmprofile/" in _admin_urls(only_in="firm")


def test_the_platform_still_manages_firms_and_firms_their_own_tables(db, tenant_a, client_a, public_client, use_tenant):
    client_a.force_login(User.objects.create_superuser("boss@alpha.fr", "x" * 12))
    assert client_a.get("/admin/core/auditentry/").status_code == 200
    use_tenant("public")
    public_client.force_login(User.objects.create_superuser("ops@plateforme.fr", "x" * 12))
    assert public_client.get("/admin/tenants/tenant/").status_code == 200
