"""A lab run at grade >= 3 is one run across a transient dip (D-19.1309).

Protocol template DLT (NCT06958939, ct103a-nmosd-trial.md §4): "grade 3 haematological toxicity lasting > 7
days". EHA/EBMT 2023 ICAHT (toxicity-grading.md §5.1, §5.4, option H2): episodes separated by a recovery
shorter than 3 days are one episode; ANC recovery (CIBMTR) is three consecutive values on different days
above the threshold. Expected values are hand computed from those rules.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.grading import lab_events, lab_runs
from cartrial.grading.ctcae import ANALYTES, Analyte

PLT = ANALYTES.index(Analyte.PLATELETS)
INFUSED = datetime(2024, 1, 10, 8, tzinfo=UTC)


def runs_of(days: list[float], grades: list[int], **kwargs: object) -> list[tuple[float, float | None, int]]:
    times = [INFUSED + timedelta(days=d) for d in days]
    runs = lab_runs(["S1"] * len(days), times, np.array([PLT] * len(days)), np.array(grades), **kwargs)  # type: ignore[arg-type]
    return [(e.onset_day, e.duration_days, e.grade) for e in lab_events(runs, {"S1": INFUSED})]


def test_one_grade_2_result_inside_a_grade_3_run_does_not_split_it() -> None:
    # grade 3 on day 1, grade 2 on day 3 only, grade 3 on days 4 and 8, recovered from day 10 (3 values):
    # one run day 1 -> day 10, 9 days (> 7 days: the DLT rule's duration); was (1, 2) and (4, 6)
    assert runs_of([1, 3, 4, 8, 10, 11, 12], [3, 2, 3, 3, 1, 1, 1]) == [(1.0, 9.0, 3)]


def test_three_values_below_on_different_days_are_a_recovery() -> None:
    # grade 2 on days 3, 4 and 5 (three values on different days): the run ends on day 3; day 6 starts anew
    assert runs_of([1, 3, 4, 5, 6], [3, 2, 2, 2, 4]) == [(1.0, 2.0, 3), (6.0, None, 4)]


def test_two_values_on_one_day_count_as_one_day_of_recovery() -> None:
    # below on day 3 (twice) and day 4: two days, not a recovery; back to grade 3 on day 5 (D-19.1311: on
    # day 6 the carried value makes day 5 a third day of recovery)
    assert runs_of([1, 3, 3.5, 4, 5, 9, 10, 11], [3, 2, 1, 2, 3, 1, 1, 1]) == [(1.0, 8.0, 3)]


def test_a_dip_at_the_last_results_ends_the_run_at_its_first_value() -> None:
    # no later result at grade >= 3: the run ends at the first value below (as far as known)
    assert runs_of([1, 3, 5], [4, 2, 2]) == [(1.0, 2.0, 4)]


def test_one_recovery_result_option_keeps_the_former_rule() -> None:
    assert runs_of([1, 3, 4, 8, 10], [3, 2, 3, 3, 1], min_recovery_days=1) == [(1.0, 2.0, 3), (4.0, 6.0, 3)]


@settings(max_examples=property_examples(80), deadline=None)
@given(
    st.lists(st.integers(3, 4), min_size=2, max_size=6),
    st.data(),
)
def test_a_single_dip_never_changes_the_runs(grades: list[int], data: st.DataObject) -> None:
    # property: one result below grade 3 between two results at grade >= 3 (days apart) gives the same run
    # as without it, and the recovery after it (three values) ends the run at the same day
    days = [float(2 * k + 1) for k in range(len(grades))]
    tail_days, tail = [days[-1] + 2, days[-1] + 3, days[-1] + 4], [1, 1, 1]
    where = data.draw(st.integers(0, len(grades) - 2))
    dip_day = days[where] + 1
    dip_grade = data.draw(st.integers(0, 2))
    without = runs_of(days + tail_days, grades + tail)
    dipped_days = [*days[: where + 1], dip_day, *days[where + 1 :], *tail_days]
    dipped = [*grades[: where + 1], dip_grade, *grades[where + 1 :], *tail]
    assert runs_of(dipped_days, dipped) == without == [(1.0, days[-1] + 2 - 1, max(grades))]


def test_graded_events_keep_the_run_across_a_dip_and_record_the_option() -> None:
    import pandas as pd
    import pytest

    from cartrial.errors import InputError
    from cartrial.grading import derive_graded_events

    # platelets x10^9/L, LLN 150: 40 (grade 3, CTCAE v5.0 < 50-25), 60 (grade 2), 40, 40, then 160 x3
    days = ["2024-01-11", "2024-01-13", "2024-01-14", "2024-01-18", "2024-01-20", "2024-01-21", "2024-01-22"]
    labs = pd.DataFrame(
        {
            "subject_id": ["S1"] * 7,
            "collected_at": days,
            "analyte": ["platelets"] * 7,
            "value": [40, 60, 40, 40, 160, 160, 160],
            "unit": ["10^9/L"] * 7,
            "lln": [150] * 7,
        }
    )
    infused = pd.DataFrame({"subject_id": ["S1"], "infused_at": ["2024-01-10"]})
    result = derive_graded_events(infused, labs=labs, pre_treatment=[False] * 7)
    assert result.table[["onset_day", "duration_days", "grade"]].values.tolist() == [[1.0, 9.0, 3]]
    assert result.options["lab_min_recovery_days"] == 3
    with pytest.raises(InputError, match="lab_min_recovery_days"):
        derive_graded_events(infused, labs=labs, pre_treatment=[False] * 7, lab_min_recovery_days=0)
