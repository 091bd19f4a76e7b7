"""Benchmark of single-record writes (D-19.567): what a site's form save, an API client's POST or PATCH of
one record and `cartrial db edit` cost, on a synthetic study of `SUBJECTS` subjects (the store benchmark's
generator, every form but the labs imported first, so that the edit checks read real subjects) on SQLite.

Recorded (median of `WRITES` calls after one warm-up, in milliseconds):

- ``validate_record`` of one whole lab record and of one whole CRS assessment (the import's field rules,
  rules between fields and the engine's form validator on one record; no database);
- a new lab record as the API / web form writes it: `typed_record_values` of the typed text, then
  `StudyUser.insert_record` (field rules, edit checks, audit, one transaction);
- a reasoned change of one CRS assessment's temperature as the web load test's writers send it
  (`typed_record_values`, then `StudyUser.update_record`: field rules before the audit-chain lock, the
  write and the edit checks inside it).

`before_ms` / `before_cpu_ms`: the same figures on the code before D-19.567 (this module run against
fa153e00's `src` on the same machine just before the recorded run, load average about 5 from other
processes: compare the CPU figures, which depend least on that load). Timings are recorded here, never
asserted in tests.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.bench_store import PROTOCOL, synthetic_lab_rows

SUBJECTS = int(os.environ.get("CARTRIAL_BENCH_SINGLE_SUBJECTS", "50"))
WRITES = int(os.environ.get("CARTRIAL_BENCH_SINGLE_WRITES", "100"))
BEFORE_MS: dict[str, float] = {
    "validate_record_lab_result": 8.76,
    "validate_record_crs_assessment": 27.24,
    "insert_lab_result": 72.01,
    "update_crs_assessment": 75.91,
}
"""Median wall-clock milliseconds of each entry on the code before D-19.567 (fa153e00, same machine)."""
BEFORE_CPU_MS: dict[str, float] = {
    "validate_record_lab_result": 4.72,
    "validate_record_crs_assessment": 11.48,
    "insert_lab_result": 22.03,
    "update_crs_assessment": 23.85,
}
"""Median CPU milliseconds of each entry on the code before D-19.567."""
TARGET_MS = {
    "validate_record_lab_result": None,
    "validate_record_crs_assessment": None,
    "insert_lab_result": None,
    "update_crs_assessment": None,
}
"""The target of each entry in milliseconds (None: recorded only)."""


def _median_ms(call: Callable[[], object], n: int) -> tuple[float, float]:
    """Median wall-clock and CPU (process time: what does not depend on other processes' load)
    milliseconds of `n` calls after one warm-up call."""
    call()  # warm-up: first-call imports and caches are not what a loaded server pays
    wall, cpu = [], []
    for _ in range(n):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000


def measure(tmp: Path) -> dict[str, tuple[float, float]]:
    """Build the study in `tmp` and time each single-record call (milliseconds)."""
    from sqlalchemy import text

    from cartrial.store import StudyService, connect
    from cartrial.store.fields import study_protocol, typed_record_values, validate_record
    from cartrial.store.importing import import_templates, write_synthetic_study
    from cartrial.store.study_setup import init_study

    folder = tmp / "study"
    write_synthetic_study(folder, SUBJECTS)
    others = tmp / "others"
    others.mkdir()
    for file in folder.glob("*.csv"):
        if file.name != "labs.csv":
            shutil.copy(file, others / file.name)
    labs = synthetic_lab_rows(folder, 2 * WRITES + 2, numbers=False)
    url = f"sqlite:///{tmp / 'single.db'}"
    init_study(url, PROTOCOL, "admin")
    import_templates(url, others, "admin")
    service = StudyService(connect(url))
    user = service.as_user("admin")
    try:
        with service.engine.connect() as connection:
            protocol = study_protocol(connection)
            crs = (
                connection.execute(text("SELECT * FROM crs_assessment ORDER BY id LIMIT 40")).mappings().all()
            )
        stored_crs = {
            k: v for k, v in crs[0].items() if k not in ("id", "version", "created_at", "updated_at")
        }
        lab = typed_record_values("lab_result", labs[-1], protocol=protocol)
        results = {
            "validate_record_lab_result": _median_ms(
                lambda: validate_record("lab_result", lab, protocol=protocol), WRITES
            ),
            "validate_record_crs_assessment": _median_ms(
                lambda: validate_record("crs_assessment", stored_crs, protocol=protocol), WRITES
            ),
        }
        rows = iter(labs)

        def insert() -> None:
            values = typed_record_values("lab_result", next(rows), protocol=protocol)
            user.insert_record("lab_result", values, "web")

        versions = {int(r["id"]): int(r["version"]) for r in crs}
        ids = list(versions)
        count = iter(range(1_000_000))

        def update() -> None:
            n = next(count)
            record_id = ids[n % len(ids)]
            typed = {"temperature_c": f"{36.0 + (n % 14) / 10:.1f}"}
            values = typed_record_values("crs_assessment", typed, protocol=protocol)
            versions[record_id] = user.update_record(
                "crs_assessment", record_id, values, versions[record_id], "benchmark correction", "web"
            )

        results["insert_lab_result"] = _median_ms(insert, WRITES)
        results["update_crs_assessment"] = _median_ms(update, WRITES)
    finally:
        service.engine.dispose()
    return results


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="cartrial-bench-single-") as tmp:
        results = measure(Path(tmp))
    load = [round(x, 2) for x in os.getloadavg()]
    entries = []
    for name, (ms, cpu_ms) in results.items():
        target = TARGET_MS[name]
        entries.append(
            {
                "name": f"store_single_{name}_ms",
                "value": ms,
                "unit": "ms",
                "target": f"≤ {target:g} ms median (D-19.567)"
                if target is not None
                else "recorded (D-19.567)",
                "meets_target": True if target is None else ms <= target,
                "cpu_ms": cpu_ms,
                "before_ms": BEFORE_MS.get(name),
                "before_cpu_ms": BEFORE_CPU_MS.get(name),
                "before_source": "fa153e00, this module, same machine, load average about 5 (D-19.567)",
                "statistic": "median",
                "writes": WRITES,
                "subjects": SUBJECTS,
                "load_average": load,
                "backend": "sqlite",
            }
        )
    return entries


if __name__ == "__main__":
    for entry in run():
        print(entry["name"], round(entry["value"], 2), "ms wall;", round(entry["cpu_ms"], 2), "ms CPU")
