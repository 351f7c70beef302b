"""Shared pieces of `make bench`: the record format, the machine, a server, a load generator."""

from __future__ import annotations

import http.client
import multiprocessing
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {mem_gib:.0f} GiB, {cpu}, Python {platform.python_version()}"


@dataclass
class Record:
    """One measured figure; `ratio` is value / baseline when a baseline was measured in the same run."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    ratio: float | None = None
    machine: str = field(default_factory=machine)
    when: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def __post_init__(self) -> None:
        self.value = round(self.value, 3)
        if self.baseline:
            self.baseline = round(self.baseline, 3)
            self.ratio = round(self.value / self.baseline, 3)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(*, workers: int = 2, threads: int = 4, env: dict[str, str] | None = None) -> Iterator[int]:
    """Serve config.wsgi with gunicorn on a free loopback port until the block ends."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
        "--worker-class", "gthread", "--keep-alive", "5", "--log-level", "warning",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[int(q) - 1]


def _client_process(args: tuple[int, str, str, float, int]) -> tuple[int, int, list[float]]:
    port, path, host, seconds, threads = args
    lock = threading.Lock()
    totals = {"ok": 0, "errors": 0}
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    def loop() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        ok = errors = 0
        local: list[float] = []
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Host": host})
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    ok += 1
                else:
                    errors += 1
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            local.append((time.perf_counter() - started) * 1000)
        conn.close()
        with lock:
            totals["ok"] += ok
            totals["errors"] += errors
            latencies.extend(local)

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return totals["ok"], totals["errors"], latencies


def load(
    port: int, path: str, *, host: str = "localhost", seconds: float = 5.0, processes: int = 2, threads: int = 4
) -> LoadResult:
    """Closed-loop HTTP load from `processes` × `threads` keep-alive clients, for `seconds`."""
    _client_process((port, path, host, 0.5, 1))  # warm-up
    started = time.monotonic()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        parts = pool.map(_client_process, [(port, path, host, seconds, threads)] * processes)
    elapsed = time.monotonic() - started
    return LoadResult(
        requests=sum(p[0] for p in parts),
        errors=sum(p[1] for p in parts),
        seconds=elapsed,
        latencies_ms=[lat for p in parts for lat in p[2]],
    )


@contextmanager
def bench_database() -> Iterator[None]:
    """Django set up on `<DATABASE_URL's db>_bench`, created and migrated (public schema) when missing."""
    from urllib.parse import urlsplit

    import psycopg

    url = os.environ["DATABASE_URL"]
    parts = urlsplit(url)
    bench_name = parts.path.lstrip("/") + "_bench"
    admin_url = parts._replace(scheme="postgresql", path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (bench_name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{bench_name}"')
    os.environ["DATABASE_URL"] = parts._replace(path="/" + bench_name).geturl()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.management import call_command

    django.setup()
    # Every schema, in parallel; up-to-date ones are skipped (tenants.migration_executor).
    call_command("migrate_schemas", executor="multiprocessing", interactive=False, verbosity=0)
    try:
        yield
    finally:
        os.environ["DATABASE_URL"] = url
