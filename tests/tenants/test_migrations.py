"""migrate_schemas skips schemas that already have every migration of the code."""

from __future__ import annotations

import logging

from django.core.management import call_command
from django.db import connection

from tenants.migration_executor import lagging_schemas, public_only_leaf


def _forget(schema: str, app: str, name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{schema}".django_migrations WHERE app = %s AND name = %s', [app, name])


def _recorded(schema: str, app: str, name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT 1 FROM "{schema}".django_migrations WHERE app = %s AND name = %s', [app, name])
        return cursor.fetchone() is not None


def test_up_to_date_schemas_are_not_lagging(db):
    assert lagging_schemas(["alpha", "beta"]) == []


def test_a_schema_missing_a_migration_is_lagging(db):
    _forget("alpha", *public_only_leaf())

    assert lagging_schemas(["alpha", "beta"]) == ["alpha"]


def test_a_schema_without_migration_table_is_lagging(db):
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "brand_new"')

    assert lagging_schemas(["brand_new", "beta"]) == ["brand_new"]


def test_migrate_schemas_runs_only_the_lagging_schema(db, caplog):
    # A migration whose operations never touch a tenant schema: re-applying it only records it.
    _forget("alpha", *public_only_leaf())

    with caplog.at_level(logging.INFO, logger="tenants.migration_executor"):
        call_command("migrate_schemas", tenant=True, interactive=False, verbosity=0)

    assert _recorded("alpha", *public_only_leaf())
    summary = [r.getMessage() for r in caplog.records if r.name == "tenants.migration_executor"]
    assert summary and summary[-1].startswith("migrate_schemas: 1 schema(s) to migrate")


def test_nothing_to_apply_touches_no_schema(db, caplog):
    with caplog.at_level(logging.INFO, logger="tenants.migration_executor"):
        call_command("migrate_schemas", tenant=True, interactive=False, verbosity=0)

    summary = [r.getMessage() for r in caplog.records if r.name == "tenants.migration_executor"]
    assert summary[-1].startswith("migrate_schemas: 0 schema(s) to migrate")
