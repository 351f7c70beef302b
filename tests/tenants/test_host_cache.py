"""The per-process host → firm cache: fewer queries, and never stale after a change in this process."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants import services
from tenants.middleware import _HOST_CACHE
from tenants.models import Tenant


def _domain_queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        client.get("/health/?workers=0")
        client.get("/")
    return sum('"tenants_domain"' in query["sql"] for query in captured)


def test_a_host_is_looked_up_once_then_remembered(db, client_a, settings):
    settings.TENANT_HOST_CACHE_SECONDS = 30
    _HOST_CACHE.clear()
    assert _domain_queries(client_a) == 1
    assert _domain_queries(client_a) == 0


def test_suspending_a_firm_takes_effect_at_once_in_this_process(db, client_a, settings):
    from tests.factories import AdminFactory

    settings.TENANT_HOST_CACHE_SECONDS = 30
    _HOST_CACHE.clear()
    assert client_a.get("/").status_code == 200
    connection.set_schema_to_public()
    operator = AdminFactory(email="op@platform.fr")
    services.suspend_firm(tenant=Tenant.objects.get(schema_name="alpha"), by=operator, reason="Impayé")
    assert client_a.get("/").status_code == 403
    connection.set_schema_to_public()
    services.reactivate_firm(tenant=Tenant.objects.get(schema_name="alpha"), by=operator)


def test_the_cache_can_be_turned_off(db, client_a, settings):
    settings.TENANT_HOST_CACHE_SECONDS = 0
    _HOST_CACHE.clear()
    assert _domain_queries(client_a) == 1
    assert _domain_queries(client_a) == 1
