"""`make bench`: run every benchmarks/bench_*.py, write results/latest.json, print a table.

Each module exposes `run() -> list[Record]`. Ratios compare a figure with a
baseline measured in the same run on the same machine, so they travel better
than absolute numbers. `python benchmarks/run.py http` runs the modules whose
name contains "http".
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import Record  # noqa: E402


def main(selected: list[str]) -> int:
    modules = sorted(p.stem for p in (ROOT / "benchmarks").glob("bench_*.py"))
    if selected:
        modules = [m for m in modules if any(s in m for s in selected)]
    records: list[Record] = []
    for module in modules:
        started = time.monotonic()
        print(f"-- {module}", flush=True)
        records.extend(importlib.import_module(f"benchmarks.{module}").run())
        print(f"   {time.monotonic() - started:.1f} s", flush=True)

    out = ROOT / "benchmarks" / "results" / "latest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([r.as_dict() for r in records], indent=2, ensure_ascii=False) + "\n")

    print(f"\n{'benchmark':<40} {'value':>12} {'unit':<7} {'baseline':>10} {'ratio':>7}")
    for r in records:
        baseline = f"{r.baseline:.1f}" if r.baseline is not None else "-"
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else "-"
        print(f"{r.name:<40} {r.value:>12.1f} {r.unit:<7} {baseline:>10} {ratio:>7}")
    if records:
        print(f"\nmachine: {records[0].machine}\nwritten: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
