from __future__ import annotations

import io

from django.core.management import call_command
from django.db import connection
from django_tenants.utils import schema_exists

from tenants import provisioning
from tenants.models import Tenant


def test_tenant_pool_command_fills_the_pool_from_the_template(tenant_template, db):
    out = io.StringIO()

    call_command("tenant_pool", size=2, stdout=out)

    spares = list(Tenant.objects.filter(kind=Tenant.Kind.POOL))
    assert len(spares) == 2
    assert all(not t.is_active and schema_exists(t.schema_name) for t in spares)
    assert all(provisioning.missing_migrations(t.schema_name) == set() for t in spares)
    assert "2 created" in out.getvalue()
    assert Tenant.objects.active_firms().filter(kind=Tenant.Kind.POOL).count() == 0


def test_spare_schemas_that_lag_the_code_are_dropped(tenant_template, db):
    provisioning.refill_pool(target=1)
    spare = Tenant.objects.get(kind=Tenant.Kind.POOL)
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{spare.schema_name}".django_migrations WHERE app = %s', ["core"])

    assert provisioning.drop_stale_pool() == 1

    assert not Tenant.objects.filter(kind=Tenant.Kind.POOL).exists()
    assert not schema_exists(spare.schema_name)


def test_template_and_pool_are_never_served_nor_fanned_out(tenant_template, db):
    provisioning.refill_pool(target=1)

    assert set(Tenant.objects.active_firms().values_list("schema_name", flat=True)) == {"alpha", "beta"}
