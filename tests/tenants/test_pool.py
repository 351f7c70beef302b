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


def _constraint_names(schema: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT cl.relname, co.conname FROM pg_constraint co "
            "JOIN pg_class cl ON cl.oid = co.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace "
            "WHERE n.nspname = %s",
            [schema],
        )
        return set(cursor.fetchall())


def test_a_cloned_schema_keeps_every_constraint_name(tenant_template, db):
    # A later RemoveConstraint migration finds its constraint by name: a clone must keep them all
    # (django-tenants' clone renames multi-column unique constraints, e.g. cases_letter_once_per_event).
    provisioning.refill_pool(target=1)
    spare = Tenant.objects.get(kind=Tenant.Kind.POOL)

    assert _constraint_names(spare.schema_name) == _constraint_names(tenant_template.schema_name)


def test_a_cloned_schema_keeps_every_index_name(tenant_template, db):
    provisioning.refill_pool(target=1)
    spare = Tenant.objects.get(kind=Tenant.Kind.POOL)

    def indexes(schema: str) -> set[tuple[str, str]]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT tablename, indexname FROM pg_indexes WHERE schemaname = %s", [schema])
            return set(cursor.fetchall())

    assert indexes(spare.schema_name) == indexes(tenant_template.schema_name)
