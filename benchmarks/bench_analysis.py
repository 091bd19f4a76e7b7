"""Benchmark of the analysis at scale (decisions §13): the store benchmark's 1,000-subject synthetic study
(about one million rows) imported into a fresh SQLite database (not timed), then the snapshot at a cut-off
after the last record and the whole analysis plan (`read_snapshot` + `analyse`).

Target (issue 13): analyse of the 1,000-subject synthetic study ≤ 60 s on SQLite. Recorded: snapshot and
analysis seconds, wall clock and CPU (`time.process_time`, this process), and the machine's load average
(`os.getloadavg()`) before and after: the benchmark machine is shared, and under load the wall clock measures
the queue for a core more than the work (one run; the import dominates the set-up and is measured by
bench_store).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from cartrial import examples as cartrial_examples

PROTOCOL = cartrial_examples.path("ct103a-nmosd") / "protocol.yaml"
N_SUBJECTS = 1_000
CUTOFF = dt.date(2024, 6, 30)
"""After every synthetic record (the synthetic study's infusions span at most 100 weeks from 2021-01-04 and
its last assessment is day 365, 2023-12-04) and before today (a later cut-off is refused, D-19.380): the
analysis sees the whole study."""
TARGET_SECONDS = 60.0
TARGET_TEXT = "≤ 60 s for analyse of the 1,000-subject synthetic study on SQLite (decisions §13)"


def run() -> list[dict[str, Any]]:
    from cartrial.analysis import analyse
    from cartrial.store.importing import import_templates, write_synthetic_study
    from cartrial.store.snapshot import read_snapshot
    from cartrial.store.study_setup import init_study

    with tempfile.TemporaryDirectory(prefix="cartrial-bench-analysis-") as tmp:
        folder = Path(tmp) / "study"
        write_synthetic_study(folder, N_SUBJECTS)
        url = f"sqlite:///{Path(tmp) / 'study.db'}"
        init_study(url, PROTOCOL, "admin")
        import_templates(url, folder, "admin")
        load_before = os.getloadavg()
        start, cpu_start = time.perf_counter(), time.process_time()
        snapshot = read_snapshot(url, CUTOFF)
        snapshot_seconds = time.perf_counter() - start
        snapshot_cpu = time.process_time() - cpu_start
        analysis = analyse(snapshot)
        total = time.perf_counter() - start
        total_cpu = time.process_time() - cpu_start
        load_after = os.getloadavg()
    return [
        {
            "name": "analyse_synthetic_1000_subjects_sqlite",
            "value": total,
            "unit": "s",
            "target": TARGET_TEXT,
            "meets_target": total <= TARGET_SECONDS,
            "subjects": N_SUBJECTS,
            "snapshot_seconds": snapshot_seconds,
            "analyse_seconds": total - snapshot_seconds,
            "cpu_seconds": total_cpu,
            "cpu_meets_target": total_cpu <= TARGET_SECONDS,
            "snapshot_cpu_seconds": snapshot_cpu,
            "analyse_cpu_seconds": total_cpu - snapshot_cpu,
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in load_after],
            "datasets": len(analysis.datasets),
        }
    ]
