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

import pytest

from cartrial.analysis import analyse
from cartrial.neuro.edss_scale import FS_NAMES
from cartrial.store.snapshot import read_snapshot

BOUNDARIES = {500.0: 0.0, 499.0: 4.5, 300.0: 4.5, 299.0: 5.0, 200.0: 5.0, 199.0: 5.5, 100.0: 5.5}


@pytest.fixture(scope="module")
def snapshot(example_sqlite_template: Path):  # type: ignore[no-untyped-def]
    return read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date(2022, 3, 20))


@pytest.mark.parametrize(("metres", "expected"), sorted(BOUNDARIES.items()))
def test_a_kurtzke_assessment_is_scored_from_its_walking_distance(
    snapshot, metres: float, expected: float
) -> None:  # type: ignore[no-untyped-def]
    edss = snapshot.tables["edss"].copy()
    row = edss.index[0]
    for name in FS_NAMES:
        edss.loc[row, name] = "0"
    edss.loc[row, "ambulation"] = "0"
    edss["method"] = edss.get("method", "").astype(object)
    edss.loc[row, "method"] = "kurtzke"
    edss["walking_distance_m"] = edss.get("walking_distance_m", "").astype(object)
    edss.loc[row, "walking_distance_m"] = str(metres)
    edss["assistance"] = edss.get("assistance", "").astype(object)
    edss.loc[row, "assistance"] = "none"
    changed = dataclasses.replace(snapshot, tables={**snapshot.tables, "edss": edss})
    scored = analyse(changed).datasets["edss_scored"].table
    record = scored[scored["record_id"] == edss.loc[row, "record_id"]]
    assert len(record) == 1
    assert float(record["edss"].iloc[0]) == expected
