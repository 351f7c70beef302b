"""infra/backup/backup.py: a firm dumped and restored into a fresh database and beside itself; the whole
database dumped and restored into another one (docs/backups.md).

Everything goes through the command line in subprocesses, against this session's test database and new
databases created on the same server (embedded PostgreSQL 18 locally, the machine's PostgreSQL 15 in CI's
second pass). Skipped only when no pg_dump fits the server, and never under CI=true.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tests.conftest import database_url_for_current_test_db
from tests.factories import MemberFactory, UserFactory
from tests.infra.conftest import ROOT, load_module, skip_or_fail
from tests.subprocess_django import run_snippet

backup = load_module("infra/backup/backup.py", "infra_backup")
pytestmark = pytest.mark.django_db(transaction=True)
CLI = ROOT / "infra" / "backup" / "backup.py"
WITNESS = "Sauvegarde Témoin SARL"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CLI), *args], cwd=ROOT, capture_output=True, text=True, timeout=300, env=os.environ
    )


def cli_ok(*args: str) -> dict[str, Any]:
    result = cli(*args)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def query(url: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(statement, params).fetchall()


@pytest.fixture
def source_url(django_db_blocker: Any) -> str:
    with django_db_blocker.unblock():
        url = database_url_for_current_test_db()
    try:
        backup.choose_tools(backup.server_major(url))
    except backup.BackupError as error:
        skip_or_fail(str(error))
    return url


@pytest.fixture
def new_database(source_url: str) -> Iterator[Callable[[bool], str]]:
    """Makes URLs of new databases on the test server (created unless asked not to); all dropped afterwards."""
    names: list[str] = []
    maintenance = backup.with_dbname(source_url, "postgres")

    def make(create: bool = True) -> str:
        name = f"test_backup_{uuid.uuid4().hex[:10]}"
        names.append(name)
        if create:
            with psycopg.connect(maintenance, autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return str(backup.with_dbname(source_url, name))

    yield make
    with psycopg.connect(maintenance, autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def alpha_data(tenant_a: Any) -> dict[str, str]:
    """A member and a staff user in firm alpha, committed (a transactional test)."""
    member = MemberFactory(legal_name=WITNESS)
    user = UserFactory(email="sauvegarde@alpha.fr")
    return {"siren": str(member.siren), "email": str(user.email)}


@pytest.fixture
def copy_schema(source_url: str) -> Iterator[str]:
    """The schema name of a copy restored beside alpha; removed (schema, tenant and domain rows) afterwards."""
    name = "alpha_copy"
    yield name
    with psycopg.connect(source_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
        conn.execute(
            "DELETE FROM public.tenants_domain WHERE tenant_id IN "
            "(SELECT id FROM public.tenants_tenant WHERE schema_name = %s)",
            (name,),
        )
        conn.execute("DELETE FROM public.tenants_tenant WHERE schema_name = %s", (name,))


def migrate_public(url: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "TESTING": "1"}
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate_schemas", "--shared", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr


def test_binary_choice_matches_the_server_and_the_archive() -> None:
    tools = [backup.PgTools(Path(f"/pg{n}"), n, f"{n}.1") for n in (15, 17, 18)]
    assert backup.choose_tools(15, available=tools).major == 15
    assert backup.choose_tools(16, available=tools).major == 17  # no 16: the oldest newer one
    assert backup.choose_tools(15, at_least=18, available=tools).major == 18  # archive written by pg_dump 18
    with pytest.raises(backup.BackupError):
        backup.choose_tools(19, available=tools)


def test_firm_restored_into_a_fresh_database(
    source_url: str, alpha_data: dict[str, str], new_database: Callable[..., str], tmp_path: Path
) -> None:
    bundle = tmp_path / "alpha.tenant.tar"
    dumped = cli_ok("tenant-dump", "--schema", "alpha", "--out", str(bundle), "--database", source_url)
    assert dumped["rows"] > 0 and bundle.stat().st_size > 0

    fresh = new_database()
    refused = cli("tenant-restore", "--in", str(bundle), "--database", fresh)
    assert refused.returncode == 2 and "migrate_schemas --shared" in refused.stderr

    migrate_public(fresh)
    restored = cli_ok("tenant-restore", "--in", str(bundle), "--database", fresh)
    assert restored["schema"] == "alpha" and restored["domains"] == ["alpha.localhost"]

    assert query(fresh, "SELECT legal_name FROM alpha.members_member WHERE siren = %s", (alpha_data["siren"],)) == [
        (WITNESS,)
    ]
    assert query(fresh, "SELECT count(*) FROM alpha.accounts_user WHERE email = %s", (alpha_data["email"],)) == [(1,)]
    assert query(
        fresh,
        "SELECT t.name, d.domain, d.is_primary FROM public.tenants_tenant t "
        "JOIN public.tenants_domain d ON d.tenant_id = t.id WHERE t.schema_name = 'alpha'",
    ) == [("Cabinet Alpha Médiation", "alpha.localhost", True)]

    # Django on the restored database finds the firm by its host and reads its data through the ORM.
    found = run_snippet(
        "import django, json; django.setup()\n"
        "from django_tenants.utils import tenant_context\n"
        "from tenants.models import Domain\n"
        "from mediation.members.models import Member\n"
        "tenant = Domain.objects.select_related('tenant').get(domain='alpha.localhost').tenant\n"
        "with tenant_context(tenant):\n"
        f"    names = list(Member.objects.filter(siren={alpha_data['siren']!r}).values_list('legal_name', flat=True))\n"
        "print(json.dumps({'schema': tenant.schema_name, 'names': names}))\n",
        DATABASE_URL=fresh,
        TESTING="1",
    )
    assert found == {"schema": "alpha", "names": [WITNESS]}

    # A second restore of the same firm is refused, and leaves the first one whole.
    again = cli("tenant-restore", "--in", str(bundle), "--database", fresh)
    assert again.returncode == 2 and "--replace" in again.stderr
    assert query(fresh, "SELECT count(*) FROM alpha.members_member WHERE siren = %s", (alpha_data["siren"],)) == [(1,)]


def test_firm_restored_beside_itself_under_another_name(
    source_url: str, alpha_data: dict[str, str], copy_schema: str, tmp_path: Path
) -> None:
    bundle = tmp_path / "alpha.tenant.tar"
    cli_ok("tenant-dump", "--schema", "alpha", "--out", str(bundle), "--database", source_url)
    alpha_before = query(source_url, "SELECT * FROM public.tenants_tenant WHERE schema_name = 'alpha'")
    alpha_members = query(source_url, "SELECT id, legal_name, siren FROM alpha.members_member ORDER BY id")

    restored = cli_ok(
        "tenant-restore", "--in", str(bundle), "--as", copy_schema, "--domain", "alpha-copie.localhost",
        "--database", source_url,
    )  # fmt: skip
    assert restored["schema"] == copy_schema and restored["replaced"] is False
    assert query(
        source_url, f"SELECT legal_name FROM {copy_schema}.members_member WHERE siren = %s", (alpha_data["siren"],)
    ) == [(WITNESS,)]
    assert query(
        source_url,
        "SELECT t.schema_name FROM public.tenants_domain d JOIN public.tenants_tenant t ON t.id = d.tenant_id "
        "WHERE d.domain IN ('alpha.localhost', 'alpha-copie.localhost') ORDER BY d.domain",
    ) == [(copy_schema,), ("alpha",)]
    # alpha itself is untouched: its tenant row, its data.
    assert query(source_url, "SELECT * FROM public.tenants_tenant WHERE schema_name = 'alpha'") == alpha_before
    assert query(source_url, "SELECT id, legal_name, siren FROM alpha.members_member ORDER BY id") == alpha_members

    # The copy exists: refused without --replace; with it, the copy goes back to the backup's content.
    refused = cli("tenant-restore", "--in", str(bundle), "--as", copy_schema, "--database", source_url)
    assert refused.returncode == 2
    query_free = psycopg.connect(source_url, autocommit=True)
    with query_free:
        query_free.execute(f"DELETE FROM {copy_schema}.members_member")
    replaced = cli_ok("tenant-restore", "--in", str(bundle), "--as", copy_schema, "--replace", "--database", source_url)
    assert replaced["replaced"] is True
    assert query(
        source_url, f"SELECT legal_name FROM {copy_schema}.members_member WHERE siren = %s", (alpha_data["siren"],)
    ) == [(WITNESS,)]
    assert query(source_url, "SELECT count(*) FROM public.tenants_tenant WHERE schema_name = %s", (copy_schema,)) == [
        (1,)
    ]
    assert query(source_url, "SELECT id, legal_name, siren FROM alpha.members_member ORDER BY id") == alpha_members


def test_a_damaged_bundle_is_refused_and_restores_nothing(
    source_url: str, alpha_data: dict[str, str], copy_schema: str, tmp_path: Path
) -> None:
    import tarfile

    bundle = tmp_path / "alpha.tenant.tar"
    cli_ok("tenant-dump", "--schema", "alpha", "--out", str(bundle), "--database", source_url)
    unpacked = tmp_path / "unpacked"
    with tarfile.open(bundle) as tar:
        tar.extractall(unpacked, filter="data")
    manifest = json.loads((unpacked / "manifest.json").read_text())
    # A manifest promising one more member than the dump holds: the row-count check rolls the restore back.
    manifest["table_counts"]["members_member"] += 1
    (unpacked / "manifest.json").write_text(json.dumps(manifest))
    doctored = tmp_path / "doctored.tar"
    with tarfile.open(doctored, "w") as tar:
        for name in ("manifest.json", "schema.dump"):
            tar.add(unpacked / name, arcname=name)
    result = cli("tenant-restore", "--in", str(doctored), "--as", copy_schema, "--database", source_url)
    assert result.returncode == 1 and "restore check failed" in result.stderr
    assert query(source_url, "SELECT count(*) FROM pg_namespace WHERE nspname = %s", (copy_schema,)) == [(0,)]
    assert query(source_url, "SELECT count(*) FROM public.tenants_tenant WHERE schema_name = %s", (copy_schema,)) == [
        (0,)
    ]

    # A dump whose bytes changed fails its SHA-256 before anything is restored.
    (unpacked / "schema.dump").write_bytes((unpacked / "schema.dump").read_bytes()[:-10])
    with tarfile.open(doctored, "w") as tar:
        for name in ("manifest.json", "schema.dump"):
            tar.add(unpacked / name, arcname=name)
    result = cli("tenant-restore", "--in", str(doctored), "--as", copy_schema, "--database", source_url)
    assert result.returncode == 1 and "SHA-256" in result.stderr


def test_whole_database_round_trip(
    source_url: str, alpha_data: dict[str, str], new_database: Callable[..., str], tmp_path: Path
) -> None:
    bundle = tmp_path / "platform.cluster.tar"
    dumped = cli_ok("cluster-dump", "--out", str(bundle), "--database", source_url)
    assert dumped["tenants"] >= 3  # public, alpha, beta

    target = new_database(create=False)  # cluster-restore creates it
    restored = cli_ok("cluster-restore", "--in", str(bundle), "--database", target)
    assert restored["tenants"] == dumped["tenants"]
    assert query(target, "SELECT legal_name FROM alpha.members_member WHERE siren = %s", (alpha_data["siren"],)) == [
        (WITNESS,)
    ]
    schemas = "SELECT schema_name, (SELECT count(*) FROM public.tenants_domain d WHERE d.tenant_id = t.id) "
    schemas += "FROM public.tenants_tenant t ORDER BY 1"
    assert query(target, schemas) == query(source_url, schemas)

    # Never into a database that already holds something.
    again = cli("cluster-restore", "--in", str(bundle), "--database", target)
    assert again.returncode == 2 and "not empty" in again.stderr
