"""TEAEs by term: a term recorded under more than one AE category is one row, each subject counted once
(D-19.1242).

`teae_by_term` grouped by (category, term): a term whose records carry two categories (the store does not
require one; one record blank, or one miscategorised) was two rows, a subject with both records counted in
each — while ADaM ADAE flags a subject's first occurrence of the term once (AOCCPFL by USUBJID and AEDECOD,
the same term grouping, D-19.932).

Hand count from the example study (adverse_events.csv): "Upper respiratory tract infection" in CT-002
(grade 1), CT-009 (grade 2), CT-011 (grade 1), all category "infection". Added: CT-002 the same term on
2021-07-20 at grade 2, category `other` (blank, or non_hematologic). By hand: one row, category
"infection" (3 of its 4 records), 3 subjects, 4 events; worst grades CT-002 max(1, 2) = 2, CT-009 2,
CT-011 1: worst grade 1 in 1, grade 2 in 2.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from cartrial.analysis import analyse
from cartrial.store.snapshot import StudySnapshot

URTI = "Upper respiratory tract infection"


@pytest.mark.parametrize("other", ["", "non_hematologic"])
def test_a_term_under_two_categories_is_one_row(snapshot: StudySnapshot, other: str) -> None:
    frame = snapshot.tables["adverse_events"]
    added = frame[(frame["subject_id"] == "CT-002") & (frame["term"] == URTI)].copy()
    added = added.assign(category=other, started_on="2021-07-20", ended_on="2021-07-25", grade="2")
    added["record_id"] = "99101"
    tables = dict(snapshot.tables) | {"adverse_events": pd.concat([frame, added], ignore_index=True)}
    result = analyse(dataclasses.replace(snapshot, tables=tables))
    by_term = result.datasets["teae_by_term"].table
    rows = by_term[by_term["term"] == URTI]
    assert len(rows) == 1  # two before, CT-002 in both
    row = rows.iloc[0]
    assert (row["category"], row["n_subjects"], row["n_events"]) == ("infection", 3, 4)
    assert [row[f"worst_grade_{g}"] for g in range(1, 6)] == [1, 2, 0, 0, 0]
    # a blank category is none recorded: a second category only when another is written
    noted = any("more than one category" in n for n in result.datasets["teae_by_term"].notes)
    assert noted == bool(other)
