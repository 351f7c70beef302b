"""Run by tests/infra/test_pgbouncer.py in its own process: Django connections through PgBouncer.

Environment: DATABASE_URL (PgBouncer's), TENANT_LIMIT_SET_CALLS, and PROBE_MODE:
  alternate   two threads, strictly taking turns (A, B, A, B...), one query per turn
  concurrent  PROBE_THREADS free-running threads, half on each firm
PROBE_ATOMIC=1 runs each turn inside transaction.atomic() (the SET and the query in one transaction).
Every other turn sets the thread's firm, as a request's middleware does (a request of two
queries), and each turn reads `schema` from the probe table, which
holds the schema's own name in each firm's schema. Prints one JSON line: turns, wrong answers, seconds.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402

SCHEMAS = os.environ.get("PROBE_SCHEMAS", "alpha,beta").split(",")
TABLE = os.environ["PROBE_TABLE"]
TURNS = int(os.environ.get("PROBE_TURNS", "200"))
ATOMIC = os.environ.get("PROBE_ATOMIC") == "1"
results: dict[str, list[str]] = {"wrong": [], "turns": []}
lock = threading.Lock()


def one_turn(schema: str, index: int) -> None:
    # A request: the middleware sets the firm, then the view runs several queries (two here).
    if index % 2 == 0:
        connection.set_schema(schema)
    try:
        if ATOMIC:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SELECT schema FROM {TABLE}")
                seen = cursor.fetchone()[0]
        else:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT schema FROM {TABLE}")
                seen = cursor.fetchone()[0]
    except Exception as exc:  # a query landing on a server connection set to no firm fails: count it
        seen = f"an error ({type(exc).__name__})"
    with lock:
        results["turns"].append(schema)
        if seen != schema:
            results["wrong"].append(f"{schema} saw {seen}")


def alternate() -> None:
    turn = threading.Condition()
    state = {"next": 0}

    def run(index: int) -> None:
        for n in range(TURNS):
            with turn:
                turn.wait_for(lambda: state["next"] == index)
                one_turn(SCHEMAS[index], n)
                state["next"] = 1 - index
                turn.notify_all()
        connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def concurrent() -> None:
    count = int(os.environ.get("PROBE_THREADS", "8"))

    def run(index: int) -> None:
        for n in range(TURNS):
            one_turn(SCHEMAS[index % 2], n)
        connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


started = time.perf_counter()
{"alternate": alternate, "concurrent": concurrent}[os.environ["PROBE_MODE"]]()
elapsed = time.perf_counter() - started
print(
    json.dumps(
        {
            "turns": len(results["turns"]),
            "wrong": len(results["wrong"]),
            "examples": results["wrong"][:3],
            "seconds": round(elapsed, 3),
            "ms_per_turn": round(elapsed * 1000 / max(1, len(results["turns"])), 3),
        }
    )
)
