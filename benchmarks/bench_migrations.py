"""`migrate_schemas` over every tenant schema (run after bench_provisioning, which creates them).

- one migration to apply in every schema: the latest `tenants` migration is
  forgotten in each schema's django_migrations; `tenants` lives in the public
  schema only, so in a tenant schema it has no operation to run and the
  figure is the executor's own cost per schema (load the graph, check,
  record), parallel over TENANT_MULTIPROCESSING_MAX_PROCESSES;
- nothing to apply: the same command right after, which skips every schema
  that already has all the code's migrations (one query).
"""

from __future__ import annotations

import time

from benchmarks.harness import Record, bench_database


def run() -> list[Record]:
    with bench_database():
        from django.core.management import call_command
        from django.db import connection
        from psycopg import sql

        from tenants.migration_executor import public_only_leaf
        from tenants.models import Tenant

        app, name = public_only_leaf()
        schemas = list(Tenant.objects.exclude(schema_name="public").values_list("schema_name", flat=True))
        with connection.cursor() as cursor:
            for schema in schemas:
                cursor.execute(
                    sql.SQL("DELETE FROM {}.django_migrations WHERE app = %s AND name = %s").format(
                        sql.Identifier(schema)
                    ),
                    [app, name],
                )
        connection.close()

        started = time.perf_counter()
        call_command("migrate_schemas", tenant=True, executor="multiprocessing", interactive=False, verbosity=0)
        one_each = time.perf_counter() - started

        started = time.perf_counter()
        call_command("migrate_schemas", tenant=True, executor="multiprocessing", interactive=False, verbosity=0)
        nothing = time.perf_counter() - started
    return [
        Record("migrate_schemas.schemas", len(schemas), "schemas"),
        Record("migrate_schemas.one_migration_each", one_each, "s"),
        Record("migrate_schemas.nothing_to_apply", nothing, "s", baseline=one_each),
    ]
