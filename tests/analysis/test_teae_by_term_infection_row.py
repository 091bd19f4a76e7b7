"""TEAEs by term: a term's row is under its most frequent category (D-19.1242), while the infection incidence
(`teae_by_subject.infection`, `teae_summary`) reads each event's own category. A subject whose event of a
term shown under "infection" was not recorded as an infection is in the infection row and not an infection
subject (and the reverse): the dataset says how many such subjects there are.

Expected counts by hand from the records below (CT-001 … CT-003 infused in the example study; onset
2021-08-01, after every infusion)."""

from __future__ import annotations

import pandas as pd

from cartrial.analysis import Analysis
from cartrial.analysis.toxicity import adverse_event_datasets
from cartrial.store.snapshot import StudySnapshot

from .test_note_wording import counted_wrong


def _datasets(snapshot: StudySnapshot, analysis: Analysis, categories: list[str]) -> dict:
    template = snapshot.tables["adverse_events"].iloc[0].to_dict()
    frame = pd.DataFrame(
        [
            template
            | {
                "subject_id": f"CT-00{i + 1}",
                "term": "Pyrexia",
                "category": category,
                "started_on": "2021-08-01",
                "ended_on": "",
                "grade": "2",
                "serious": "false",
                "record_id": str(92000 + i),
            }
            for i, category in enumerate(categories)
        ]
    )
    return adverse_event_datasets(dict(snapshot.tables) | {"adverse_events": frame}, analysis.populations)


def _infection_notes(datasets: dict) -> list[str]:
    return [n for n in datasets["teae_by_term"].notes if "recorded as an infection" in n]


def test_a_subject_in_the_infection_row_without_an_infection_record_is_said(
    snapshot: StudySnapshot, analysis: Analysis
) -> None:
    datasets = _datasets(snapshot, analysis, ["infection", "infection", ""])
    row = datasets["teae_by_term"].table.set_index("term").loc["Pyrexia"]
    assert (row["category"], row["n_subjects"]) == ("infection", 3)
    by_subject = datasets["teae_by_subject"].table.set_index("subject_id")
    assert int(by_subject["infection"].sum()) == 2  # CT-003's event is not recorded as an infection
    (note,) = _infection_notes(datasets)
    assert note.startswith("1 subject in a row of category infection without an event of the term recorded ")
    assert not counted_wrong(note)


def test_a_subject_with_an_infection_record_in_another_row_is_said(
    snapshot: StudySnapshot, analysis: Analysis
) -> None:
    datasets = _datasets(snapshot, analysis, ["non_hematologic", "non_hematologic", "infection"])
    row = datasets["teae_by_term"].table.set_index("term").loc["Pyrexia"]
    assert row["category"] == "non_hematologic"
    assert int(datasets["teae_by_subject"].table["infection"].sum()) == 1  # CT-003
    (note,) = _infection_notes(datasets)
    assert note.startswith(
        "1 subject with an event of the term recorded as an infection in a row of another "
    )


def test_no_note_when_every_row_agrees(snapshot: StudySnapshot, analysis: Analysis) -> None:
    assert _infection_notes(_datasets(snapshot, analysis, ["infection", "infection", "infection"])) == []
    assert _infection_notes(_datasets(snapshot, analysis, ["non_hematologic", "", "non_hematologic"])) == []
