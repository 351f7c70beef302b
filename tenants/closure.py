"""Closing a firm: its data is exported as a ZIP first; the schema is dropped only after a grace period.

`close_firm` takes the firm offline at once (its hosts say it is closed) and
queues the export. `drop_closed_firms` (daily, from beat) drops the schemas
whose grace period is over, and never one without a finished export.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any
from zipfile import ZIP_DEFLATED, ZipFile

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context, schema_exists
from psycopg import sql

from core.audit import record
from tenants.models import Tenant
from tenants.services import SignupError, audit_in_both_schemas

logger = logging.getLogger(__name__)

# Ephemeral or secret rows that a data export must not carry.
EXCLUDED_MODELS = {"sessions.session", "account.emailconfirmation", "mfa.authenticator"}
SECRET_FIELDS = {"accounts.user": {"password"}}


def exports_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "_exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


@transaction.atomic
def close_firm(*, tenant: Tenant, by: Any, grace_days: int | None = None) -> Tenant:
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if tenant.kind != Tenant.Kind.FIRM:
        raise SignupError(_("Seul un cabinet peut être fermé."))
    if tenant.closed_at is not None:
        return tenant
    grace = settings.FIRM_CLOSURE_GRACE_DAYS if grace_days is None else grace_days
    now = timezone.now()
    tenant.is_active = False
    tenant.closed_at = now
    tenant.drop_after = now + timedelta(days=grace)
    tenant.save(update_fields=["is_active", "closed_at", "drop_after"])
    audit_in_both_schemas(
        actor=by,
        action="firm.closed",
        tenant=tenant,
        changes={"closed_at": [None, now.isoformat()], "drop_after": [None, tenant.drop_after.isoformat()]},
    )
    from tenants.tasks import export_firm

    tenant_id = tenant.pk
    transaction.on_commit(lambda: export_firm.delay(tenant_id))
    return tenant


@transaction.atomic
def reopen_firm(*, tenant: Tenant, by: Any) -> Tenant:
    """Undo a closure during its grace period (the schema is still there)."""
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if tenant.closed_at is None or tenant.dropped_at is not None:
        return tenant
    tenant.is_active = True
    tenant.closed_at = None
    tenant.drop_after = None
    tenant.save(update_fields=["is_active", "closed_at", "drop_after"])
    audit_in_both_schemas(actor=by, action="firm.reopened", tenant=tenant, changes={"is_active": [False, True]})
    return tenant


def _tenant_models() -> list[Any]:
    """Every concrete model whose table lives in a firm's schema (the apps in TENANT_APPS)."""
    tenant_apps = set(settings.TENANT_APPS)
    found = [
        model
        for model in apps.get_models()
        if model._meta.app_config.name in tenant_apps
        and model._meta.label_lower not in EXCLUDED_MODELS
        and not model._meta.proxy
        and model._meta.managed
    ]
    return sorted(found, key=lambda m: m._meta.label_lower)


def export_firm_data(*, tenant: Tenant) -> Path:
    """Writes `<schema>-<timestamp>.zip`: one JSON file per model, the firm's uploaded files, a manifest."""
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
    target = exports_dir() / f"{tenant.schema_name}-{stamp}.zip"
    counts: dict[str, int] = {}
    with ZipFile(target, "w", compression=ZIP_DEFLATED) as archive, schema_context(tenant.schema_name):
        for model in _tenant_models():
            label = model._meta.label_lower
            secret = SECRET_FIELDS.get(label, set())
            fields = [f.name for f in model._meta.local_fields if f.name not in secret and not f.primary_key]
            queryset = model._default_manager.order_by("pk")
            counts[label] = queryset.count()
            with archive.open(f"data/{label}.json", "w") as raw, io.TextIOWrapper(raw, encoding="utf-8") as text:
                serializers.serialize("json", queryset.iterator(chunk_size=500), fields=fields, stream=text)
        media = Path(settings.MEDIA_ROOT) / tenant.schema_name
        files = [p for p in media.rglob("*") if p.is_file()] if media.exists() else []
        for path in files:
            archive.write(path, f"files/{path.relative_to(media)}")
        manifest = {
            "firm": tenant.name,
            "schema": tenant.schema_name,
            "siren": tenant.siren,
            "exported_at": timezone.now().isoformat(),
            "rows": counts,
            "files": len(files),
        }
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
    return target


def run_export(*, tenant_id: int) -> Tenant:
    tenant = Tenant.objects.get(pk=tenant_id)
    path = export_firm_data(tenant=tenant)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with transaction.atomic():
        Tenant.objects.filter(pk=tenant.pk).update(export_file=path.name, export_sha256=digest)
        record(actor=None, action="firm.exported", obj=tenant, changes={"export_file": [None, path.name]})
    tenant.refresh_from_db()
    return tenant


def drop_closed_firms(*, now: Any = None) -> list[str]:
    """Drops the schemas of closed firms whose grace period is over and whose export exists."""
    now = now or timezone.now()
    dropped = []
    due = Tenant.objects.filter(
        kind=Tenant.Kind.FIRM, closed_at__isnull=False, dropped_at__isnull=True, drop_after__lte=now
    )
    for tenant in due:
        if not tenant.export_sha256 or not (exports_dir() / tenant.export_file).exists():
            logger.error("firm %s is due for deletion but has no export: kept", tenant.schema_name)
            continue
        with transaction.atomic():
            if schema_exists(tenant.schema_name):
                with connection.cursor() as cursor:
                    cursor.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(tenant.schema_name)))
            tenant.domains.all().delete()
            Tenant.objects.filter(pk=tenant.pk).update(dropped_at=now)
            record(actor=None, action="firm.dropped", obj=tenant, changes={"dropped_at": [None, now.isoformat()]})
        dropped.append(tenant.schema_name)
    return dropped
