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


@pytest.mark.parametrize("word", ["yes\xa0", "\u3000yes", "no\u200b"])
def test_a_word_with_an_edge_character_the_import_refuses_is_refused(word: str) -> None:
    # the import trims only its blanks (space, tab, line ends: `cartrial.columns.BLANKS`) and refuses
    # "yes" + U+00A0 (`parse_bool`: not true or false); `str.strip()` took it as "yes" (D-19.1082)
    frame = pd.DataFrame(
        {
            "subject_id": ["A", "A"],
            "term": ["x", "y"],
            "category": ["non_hematologic"] * 2,
            "started_on": ["2021-01-01"] * 2,
            "grade": ["1"] * 2,
            "serious": [" Yes\t", word],
        }
    )
    with pytest.raises(InputError) as caught:
        snapshot_table("adverse_events", frame)
    (problem,) = caught.value.problems
    assert (problem.field, problem.row, problem.value) == ("adverse_events.serious", 2, None)


def test_many_rows_are_read_word_by_word() -> None:
    # a column of many rows repeating a few words (the vectorised path, D-19.1083): each row read as the
    # import reads its word, in the caller's row order; the store's own true/false text is kept as it is
    words = ["Yes", "n", "", "TRUE", "0", "t"] * 500
    expected = {"Yes": "true", "n": "false", "": "", "TRUE": "true", "0": "false", "t": "true"}
    frame = pd.DataFrame(
        {
            "subject_id": ["A"] * len(words),
            "term": [f"t{i:05d}" for i in range(len(words))],
            "category": ["non_hematologic"] * len(words),
            "started_on": ["2021-01-01"] * len(words),
            "grade": ["1"] * len(words),
            "serious": words,
        }
    )
    table = snapshot_table("adverse_events", frame).set_index("term")
    assert table.loc[frame["term"], "serious"].tolist() == [expected[w] for w in words]
    stored = frame.assign(serious=[expected[w] for w in words])
    assert snapshot_table("adverse_events", stored)["serious"].tolist() == stored["serious"].tolist()
    bad = frame.assign(serious=[*words[:-1], "maybe"])
    with pytest.raises(InputError) as caught:
        snapshot_table("adverse_events", bad)
    assert caught.value.problems[0].row == len(words)


def test_report_listings_read_the_flags_typed_y(snapshot: StudySnapshot) -> None:
    # the report's listings and the DLT evaluation read the snapshot's one true/false text (D-19.1084):
    # "Y" in a caller's table (no word the old listing filter {"true", "1", "yes"} knew) is listed
    from cartrial.report.render import _listing_datasets

    edited = _with(
        snapshot,
        [
            ("CT-001", "Anaemia", "serious", "Y"),
            ("CT-003", "Alanine aminotransferase increased", "dlt", "Y"),
        ],
    )
    listings = _listing_datasets(analyse(edited))
    flagged = listings["investigator_dlt_listing"][1]
    assert list(zip(flagged["subject_id"], flagged["term"], strict=True)) == [
        ("CT-003", "Alanine aminotransferase increased")
    ]
    serious = listings["serious_ae_listing"][1]
    assert ("CT-001", "Anaemia") in set(zip(serious["subject_id"], serious["term"], strict=True))
