"""`migrate_schemas` that skips the schemas with nothing to apply.

django-tenants spends ~0.7 s per schema even when nothing is to be done, and
the cost grows with the number of schemas. One query reads every schema's
django_migrations; only the schemas that lack a migration of the code go to
the (standard or multiprocessing) executor. Targeted runs (an app label, a
migration name, --fake, --plan, --check) are left exactly as django-tenants
does them. Set MIGRATE_ALL_SCHEMAS=1 to walk every schema anyway.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

from django.db import connection
from django_tenants.migration_executors import get_executor as base_get_executor
from django_tenants.utils import get_public_schema_name
from psycopg import sql

logger = logging.getLogger(__name__)
CHUNK = 200
TARGETED_OPTIONS = ("app_label", "migration_name", "fake", "fake_initial", "plan", "check_unapplied", "prune")


def public_only_leaf() -> tuple[str, str]:
    """The latest migration of `tenants`, a public-schema-only app: in a tenant schema it runs nothing.

    Forgetting it in a schema makes that schema "lagging" without any DDL to
    redo, which the tests and the benchmark use to exercise the executor.
    """
    from django.db.migrations.loader import MigrationLoader

    return next(node for node in MigrationLoader(None).graph.leaf_nodes() if node[0] == "tenants")


def lagging_schemas(schemas: Iterable[str]) -> list[str]:
    """The schemas (in the given order) that miss at least one migration of the code."""
    from tenants.provisioning import code_migrations

    wanted = list(schemas)
    expected = set(code_migrations())
    applied: dict[str, set[tuple[str, str]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'django_migrations' "
            "AND table_schema = ANY(%s)",
            [wanted],
        )
        with_table = [row[0] for row in cursor.fetchall()]
        for start in range(0, len(with_table), CHUNK):
            chunk = with_table[start : start + CHUNK]
            query = sql.SQL(" UNION ALL ").join(
                sql.SQL("SELECT {}::text, app, name FROM {}.django_migrations").format(
                    sql.Literal(schema), sql.Identifier(schema)
                )
                for schema in chunk
            )
            cursor.execute(query)
            for schema, app, name in cursor.fetchall():
                applied.setdefault(schema, set()).add((app, name))
    return [schema for schema in wanted if not expected <= applied.get(schema, set())]


def get_executor(codename: str | None = None) -> type:
    base: type = base_get_executor(codename=codename)

    class SkipUpToDateExecutor(base):
        def run_migrations(self, tenants: Iterable[str] | None = None) -> Any:
            tenants = list(tenants or [])
            targeted = any(self.options.get(option) for option in TARGETED_OPTIONS)
            if targeted or os.environ.get("MIGRATE_ALL_SCHEMAS") or tenants == [get_public_schema_name()]:
                return super().run_migrations(tenants=tenants)
            lagging = lagging_schemas(tenants)
            logger.info(
                "migrate_schemas: %d schema(s) to migrate, %d up to date", len(lagging), len(tenants) - len(lagging)
            )
            if lagging:
                return super().run_migrations(tenants=lagging)
            return None

    return SkipUpToDateExecutor
