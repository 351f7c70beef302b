"""Fast creation of firm schemas: never replay migrations on signup.

- The template schema (`tenant_template`, a Tenant row of kind TEMPLATE) is
  migrated by `migrate_schemas` like any tenant; it holds no users.
- A new schema is a copy of the template (django-tenants' clone_schema in
  DATA mode, which also copies django_migrations, content types and
  permissions), refused when the template lags the code's migrations.
- A small pool of such copies (kind POOL) is kept ready: a signup claims one
  by `ALTER SCHEMA … RENAME`, which takes milliseconds.

Everything a provisioning does happens in one transaction (PostgreSQL DDL is
transactional): a failure leaves no half-made schema behind.
"""

from __future__ import annotations

import logging
import secrets
from functools import lru_cache

from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django_tenants.clone import CloneSchema
from django_tenants.utils import get_public_schema_name, schema_exists
from psycopg import sql

from core.tenancy import use_public_schema
from tenants.models import Tenant

logger = logging.getLogger(__name__)

TEMPLATE_SCHEMA = "tenant_template"
POOL_PREFIX = "pool_"


class TemplateOutdated(RuntimeError):
    """The template schema lacks migrations the code has: cloning it would drift silently."""


@lru_cache(maxsize=1)
def code_migrations() -> frozenset[tuple[str, str]]:
    return frozenset(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)


def missing_migrations(schema_name: str) -> set[tuple[str, str]]:
    """Migrations in the code that the schema has not recorded."""
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT app, name FROM {}.django_migrations").format(sql.Identifier(schema_name)))
        applied = set(cursor.fetchall())
    return set(code_migrations()) - applied


def ensure_template(*, verbosity: int = 0) -> Tenant:
    """Create the template schema by migrations if it does not exist yet."""
    use_public_schema()
    template = Tenant.objects.filter(kind=Tenant.Kind.TEMPLATE).first()
    if template is None:
        template = Tenant(schema_name=TEMPLATE_SCHEMA, name="Modèle de cabinet", kind=Tenant.Kind.TEMPLATE)
        template.is_active = False
        template.save(verbosity=verbosity)
    elif not schema_exists(template.schema_name):
        template.create_schema(check_if_exists=True, verbosity=verbosity)
    return template


def _clone_template_into(schema_name: str) -> None:
    template = Tenant.objects.filter(kind=Tenant.Kind.TEMPLATE).first()
    if template is None or not schema_exists(template.schema_name):
        raise TemplateOutdated("no template schema: run `manage.py migrate_schemas` then `manage.py tenant_pool`")
    lagging = missing_migrations(template.schema_name)
    if lagging:
        raise TemplateOutdated(f"the template schema lacks {len(lagging)} migration(s): run migrate_schemas")
    CloneSchema().clone_schema(template.schema_name, schema_name, "DATA")
    restore_constraint_names(source=template.schema_name, target=schema_name)
    use_public_schema()


# One row per constraint: its table, kind and definition (schema names removed) identify it across schemas.
_CONSTRAINTS_SQL = """
    SELECT cl.relname, co.contype, replace(pg_get_constraintdef(co.oid), quote_ident(n.nspname) || '.', ''), co.conname
    FROM pg_constraint co
    JOIN pg_class cl ON cl.oid = co.conrelid
    JOIN pg_namespace n ON n.oid = cl.relnamespace
    WHERE n.nspname = %s
"""


def restore_constraint_names(*, source: str, target: str) -> int:
    """Gives the clone's constraints the names they have in `source`; returns how many were renamed.

    django-tenants' clone recreates multi-column unique constraints under
    PostgreSQL's default names, so a later migration that removes one by name
    would fail on cloned schemas only.
    """
    with connection.cursor() as cursor:
        cursor.execute(_CONSTRAINTS_SQL, [source])
        wanted = {(table, kind, definition): name for table, kind, definition, name in cursor.fetchall()}
        cursor.execute(_CONSTRAINTS_SQL, [target])
        renames = [
            (table, name, wanted[(table, kind, definition)])
            for table, kind, definition, name in cursor.fetchall()
            if wanted.get((table, kind, definition), name) != name
        ]
        for table, old, new in renames:
            cursor.execute(
                sql.SQL("ALTER TABLE {} RENAME CONSTRAINT {} TO {}").format(
                    sql.Identifier(target, table), sql.Identifier(old), sql.Identifier(new)
                )
            )
    return len(renames)


def _new_tenant_row(*, schema_name: str, name: str, kind: str) -> Tenant:
    tenant = Tenant(schema_name=schema_name, name=name, kind=kind)
    tenant.auto_create_schema = False  # the schema comes from the template, not from migrations
    tenant.save()
    return tenant


def _claim_pooled_schema(schema_name: str) -> Tenant | None:
    """Rename a ready spare schema to `schema_name`; None when the pool is empty or stale."""
    spare = (
        Tenant.objects.select_for_update(skip_locked=True)
        .filter(kind=Tenant.Kind.POOL, schema_name__startswith=POOL_PREFIX)
        .order_by("created_at")
        .first()
    )
    if spare is None:
        return None
    if missing_migrations(spare.schema_name):
        logger.warning("pooled schema %s lags the code's migrations; not used", spare.schema_name)
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                sql.Identifier(spare.schema_name), sql.Identifier(schema_name)
            )
        )
    spare.schema_name = schema_name
    spare.kind = Tenant.Kind.FIRM
    spare.save(update_fields=["schema_name", "kind"])
    return spare


def create_firm_schema(*, schema_name: str, name: str) -> tuple[Tenant, str]:
    """A firm's Tenant row and schema, from the pool or the template. Call inside a transaction.

    Returns the tenant and how the schema was made ("pool" or "clone").
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("create_firm_schema must run inside transaction.atomic()")
    use_public_schema()
    if schema_name == get_public_schema_name() or schema_name.startswith((POOL_PREFIX, "pg_")):
        raise ValueError(f"reserved schema name: {schema_name}")
    tenant = _claim_pooled_schema(schema_name)
    if tenant is not None:
        method = "pool"
    else:
        tenant = _new_tenant_row(schema_name=schema_name, name=name, kind=Tenant.Kind.FIRM)
        _clone_template_into(schema_name)
        method = "clone"
    tenant.name = name
    tenant.is_active = True
    tenant.save(update_fields=["name", "is_active"])
    return tenant, method


def pool_size() -> int:
    return Tenant.objects.filter(kind=Tenant.Kind.POOL).count()


def refill_pool(*, target: int | None = None) -> int:
    """Clone the template until `target` spare schemas wait (TENANT_POOL_SIZE by default)."""
    target = settings.TENANT_POOL_SIZE if target is None else target
    created = 0
    use_public_schema()
    while pool_size() < target:
        schema_name = f"{POOL_PREFIX}{secrets.token_hex(6)}"
        with transaction.atomic():
            tenant = _new_tenant_row(schema_name=schema_name, name=schema_name, kind=Tenant.Kind.POOL)
            tenant.is_active = False
            tenant.save(update_fields=["is_active"])
            _clone_template_into(schema_name)
        # Each clone grows the backend's memory; a fresh connection per clone keeps it
        # flat (not possible inside a caller's transaction).
        if not connection.in_atomic_block:
            connection.close()
        created += 1
    return created


def drop_stale_pool() -> int:
    """Drop spare schemas that lag the code (the next refill replaces them)."""
    dropped = 0
    for spare in Tenant.objects.filter(kind=Tenant.Kind.POOL):
        if not schema_exists(spare.schema_name) or missing_migrations(spare.schema_name):
            with transaction.atomic():
                spare.delete(force_drop=True)
            dropped += 1
    return dropped
