"""D-19.265: the dataset notes counted their nouns with "(s)" ("2 adverse event(s) before ...", "1
subject-analyte profile(s) ...", "disposition not read for 1 subject(s)") and `escalation_replay` said its
deviations twice ("0 decision(s) with a protocol deviation" next to the engine's "0 of 3 decisions with a
protocol deviation"). Every note is now worded by `cartrial.wording` and the replay states its count
once.

Expected forms: English agreement of a noun with the number before it (singular for 1, plural for 0 and more;
"k of n <noun>" agrees with n), as in tests/analysis/test_finding_wording.py."""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.analysis import analyse
from cartrial.analysis.core import _disposition_notes
from cartrial.analysis.kinetics import COVERED_SUFFIX, _coverage_notes, _left_out_notes
from cartrial.analysis.model import Analysis
from cartrial.store.snapshot import StudySnapshot

from .test_finding_wording import wrong_forms

NOUNS = r"subjects?|profiles?|values?|adverse events?|decisions?|tables?"


def counted_wrong(text: str) -> list[str]:
    """`wrong_forms` plus the nouns of the notes ("1 subjects", "2 subject-analyte profile", "(s)")."""
    found = wrong_forms(text)
    for match in re.finditer(rf"(?<![\d.,–-])(\d+) ((?:[A-Za-z-]+ ){{0,2}}?)({NOUNS})(?![-\w])", text):
        n, head = int(match.group(1)), match.group(3)
        if (n == 1) == head.endswith("s"):
            found.append(match.group(0))
    return found


def test_the_replay_states_its_deviations_once(analysis: Analysis) -> None:
    dataset = analysis.datasets["escalation_replay"]
    about = [note for note in dataset.notes if "protocol deviation" in note]
    n = len(dataset.table)
    k = int((dataset.table["deviation"] != "").sum())
    assert about == [f"{k} of {n} recorded decision{'' if n == 1 else 's'} with a protocol deviation"]


def test_no_note_of_the_example_has_a_counted_noun_wrong(analysis: Analysis) -> None:
    for name, dataset in analysis.datasets.items():
        for note in dataset.notes:
            assert not counted_wrong(note), (name, note)


def test_one_adverse_event_before_lymphodepletion_is_singular(snapshot: StudySnapshot) -> None:
    """CT-001's first adverse event moved to 2020-01-01, before its lymphodepletion: 1 event not TEAE."""
    tables = dict(snapshot.tables)
    events = tables["adverse_events"].copy()
    first = events.index[events["subject_id"] == "CT-001"][0]
    events.loc[first, "started_on"] = "2020-01-01"
    events.loc[first, "ended_on"] = "2020-01-02"
    tables["adverse_events"] = events
    notes = analyse(dataclasses.replace(snapshot, tables=tables)).datasets["teae_listing"].notes
    assert notes[0].startswith("1 adverse event before the first lymphodepletion dose is not ")


@settings(max_examples=property_examples(40), deadline=None)
@given(st.integers(0, 4), st.integers(0, 4))
def test_disposition_notes_agree_with_their_counts(unread: int, undated: int) -> None:
    membership = pd.DataFrame(
        {
            "subject_id": [f"U{i}" for i in range(unread)] + [f"D{i}" for i in range(undated)],
            "study_status": [""] * unread + ["COMPLETED"] * undated,
            "end_of_study_date": [""] * (unread + undated),
        }
    )
    notes = _disposition_notes(membership)
    assert len(notes) == (unread > 0) + (undated > 0)
    for note in notes:
        assert not counted_wrong(note), note
    if unread:
        assert f"disposition not read for {unread} subject{'' if unread == 1 else 's'} (" in notes[0]


@settings(max_examples=property_examples(40), deadline=None)
@given(st.integers(0, 4), st.integers(0, 4), st.integers(0, 4))
def test_pk_notes_agree_with_their_counts(partial: int, all_blq: int, zeros: int) -> None:
    rows = (
        [{"n_samples": 5, "n_blq": 0, "auc": 10.0, "auc" + COVERED_SUFFIX: False, "last_sample_time": 20}]
        * partial
        + [{"n_samples": 4, "n_blq": 4, "auc": None, "auc" + COVERED_SUFFIX: True, "last_sample_time": 90}]
        * all_blq
        + [{"n_samples": 5, "n_blq": 1, "auc": 0.0, "auc" + COVERED_SUFFIX: True, "last_sample_time": 90}]
        * zeros
    )
    columns = ["n_samples", "n_blq", "auc", "auc" + COVERED_SUFFIX, "last_sample_time"]
    nca = pd.DataFrame(rows, columns=columns)
    nca.insert(0, "analyte", "car_t")
    nca.insert(0, "subject_id", [f"S{i}" for i in range(len(nca))])
    notes = _coverage_notes(nca, ("auc",), "covered") + _left_out_notes(nca, ("auc",), "covered")
    assert len(notes) == (partial > 0) + (all_blq > 0) + (zeros > 0)
    for note in notes:
        assert "(s)" not in note and not counted_wrong(note), note
    if zeros:
        assert f"auc: {zeros} value{'' if zeros == 1 else 's'} of 0," in notes[-1]
