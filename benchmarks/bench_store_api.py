"""Benchmark of the documented Python API bulk write, `Transaction.upsert_rows` (D-19.430 to D-19.433): one
call of `API_BULK_ROWS` (10,000) lab rows, as a lab feed writes them, into a synthetic study of
`SUBJECTS` subjects (every other form imported first, so that the edit checks read real subjects), on
SQLite and on PostgreSQL.

Recorded per backend: the call inserting the rows (field rules, edit checks, audit), the same call again
(every row unchanged: nothing written) and a call changing every row's value (the changed rows: one UPDATE
per run of rows changing the same columns and one audit row per changed value, D-19.512; target as new rows,
`previous_seconds` the figure before it).
Each is the median of `REPEATS` (default 3) runs into a fresh database; building the study is not timed.
`before_seconds`: the same call on the code before D-19.433 (commit a38598d in a detached worktree, this
module run against it once, load average 2 to 4; the row-by-row reads take minutes, so not per run).
Timings are recorded here, never asserted in tests. PostgreSQL: `$CARTRIAL_BENCH_POSTGRES_URL` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``), a fresh schema per run; without a reachable server
its entries are recorded as not run.
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

from benchmarks.bench_store import POSTGRES_URL, PROTOCOL, postgres_schema, synthetic_lab_rows

API_BULK_ROWS = 10_000
SUBJECTS = 20
"""Subjects of the synthetic study: 675 lab rows each, so the first 10,000 rows are of 15 subjects."""
REPEATS = int(os.environ.get("CARTRIAL_BENCH_STORE_API_REPEATS", "3"))
BEFORE_SECONDS = {
    ("sqlite", "insert"): 15.8,
    ("sqlite", "update"): 24.6,
    ("sqlite", "unchanged"): 2.9,
    ("postgresql", "insert"): 37.7,
    ("postgresql", "update"): 44.6,
    ("postgresql", "unchanged"): 7.9,
}
"""Seconds of each call on the code before D-19.433 (a38598d, one run each, D-19.438)."""
TARGET_SECONDS = 10.0
"""D-19.433: the call writing 10,000 new lab rows (before it, about 40 s on this study); D-19.512: the
call changing them as well (set-based like new rows)."""
TARGETS = {"insert": "D-19.433", "update": "D-19.512"}
"""The calls with a target (`TARGET_SECONDS`) and its decision; the unchanged call is recorded only."""
PREVIOUS_SECONDS = {("sqlite", "update"): 20.3, ("postgresql", "update"): 15.4}
"""The changed rows' call before D-19.512 (row-by-row UPDATEs, the edit checks run on the state before
every row): median of 3 runs recorded by D-19.438 (load average 4 to 7)."""


def time_calls(url: str, others: Path, rows: list[dict[str, Any]]) -> dict[str, float]:
    """Initialise a study at `url`, import the forms in `others`, then time the three calls."""
    from cartrial.store import StudyService, connect
    from cartrial.store.importing import import_templates
    from cartrial.store.study_setup import init_study

    init_study(url, PROTOCOL, "admin")
    import_templates(url, others, "admin")
    service = StudyService(connect(url))
    changed = [{**row, "value": row["value"] + 0.5} if "value" in row else row for row in rows]

    def call(given: list[dict[str, Any]]) -> tuple[float, Any]:
        start = time.perf_counter()
        with service.as_user("admin").transaction(source="lab feed", reason="benchmark") as tx:
            result = tx.upsert_rows("lab_result", given)
        return time.perf_counter() - start, result

    try:
        insert, inserted = call(rows)
        unchanged, same = call(rows)
        update, updated = call(changed)
    finally:
        service.engine.dispose()
    assert inserted.inserted == len(rows) and same.unchanged == len(rows), (inserted, same)
    assert updated.updated == sum("value" in row for row in rows), updated
    return {"insert": insert, "unchanged": unchanged, "update": update}


def _entries(backend: str, runs: list[dict[str, float]], common: dict[str, Any]) -> list[dict[str, Any]]:
    best = {kind: statistics.median(run[kind] for run in runs) for kind in runs[0]}
    n = common["rows"]
    words = {
        "insert": "new lab rows",
        "unchanged": "unchanged rows (nothing written)",
        "update": "stored lab rows each changing one value",
    }
    return [
        {
            "name": f"store_api_upsert_rows_{kind}_{n}_lab_rows_{backend}_seconds",
            "value": seconds,
            "unit": "s",
            "target": (
                f"≤ {TARGET_SECONDS:g} s for one call of {n} {words[kind]} ({TARGETS[kind]})"
                if kind in TARGETS
                else f"recorded: one call of {n} {words[kind]} (D-19.433)"
            ),
            "meets_target": seconds <= TARGET_SECONDS if kind in TARGETS else True,
            "rows_per_second": n / seconds,
            "repeats": len(runs),
            "statistic": "median",
            "before_seconds": BEFORE_SECONDS[backend, kind],
            "before_source": "a38598d, one run (D-19.433)",
            **(
                {
                    "previous_seconds": PREVIOUS_SECONDS[backend, kind],
                    "previous_source": "before D-19.512: median of 3 runs recorded by D-19.438",
                }
                if (backend, kind) in PREVIOUS_SECONDS
                else {}
            ),
            **common,
            "backend": backend,
        }
        for kind, seconds in best.items()
    ]


def _measure(make_url: Callable[[], Any], others: Path, rows: list[dict[str, Any]]) -> list[dict[str, float]]:
    runs = []
    for _ in range(REPEATS):
        with make_url() as url:
            runs.append(time_calls(url, others, rows))
    return runs


def run() -> list[dict[str, Any]]:
    from contextlib import contextmanager

    from cartrial.store.importing import write_synthetic_study

    entries: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="cartrial-bench-store-api-") as tmp:
        folder = Path(tmp) / "study"
        write_synthetic_study(folder, SUBJECTS)
        others = Path(tmp) / "others"
        others.mkdir()
        for file in folder.glob("*.csv"):
            if file.name != "labs.csv":
                shutil.copy(file, others / file.name)
        rows = synthetic_lab_rows(folder, API_BULK_ROWS, numbers=True)
        load = [round(x, 2) for x in os.getloadavg()]
        common = {"rows": len(rows), "subjects": SUBJECTS, "load_average": load}

        counter = iter(range(1_000_000))

        @contextmanager
        def sqlite_url() -> Any:
            yield f"sqlite:///{Path(tmp) / f'api{next(counter)}.db'}"

        entries += _entries("sqlite", _measure(sqlite_url, others, rows), common)
        try:
            runs = _measure(lambda: postgres_schema(POSTGRES_URL), others, rows)
        except Exception as exc:  # no server: recorded, not fatal for the other benchmarks
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            entries.append(
                {
                    "name": "store_api_upsert_rows_postgresql_not_run",
                    "value": 0.0,
                    "unit": "s",
                    "target": "D-19.433 on PostgreSQL",
                    "meets_target": False,
                    "reason": reason,
                    **common,
                }
            )
            return entries
        entries += _entries("postgresql", runs, common)
    return entries
