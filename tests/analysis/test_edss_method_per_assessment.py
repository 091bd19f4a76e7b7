"""Stored EDSS assessments of one subject by two methods (D-19.741-D-19.743).

- D-19.742: CT-002's last two visits are recorded by the Kurtzke method (constant bilateral aid, 150 m;
  every FS 0). Kurtzke JF, Neurology 1983;33:1444 (docs/science/neuro-outcomes.md §1.7): 6.5 is constant
  bilateral aid for about 20 m; more than 20 m is a gap of the text scored 6.5 by default
  (`KurtzkeGapOptions.bilateral_over_20m_step`). The Neurostatus visits (ambulation 0, every FS 0) are 0.0
  (Neurostatus-EDSS: all FS 0 and fully ambulatory). So baseline 0.0, last 6.5 (hand); the table names each
  visit's method, the engine metadata the methods used and the Kurtzke gap rules, the title no longer says
  "Neurostatus rules", and a note names the subject whose later visits switch method (`method_switch`).
  Before: options said {"method": "neurostatus_16"}, no gap rules, title "(Neurostatus rules)", no note.
- D-19.743: a Kurtzke visit on the same date as a Neurostatus visit of the subject is refused by the
  form's date check naming both records; before, each method was checked alone and the later check said
  "two EDSS visits on the same day (got [...])", the stored days in the message and no record (D-12.2).
- D-19.741: a stored Kurtzke row without its walking aid is refused naming record and field, no value.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cartrial.analysis.core import study_tables
from cartrial.analysis.efficacy import edss_datasets
from cartrial.analysis.model import Population
from cartrial.analysis.populations import SAFETY
from cartrial.errors import InputError
from cartrial.neuro.edss_scale import FS_NAMES
from cartrial.store.snapshot import read_snapshot


@pytest.fixture(scope="module")
def stored(example_sqlite_template: Path) -> Any:
    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date(2022, 3, 20))
    edss = snapshot.tables["edss"].copy()
    for column in ("method", "walking_distance_m", "assistance"):
        edss[column] = edss.get(column, "").astype(object)
    return snapshot, edss


class _Analysis:
    def __init__(self, datasets: dict[str, Any]) -> None:
        self.datasets = datasets


def _analyse(stored: Any, edss: pd.DataFrame) -> Any:
    """The EDSS datasets of `analyse` (`edss_datasets`, what `analyse` calls) on the snapshot with `edss`."""
    snapshot, _ = stored
    tables = study_tables({**snapshot.tables, "edss": edss}, dict(snapshot.time_zones or {}))
    ids = tuple(dict.fromkeys(str(s) for s in tables["infusions"]["subject_id"]))
    populations = {SAFETY: Population(SAFETY, "infused", ids, {})}
    return _Analysis(edss_datasets(tables, snapshot.cutoff, populations, []))


def test_a_method_switch_is_recorded_and_noted(stored: Any) -> None:
    edss = stored[1].copy()
    rows = edss.index[edss["subject_id"] == "CT-002"]
    edss.loc[rows, list(FS_NAMES)] = "0"
    edss.loc[rows, "ambulation"] = "0"
    edss.loc[rows[-2:], ["method", "walking_distance_m", "assistance"]] = ["kurtzke", "150", "bilateral"]
    result = _analyse(stored, edss)
    scored = result.datasets["edss_scored"]
    own = scored.table[scored.table["subject_id"] == "CT-002"]
    assert own["edss"].tolist() == [0.0, 0.0, 0.0, 6.5, 6.5]
    assert own["edss_method"].tolist() == ["neurostatus_16"] * 3 + ["kurtzke"] * 2
    assert "Neurostatus rules" not in scored.title
    options = scored.metadata()["engine"][0]["options"]
    assert options["methods"] == ["kurtzke", "neurostatus_16"]
    assert options["kurtzke_gaps"]["bilateral_over_20m_step"] == 6.5
    change = result.datasets["edss_change"]
    row = change.table.set_index("subject_id").loc["CT-002"]
    assert (row["baseline_edss"], row["last_edss"], bool(row["method_switch"])) == (0.0, 6.5, True)
    assert not change.table.loc[change.table["subject_id"] != "CT-002", "method_switch"].any()
    assert [n for n in change.notes if "method" in n and "CT-002" in n]


def test_a_same_day_visit_by_the_other_method_is_named_by_record(stored: Any) -> None:
    edss = stored[1].copy()
    rows = edss.index[edss["subject_id"] == "CT-001"]
    edss.loc[rows[1], ["method", "walking_distance_m", "assistance"]] = ["kurtzke", "100", "none"]
    edss.loc[rows[1], "assessed_at"] = edss.loc[rows[2], "assessed_at"]
    with pytest.raises(InputError) as caught:
        _analyse(stored, edss)
    first, second = (str(edss.loc[r, "record_id"]) for r in rows[1:3])
    problems = caught.value.problems
    assert {p.field for p in problems} == {"assessed_at"}
    text = str(caught.value)
    assert f"record {first}" in text and f"record {second}" in text
    assert "got [" not in text and "same day" not in text


def test_a_stored_kurtzke_row_without_its_aid_is_refused_by_record_and_field(stored: Any) -> None:
    edss = stored[1].copy()
    edss.loc[edss.index[0], "method"] = "kurtzke"
    with pytest.raises(InputError) as caught:
        _analyse(stored, edss)
    (problem,) = caught.value.problems
    assert problem.field == "assistance" and problem.value in ("", None)
    assert f"record {edss.loc[edss.index[0], 'record_id']}" in str(caught.value)


def test_a_walking_range_switch_is_not_evaluable_and_counted_in_the_finding(stored: Any) -> None:
    """D-19.746: CT-002 baseline 0.0 (Neurostatus) and 6.5 (Kurtzke, bilateral aid 150 m) afterwards: the
    later visits are in the walking range (>= 4.0), where the methods differ by 0.5, so by default
    (``method_switch=exclude``) the confirmed change is not evaluable: flagged, noted, and counted in the
    EDSS improvement finding (not as "baseline leaves no room to improve")."""
    from cartrial.analysis.findings import efficacy_findings

    snapshot, edss = stored[0], stored[1].copy()
    rows = edss.index[edss["subject_id"] == "CT-002"]
    edss.loc[rows, list(FS_NAMES)] = "0"
    edss.loc[rows, "ambulation"] = "0"
    edss.loc[rows[-2:], ["method", "walking_distance_m", "assistance"]] = ["kurtzke", "150", "bilateral"]
    tables = study_tables({**snapshot.tables, "edss": edss}, dict(snapshot.time_zones or {}))
    ids = tuple(dict.fromkeys(str(s) for s in tables["infusions"]["subject_id"]))
    populations = {SAFETY: Population(SAFETY, "infused", ids, {})}
    datasets = edss_datasets(tables, snapshot.cutoff, populations, [])
    change = datasets["edss_change"]
    row = change.table.set_index("subject_id").loc["CT-002"]
    # not evaluable is pd.NA, never False (changed by design, review 3: a blank, not a non-worsener)
    assert bool(row["method_switch_excluded"]) and row["worsening_confirmed"] is pd.NA
    assert not change.table.loc[change.table["subject_id"] != "CT-002", "method_switch_excluded"].any()
    assert [n for n in change.notes if "not evaluable for 1 subject (CT-002)" in n]
    texts = [f.statement for f in efficacy_findings(datasets, populations, None, ("edss",))]
    (improvement,) = [t for t in texts if t.startswith("Confirmed EDSS improvement")]
    assert "not evaluable: 1" in improvement and "CT-002" in improvement.split("not evaluable: 1")[1]
    # review 4: CT-002's baseline 0.0 cannot improve (that reason stands); only its worsening is not
    # evaluable for the switch, named in its own sentence
    assert "no room to improve under the improvement definition: CT-002." in improvement
    assert "Confirmed improvement not evaluable" not in improvement
    assert improvement.split("Confirmed worsening not evaluable: ")[1].endswith(": CT-002.")
    row = change.table.set_index("subject_id").loc["CT-002"]
    assert bool(row["worsening_switch_excluded"]) and not bool(row["improvement_switch_excluded"])
