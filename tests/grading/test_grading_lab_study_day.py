"""`derive_lab_grades(..., infusions=...)`: the study day and baseline flag of each haematology result, the
rule the analysis layer reads instead of computing it itself (issue 11: each derivation exists once)."""

from __future__ import annotations

import pandas as pd
import pytest

from cartrial.errors import InputError
from cartrial.grading import derive_icaht, derive_lab_grades

INFUSED = pd.DataFrame({"subject_id": ["S1"], "infused_at": ["2024-01-10T09:00:00Z"]})


def labs(subjects: list[str], times: list[str]) -> pd.DataFrame:
    n = len(times)
    return pd.DataFrame(
        {
            "subject_id": subjects,
            "collected_at": times,
            "analyte": ["neutrophils"] * n,
            "value": [1.0] * n,
            "unit": ["10^9/L"] * n,
            "lln": [1.8] * n,
        }
    )


def test_study_day_counts_calendar_days_and_baseline_is_before_the_infusion_time() -> None:
    # hand count: infusion 10 Jan 09:00 UTC is day 0; 9 Jan is day -1; 31 Jan is day 21
    times = ["2024-01-09T12:00:00Z", "2024-01-10T08:00:00Z", "2024-01-10T10:00:00Z", "2024-01-31T08:00:00Z"]
    table = derive_lab_grades(labs(["S1"] * 4, times), infusions=INFUSED).table
    assert table["study_day"].tolist() == [-1, 0, 0, 21]
    assert table["collected_before_infusion"].tolist() == [True, True, False, False]


def test_study_day_is_the_day_axis_of_derive_icaht() -> None:
    # ANC 0.4 x10^9/L = 400/µL on day 7 only (day 14 recovered): one day <= 500/µL -> early ICAHT grade 1
    frame = labs(["S1", "S1"], ["2024-01-17", "2024-01-24"]).assign(value=[0.4, 2.0])
    days = derive_lab_grades(frame, infusions=INFUSED).table["study_day"].tolist()
    icaht = derive_icaht(frame, INFUSED).table.iloc[0]
    assert days == [7, 14]
    assert (icaht["early_grade"], icaht["early_days_anc_le_500"]) == (1, 1)


def test_a_subject_without_infusion_is_a_located_problem() -> None:
    frame = labs(["S1", "S2"], ["2024-01-12", "2024-01-12"])
    with pytest.raises(InputError, match="no infusion"):
        derive_lab_grades(frame, infusions=INFUSED)
    result = derive_lab_grades(frame, infusions=INFUSED, keep_going=True)
    assert [p.row for p in result.problems] == [3]  # header = row 1, S2 is row 3
    assert result.table["study_day"].tolist()[0] == 2
    assert pd.isna(result.table["study_day"].tolist()[1])


def test_without_infusions_the_columns_are_absent() -> None:
    table = derive_lab_grades(labs(["S1"], ["2024-01-12"])).table
    assert "study_day" not in table and "collected_before_infusion" not in table
