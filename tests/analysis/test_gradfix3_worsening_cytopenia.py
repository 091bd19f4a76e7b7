"""A cytopenia present at screening that worsens after the infusion is assessed as a DLT from the worse result
(D-19.1196), through the analysis (`study_populations`, as `analyse` runs it).

ICH E9 glossary: treatment-emergent = emerges during treatment having been absent pre-treatment, or worsens
relative to the pre-treatment state (the baseline grade: the last value before the treatment-emergent period,
D-19.710).

Hand derivation: CT-003 (site TJH, Asia/Shanghai) was lymphodepleted from 2021-06-04 and infused
2021-06-08T01:45Z. Its neutrophils (CTCAE v5.0: 0.5 to < 1.0 x10^9/L grade 3, < 0.5 grade 4) replaced by ANC
0.8 on 2021-05-14 (before lymphodepletion: baseline, grade 3), 0.2 on 2021-06-09 and 2021-06-23 (grade 4) and
2.0 on 2021-06-28, all at 01:00Z. Grade 4 on 06-09 is worse than the baseline grade 3: the pre-existing part
runs from 05-14 (onset -25.03 days) to 06-09 (26 days, grade 3, pre-existing, not a DLT); the worse part from
06-09T01:00Z (onset 23.25 h = 0.97 days) to 06-28 (19 days, grade 4) is a DLT by the example protocol's
"grade 3 haematological toxicity lasting > 7 days". Before the fix: one event, onset -25.03, grade 4, 45 days,
not a DLT. Without the 05-14 value the run is treatment-emergent: onset 0.97, grade 4, 19 days, a DLT (the
same verdict).
"""

from __future__ import annotations

import pandas as pd

from cartrial.store.snapshot import StudySnapshot

from .test_grading2_pre_existing_cytopenia import _neutropenia

WORSE = [
    ("2021-06-09T01:00:00Z", "0.2"),
    ("2021-06-23T01:00:00Z", "0.2"),
    ("2021-06-28T01:00:00Z", "2.0"),
]


def _shape(table: pd.DataFrame) -> list[tuple[float, float, int, bool, bool]]:
    return [
        (
            round(float(r["onset_day"]), 2),
            round(float(r["duration_days"]), 2),
            int(r["grade"]),
            bool(r["pre_existing"]),
            bool(r["is_dlt"]),
        )
        for r in table.to_dict("records")
    ]


def test_a_screening_cytopenia_that_worsens_after_the_infusion_is_a_dlt(snapshot: StudySnapshot) -> None:
    table = _neutropenia(snapshot, [("2021-05-14T01:00:00Z", "0.8"), *WORSE])
    assert _shape(table) == [(-25.03, 26.0, 3, True, False), (0.97, 19.0, 4, False, True)]
    assert "pre-existing" in str(table.at[0, "not_fired"])
    assert str(table.at[1, "not_fired"]) == ""


def test_without_the_screening_value_the_same_dlt(snapshot: StudySnapshot) -> None:
    table = _neutropenia(snapshot, WORSE)
    assert _shape(table) == [(0.97, 19.0, 4, False, True)]
