"""D-19.788/D-19.790 end to end: `graded_icaht` (the analysis) → `derive_icaht` → `grade_icaht` on the example
study, so the rename of grading's `late_lower_bound` to the dataset's `late_icaht_lower_bound` is exercised.

CT-001 (infused 2021-04-27, day 0) keeps its example counts of days 0-30; its later neutrophil counts are
replaced by 0.8 ×10^9/L (800/µL) on day 35 (2021-06-01) and 0.09 (90/µL) on day 45 (2021-06-11), followed to
day 200. By hand (EHA/EBMT 2023 late table): the second-lowest late value is 800 → grade 2; one more value at
90 makes it 90 → grade 4: a lower bound. A count of 0.09 on day 101 (2021-08-06) keeps it one (D-19.790)."""

from __future__ import annotations

import pandas as pd

from cartrial.analysis.safety import graded_icaht
from cartrial.store.snapshot import StudySnapshot

SUBJECT = "CT-001"


def _tables(snapshot: StudySnapshot, late: list[tuple[str, str]]) -> dict[str, pd.DataFrame]:
    tables = dict(snapshot.tables)
    labs = tables["labs"]
    mine = (labs["subject_id"] == SUBJECT) & (labs["analyte"] == "neutrophils")
    after_day_30 = labs["collected_at"].astype(str).str[:10] > "2021-05-27"
    kept = labs[~(mine & after_day_30)]
    template = labs[mine].iloc[0].to_dict()
    added = [template | {"collected_at": at, "value": value} for at, value in late]
    tables["labs"] = pd.concat([kept, pd.DataFrame(added)], ignore_index=True)
    return tables


def test_the_late_lower_bound_reaches_the_analysis_dataset(snapshot: StudySnapshot) -> None:
    late = [("2021-06-01T07:00:00Z", "0.8"), ("2021-06-11T07:00:00Z", "0.09")]
    for extra in ([], [("2021-08-06T07:00:00Z", "0.09")]):
        table = graded_icaht(_tables(snapshot, late + extra), {SUBJECT: 200}).table
        row = table[table["subject_id"] == SUBJECT].iloc[0]
        assert int(row["late_icaht_grade"]) == 2
        assert bool(row["late_icaht_lower_bound"]) is True
        assert "at least" in str(row["late_icaht_rule"])
    # without a follow-up day (and no later count) the last count is the end of follow-up: no bound
    row = graded_icaht(_tables(snapshot, late)).table.set_index("subject_id").loc[SUBJECT]
    assert bool(row["late_icaht_lower_bound"]) is False
