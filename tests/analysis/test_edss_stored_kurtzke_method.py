"""A stored EDSS assessment recorded by the Kurtzke method is scored from its walking distance and aid
(D-19.739), not from the Neurostatus ambulation score column.

Kurtzke JF, Neurology 1983;33:1444 (docs/science/neuro-outcomes.md §1.5, §1.7): without aid or rest,
>= 500 m: the step is set by the functional systems; about 300 m: 4.5; about 200 m: 5.0; about 100 m: 5.5.
The edited visit has every FS 0 (Kurtzke 1983: 0.0 from the FS), so the EDSS is the walking step alone,
expected by hand at each boundary: 500 m -> 0.0, 499 m -> 4.5, 300 m -> 4.5, 299 m -> 5.0, 200 m -> 5.0,
199 m -> 5.5, 100 m -> 5.5. Before: the row's `ambulation` column (here 0) was read, the distance ignored
(EDSS 0.0 at every distance).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from cartrial.analysis import analyse
from cartrial.neuro.edss_scale import FS_NAMES
from cartrial.store.snapshot import read_snapshot

BOUNDARIES = {500.0: 0.0, 499.0: 4.5, 300.0: 4.5, 299.0: 5.0, 200.0: 5.0, 199.0: 5.5, 100.0: 5.5}


def test_a_kurtzke_assessment_is_scored_from_its_walking_distance(example_sqlite_template: Path) -> None:
    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date(2022, 3, 20))
    edss = snapshot.tables["edss"].copy()
    for column in ("method", "walking_distance_m", "assistance"):
        edss[column] = edss.get(column, "").astype(object)
    rows = edss.index[: len(BOUNDARIES)]
    for row, metres in zip(rows, BOUNDARIES, strict=True):
        for name in FS_NAMES:
            edss.loc[row, name] = "0"
        edss.loc[row, ["ambulation", "method", "walking_distance_m", "assistance"]] = [
            "0",
            "kurtzke",
            str(metres),
            "none",
        ]
    changed = dataclasses.replace(snapshot, tables={**snapshot.tables, "edss": edss})
    scored = analyse(changed).datasets["edss_scored"].table.set_index("record_id")["edss"]
    got = {
        metres: float(scored[edss.loc[row, "record_id"]])
        for row, metres in zip(rows, BOUNDARIES, strict=True)
    }
    assert got == BOUNDARIES
