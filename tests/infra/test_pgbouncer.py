"""PgBouncer in front of this session's test database: which settings keep the firms apart.

A real `pgbouncer` process (Debian's package) with its own configuration in a temporary directory;
tests/infra/pgbouncer_probe.py runs Django connections through it, each turn setting its firm as a
request does and reading a probe table that holds, in each firm's schema, that schema's name.

- transaction mode + TENANT_LIMIT_SET_CALLS=True: a connection sends `SET search_path` once, and its
  next query may run on a server connection another firm's request has just set: a leak (shown).
- transaction mode + TENANT_LIMIT_SET_CALLS=False: the SET precedes every query. Taking turns, firms
  stay apart; but concurrently, in autocommit, the SET and the query are two transactions that
  PgBouncer may send to two server connections: leaks again (shown). Only with every query inside a
  transaction (the SET and the query then share a server connection) do firms stay apart.
- session mode + TENANT_LIMIT_SET_CALLS=True: each client keeps its server connection; apart.

Skipped when pgbouncer is not installed, except under CI=true (`apt-get install -y pgbouncer`).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connection

from tests.conftest import database_url_for_current_test_db
from tests.infra.conftest import ROOT, skip_or_fail

TABLE = "pgbouncer_probe"
pytestmark = pytest.mark.django_db
SCHEMAS = ("alpha", "beta")
PROBE = ROOT / "tests" / "infra" / "pgbouncer_probe.py"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def pgbouncer_binary() -> str:
    found = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None)
    if found is None:
        skip_or_fail("pgbouncer is not installed (apt-get install -y pgbouncer)")
    return str(found)


@pytest.fixture
def probe_tables(django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """The probe table in each firm's schema, committed (other processes read it); dropped afterwards."""
    with django_db_blocker.unblock():
        settings_dict = dict(connection.settings_dict)
        url = database_url_for_current_test_db()
    admin = psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True)
    for schema in SCHEMAS:
        admin.execute(f'CREATE TABLE IF NOT EXISTS "{schema}".{TABLE} (schema text NOT NULL)')
        admin.execute(f'TRUNCATE "{schema}".{TABLE}')
        admin.execute(f'INSERT INTO "{schema}".{TABLE} VALUES (%s)', (schema,))
    try:
        yield settings_dict
    finally:
        for schema in SCHEMAS:
            admin.execute(f'DROP TABLE IF EXISTS "{schema}".{TABLE}')
        admin.close()


@pytest.fixture
def pgbouncer(
    pgbouncer_binary: str, probe_tables: dict[str, Any], tmp_path: Path
) -> Iterator[Callable[[str, int], str]]:
    """Start PgBouncer with a pool mode and a pool size; returns a DATABASE_URL through it."""
    started: list[subprocess.Popen[bytes]] = []

    def start(pool_mode: str, pool_size: int) -> str:
        host = probe_tables["HOST"] or "127.0.0.1"
        port = probe_tables.get("PORT") or "5432"
        name = probe_tables["NAME"]
        user = probe_tables["USER"]
        listen = _free_port()
        workdir = tmp_path / f"pgbouncer-{pool_mode}-{pool_size}"
        workdir.mkdir()
        workdir.chmod(0o755)
        (workdir / "users.txt").write_text(f'"{user}" ""\n')
        (workdir / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"{name} = host={host} port={port} dbname={name} user={user}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {listen}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {workdir / 'users.txt'}\n"
            f"pool_mode = {pool_mode}\ndefault_pool_size = {pool_size}\nmax_client_conn = 100\n"
            # Django's connection setup sends these as startup parameters.
            "ignore_startup_parameters = extra_float_digits,options\n"
        )
        for path in workdir.iterdir():
            path.chmod(0o644)
        command = [pgbouncer_binary, "-q", str(workdir / "pgbouncer.ini")]
        if os.geteuid() == 0:
            # PgBouncer refuses to run as root: run as the owner of the database's socket directory
            # (the embedded PostgreSQL's own user), or as nobody for a TCP server.
            owner = pwd.getpwuid(os.stat(host).st_uid).pw_name if host.startswith("/") else "nobody"
            command[1:1] = ["-u", owner]
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        started.append(proc)
        deadline = time.monotonic() + 15
        while True:
            try:
                with psycopg.connect(host="127.0.0.1", port=listen, user=user, dbname=name, connect_timeout=2) as c:
                    c.execute("SELECT 1")
                break
            except psycopg.OperationalError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    output = proc.stdout.read().decode() if proc.stdout and proc.poll() is not None else ""
                    pytest.fail(f"pgbouncer did not start: {output}")
                time.sleep(0.2)
        return f"postgres://{user}@127.0.0.1:{listen}/{name}"

    yield start
    for proc in started:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def probe(database_url: str, *, mode: str, limit_set_calls: bool, atomic: bool = False, **extra: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TENANT_LIMIT_SET_CALLS": "true" if limit_set_calls else "false",
        "CONN_MAX_AGE": "0",
        "PROBE_MODE": mode,
        "PROBE_TABLE": TABLE,
        "PROBE_ATOMIC": "1" if atomic else "0",
        "TESTING": "1",
        **extra,
    }
    result = subprocess.run(
        [sys.executable, str(PROBE)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_transaction_mode_with_limit_set_calls_leaks_between_firms(pgbouncer: Any) -> None:
    """Why the setting matters: one server connection, two firms' requests taking turns query by query."""
    url = pgbouncer("transaction", 1)
    outcome = probe(url, mode="alternate", limit_set_calls=True, PROBE_TURNS="50")
    assert outcome["turns"] == 100
    # A0 (SET alpha, query) B0 (SET beta, query) A1 (query: beta's rows!) B1 A2 (SET alpha...) ...: the
    # second query of every alpha request runs on the server connection beta's request has just set.
    assert outcome["wrong"] == 25, outcome
    assert outcome["examples"][0] == "alpha saw beta"


def test_transaction_mode_without_limit_set_calls_keeps_firms_apart(pgbouncer: Any) -> None:
    url = pgbouncer("transaction", 1)
    outcome = probe(url, mode="alternate", limit_set_calls=False, PROBE_TURNS="200")
    assert outcome == {**outcome, "turns": 400, "wrong": 0}, outcome


def test_transaction_mode_without_limit_set_calls_still_leaks_outside_transactions(pgbouncer: Any) -> None:
    """In autocommit the SET and the query are two transactions: PgBouncer may give them two different
    server connections when requests run at the same time. Measured here: about half the queries of
    eight threads on two server connections read the other firm (docs/scaling.md)."""
    url = pgbouncer("transaction", 2)
    outcome = probe(url, mode="concurrent", limit_set_calls=False, PROBE_THREADS="8", PROBE_TURNS="200")
    assert outcome["turns"] == 1600
    assert outcome["wrong"] > 0, outcome


def test_transaction_mode_concurrent_requests_in_transactions_keep_firms_apart(pgbouncer: Any) -> None:
    """Eight threads on two server connections, each query in a transaction with its SET."""
    url = pgbouncer("transaction", 2)
    outcome = probe(url, mode="concurrent", limit_set_calls=False, atomic=True, PROBE_THREADS="8", PROBE_TURNS="150")
    assert outcome == {**outcome, "turns": 1200, "wrong": 0}, outcome


def test_session_mode_with_limit_set_calls_keeps_firms_apart(pgbouncer: Any) -> None:
    url = pgbouncer("session", 4)
    outcome = probe(url, mode="concurrent", limit_set_calls=True, PROBE_THREADS="4", PROBE_TURNS="200")
    assert outcome == {**outcome, "turns": 800, "wrong": 0}, outcome
