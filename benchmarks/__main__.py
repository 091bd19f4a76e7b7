"""Run every benchmark module and record the results with their targets in `benchmarks/results.json`.

Each `bench_*.py` module defines `run() -> list[dict]`; each dict has at least `name`, `value`, `unit`,
`target` (text, from the issue that set it) and `meets_target` (bool). Timings are never asserted in tests;
they are recorded here. Usage: `python -m benchmarks [name-filter]`; with a filter, the entries of the
modules that did not run are kept from the previous `results.json`. Each entry carries its own
`recorded_at` (a filtered run leaves the others' times as they were); the file keeps non-ASCII text as is.
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    wanted = argv[0] if argv else ""
    results = []
    ran: set[str] = set()
    for module_path in sorted(HERE.glob("bench_*.py")):
        if wanted not in module_path.stem:
            continue
        module = importlib.import_module(f"benchmarks.{module_path.stem}")
        ran.add(module_path.stem)
        for entry in module.run():
            entry = {"module": module_path.stem, **entry, "recorded_at": _now()}
            results.append(entry)
            status = "meets target" if entry.get("meets_target") else "MISSES target"
            print(
                f"{entry['name']}: {entry['value']:.6g} {entry['unit']} (target {entry['target']}; {status})"
            )
    if wanted:  # keep the other modules' entries, in the order a full run writes them
        results = sorted(_kept_entries(ran) + results, key=lambda entry: str(entry["module"]))
    payload = {
        "recorded_at": _now(),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": _cpus()},
        "results": results,
    }
    (HERE / "results.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {HERE / 'results.json'}")
    return 0


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _kept_entries(ran: set[str]) -> list[dict[str, object]]:
    """Entries of the previous results file from modules that did not run this time."""
    try:
        previous = json.loads((HERE / "results.json").read_text())
    except (OSError, ValueError):
        return []
    return [entry for entry in previous.get("results", []) if entry.get("module") not in ran]


def _cpus() -> int:
    import os

    return os.cpu_count() or 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
