"""The responder engine scores each EDSS row by its own method, as `edss_scored` does (one scoring per
record; D-19.746).

Kurtzke JF, Neurology 1983;33:1444 (docs/science/neuro-outcomes.md §1.7): 6.0 = unilateral constant aid to
walk about 100 m; every FS 0 with full ambulation (Neurostatus ambulation 0) is 0.0 (Neurostatus-EDSS,
neurostatus.net v04/10.2). Hand: a Kurtzke baseline (FS 0, unilateral aid, 100 m) is 6.0 and a Neurostatus
follow-up (FS 0, ambulation 0) is 0.0, so `edss_decrease_0_5` counts one responder of one. Before: the
responder engine scored every row by Neurostatus, reading the Kurtzke row's stale ``ambulation`` 0 (0.0 ->
0.0, no responder), and a Kurtzke row with ``ambulation`` blank stopped `analyse` ("ambulation: value is
required") although the store accepts it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd

from cartrial.analysis import analyse
from cartrial.neuro.derive import derive_responders
from cartrial.neuro.edss_scale import FS_NAMES
from cartrial.store.snapshot import read_snapshot


def test_a_kurtzke_baseline_is_scored_by_kurtzke_for_responders() -> None:
    rows = [
        {"assessed_at": "2021-01-01", "ambulation": "0", "method": "kurtzke", "assistance": "unilateral",
         "walking_distance_m": "100"},
        {"assessed_at": "2021-07-01", "ambulation": "0", "method": "", "assistance": "",
         "walking_distance_m": ""},
    ]  # fmt: skip
    edss = pd.DataFrame(
        [{"subject_id": "S1", **dict.fromkeys(FS_NAMES, "0"), **r} for r in rows], dtype=object
    )
    # a Kurtzke baseline and a Neurostatus follow-up in the walking range: evaluated as scored only with
    # method_switch=include (the default excludes it, D-19.746; tests/neuro/test_responders_method_switch.py)
    result = derive_responders(
        {"S1": dt.date(2021, 1, 2)}, edss=edss, definitions=["edss_decrease_0_5"], method_switch="include"
    )
    (summary,) = result.summaries
    (subject,) = summary.subjects
    assert (subject.baseline, subject.follow_up) == ({"edss": 6.0}, {"edss": 0.0})
    assert (summary.n_evaluable, summary.n_responders) == (1, 1)


def test_analyse_runs_on_a_store_with_kurtzke_rows_without_ambulation(example_sqlite_template: Path) -> None:
    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date(2022, 3, 20))
    edss = snapshot.tables["edss"].copy()
    for column in ("method", "walking_distance_m", "assistance"):
        edss[column] = edss.get(column, "").astype(object)
    later = edss.index[edss["subject_id"] == "CT-001"][3:]
    edss.loc[later, ["ambulation", "method", "assistance", "walking_distance_m"]] = [
        "",
        "kurtzke",
        "none",
        "500",
    ]
    changed = dataclasses.replace(snapshot, tables={**snapshot.tables, "edss": edss})
    result = analyse(changed)
    scored = result.datasets["edss_scored"].table
    assert scored.loc[later, "edss_method"].tolist() == ["kurtzke", "kurtzke"]
    by_subject = result.datasets["responders_by_subject"].table
    assert "CT-001" in set(by_subject["subject_id"])
