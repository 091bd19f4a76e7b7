"""TEAEs by term: the row's category on a tie, and for a term with no category recorded (D-19.1242).

The row of a term is shown under its most frequent recorded category; on a tie, the category whose stored
code comes first alphabetically (``min`` over (−count, code)), so that the row does not depend on the order
of the records; blank when none of the term's events has a category. Expected values by hand from the
records below (CT-001 … CT-003 are infused in the example study, onset 2021-08-01 after every infusion).
"""

from __future__ import annotations

import pandas as pd
import pytest

from cartrial.analysis import Analysis
from cartrial.analysis.toxicity import adverse_event_datasets
from cartrial.store.snapshot import StudySnapshot


def _by_term(
    snapshot: StudySnapshot, analysis: Analysis, records: list[tuple[str, str, str]]
) -> pd.DataFrame:
    template = snapshot.tables["adverse_events"].iloc[0].to_dict()
    frame = pd.DataFrame(
        [
            template
            | {
                "subject_id": sid,
                "term": term,
                "category": category,
                "started_on": "2021-08-01",
                "ended_on": "",
                "grade": "2",
                "serious": "false",
                "record_id": str(91000 + i),
            }
            for i, (sid, term, category) in enumerate(records)
        ]
    )
    tables = dict(snapshot.tables) | {"adverse_events": frame}
    return adverse_event_datasets(tables, analysis.populations)["teae_by_term"].table


TIE = [("CT-001", "Pyrexia", "non_hematologic"), ("CT-002", "Pyrexia", "infection")]


@pytest.mark.parametrize("records", [TIE, TIE[::-1]])
def test_a_tie_is_the_category_first_alphabetically(
    snapshot: StudySnapshot, analysis: Analysis, records: list[tuple[str, str, str]]
) -> None:
    # one record each: "infection" < "non_hematologic", whichever record comes first
    row = _by_term(snapshot, analysis, records).set_index("term").loc["Pyrexia"]
    assert (row["category"], row["n_subjects"], row["n_events"]) == ("infection", 2, 2)


def test_the_more_frequent_category_wins_over_the_alphabet(
    snapshot: StudySnapshot, analysis: Analysis
) -> None:
    records = [*TIE, ("CT-003", "Pyrexia", "non_hematologic")]
    row = _by_term(snapshot, analysis, records).set_index("term").loc["Pyrexia"]
    assert (row["category"], row["n_subjects"]) == ("non_hematologic", 3)


def test_a_term_with_no_category_recorded_is_shown_under_a_blank_one(
    snapshot: StudySnapshot, analysis: Analysis
) -> None:
    records = [("CT-001", "Nausea", ""), ("CT-002", "Nausea", ""), ("CT-003", "Pyrexia", "non_hematologic")]
    by_term = _by_term(snapshot, analysis, records)
    assert list(zip(by_term["category"], by_term["term"], by_term["n_subjects"], strict=True)) == [
        ("", "Nausea", 2),  # a blank category sorts first
        ("non_hematologic", "Pyrexia", 1),
    ]
