"""A caller's tables (the Python API, `analyse(snapshot)` with the user's own frames, e.g. a template CSV
read with ``pandas.read_csv(path, dtype=str)``) may spell a true/false field as the import accepts it —
``Yes``, ``Y``, ``1``, ``t`` in any case (`cartrial.columns.BOOL_ALLOWED`). The analysis compares the cells
with ``true``: a serious adverse event entered "Yes" was counted not serious and an investigator's DLT flag
"Y" was not a flag, silently, where `cartrial db import` of the same file counts both. The snapshot tables
now read those words as the import does, and refuse any other word by table, column and row, never its
value (D-19.1078)."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from cartrial.analysis import analyse
from cartrial.errors import InputError
from cartrial.store.snapshot import StudySnapshot, snapshot_table


def _with(snapshot: StudySnapshot, edits: list[tuple[str, str, str, str]]) -> StudySnapshot:
    ae = snapshot.tables["adverse_events"].copy()
    for subject, term, column, value in edits:
        rows = ae.index[(ae["subject_id"] == subject) & (ae["term"] == term)]
        assert len(rows) == 1
        ae.loc[rows[0], column] = value
    return dataclasses.replace(snapshot, tables=dict(snapshot.tables) | {"adverse_events": ae})


def test_import_words_count_as_the_import_reads_them(snapshot: StudySnapshot) -> None:
    # the example: one serious TEAE (CT-006 pneumonia, stored "true"), no investigator DLT flag
    edited = _with(
        snapshot,
        [
            ("CT-006", "Pneumonia", "serious", "YES"),  # stays serious
            ("CT-001", "Anaemia", "serious", "Yes"),  # now serious
            ("CT-002", "Upper respiratory tract infection", "serious", "n"),
            # onset 2021-06-14, infused 2021-06-08: day 6 of the 28-day DLT window
            ("CT-003", "Alanine aminotransferase increased", "dlt", " Y "),
        ],
    )
    analysis = analyse(edited)
    summary = analysis.datasets["teae_summary"].table
    row = summary[(summary["group"] == "all") & (summary["measure"] == "serious_teae")].iloc[0]
    # by hand: CT-001 and CT-006 have a serious TEAE, of the 12 infused
    assert (int(row["k"]), int(row["n"])) == (2, 12)
    assert row["subjects"] == "CT-001;CT-006"
    membership = analysis.datasets["populations"].table.set_index("subject_id")
    assert bool(membership.loc["CT-003", "investigator_dlt_in_window"])
    assert not membership.drop(index="CT-003")["investigator_dlt_in_window"].astype(bool).any()


def test_a_word_that_is_not_true_or_false_is_refused_by_its_row(snapshot: StudySnapshot) -> None:
    ae = snapshot.tables["adverse_events"]
    edited = _with(snapshot, [("CT-004", "Urinary tract infection", "serious", "probably")])
    with pytest.raises(InputError) as caught:
        analyse(edited)
    text = str(caught.value)
    assert "adverse_events.serious" in text and "true/false" in text
    assert "probably" not in text  # never the value (D-12.2)
    # the table's own check names the 1-based row of the caller's frame
    with pytest.raises(InputError) as direct:
        snapshot_table("adverse_events", edited.tables["adverse_events"])
    position = int(ae.index[(ae["subject_id"] == "CT-004") & (ae["term"] == "Urinary tract infection")][0])
    assert direct.value.problems[0].row == position + 1


def test_mixed_python_booleans_and_words() -> None:
    frame = pd.DataFrame(
        {
            "subject_id": ["A", "A", "A", "A"],
            "term": ["x", "y", "z", "w"],
            "category": ["non_hematologic"] * 4,
            "started_on": ["2021-01-01"] * 4,
            "grade": ["1"] * 4,
            "serious": [True, "no", None, "T"],
        }
    )
    table = snapshot_table("adverse_events", frame)
    assert dict(zip(table["term"], table["serious"], strict=True)) == {
        "x": "true",
        "y": "false",
        "z": "",
        "w": "true",
    }
