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


def _figure(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


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
    # A partial run (`run.py http`) replaces its own figures and keeps the others.
    previous = json.loads(out.read_text()) if out.exists() else []
    fresh = {r.name for r in records}
    merged = [old for old in previous if old["name"] not in fresh] + [r.as_dict() for r in records]
    out.write_text(json.dumps(merged, indent=2, ensure_ascii=False) + "\n")

    print(f"\n{'benchmark':<40} {'value':>12} {'unit':<7} {'baseline':>10} {'ratio':>7}")
    for r in records:
        baseline = _figure(r.baseline) if r.baseline is not None else "-"
        ratio = f"{r.ratio:.3f}" if r.ratio is not None else "-"
        print(f"{r.name:<40} {_figure(r.value):>12} {r.unit:<7} {baseline:>10} {ratio:>7}")
    if records:
        print(f"\nmachine: {records[0].machine}\nwritten: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
