"""A cytopenia present before the treatment-emergent period that worsens after it is treatment-emergent from
the worse result (D-19.1196); `derive_graded_events` requires the labs' baseline flags (D-19.1197).

ICH E9 glossary: treatment-emergent = "An event that emerges during treatment, having been absent
pre-treatment, or worsens relative to the pre-treatment state". The pre-treatment state is the baseline
grade: the grade of the last result before the treatment-emergent period
(the project's baseline, D-19.710; ADaMIG ABLFL).

Hand derivations (CTCAE v5.0 neutrophils, LLN 1.8: < 0.5 x10^9/L grade 4, 0.5 to < 1.0 grade 3, 1.0 to < 1.5
grade 2, >= 1.8 grade 0); infusion 2024-01-10T07:00Z, every result at 07:00Z (days are whole):

(a) ANC 0.8 day -28 (baseline, grade 3), 0.2 day 1 (grade 4), 0.2 day 15, 2.0 day 20: the run is pre-existing
    from day -28 to the worse result on day 1 (29 days, grade 3, pre-existing), then treatment-emergent from
    day 1 to day 20 (19 days, grade 4): a DLT by "grade >= 3 lasting > 7 days". Before the fix: one event
    (day -28, 48 days, grade 4), not a DLT.
(b) ANC 0.3 day -28 (grade 4), 0.8 day -10 (grade 3, the last before the period: baseline 3), 0.3 day 2,
    0.3 day 12, 2.0 day 14: worse than the baseline from day 2: (day 2, 12 days, grade 4), a DLT. (Against
    the worst pre-treatment grade, 4, it would not be worse: the baseline is the last value, D-19.1196.)
(c) ANC 0.8 day -28, 0.9 day 3, 0.8 day 12, 2.0 day 14: never worse than grade 3: one pre-existing event
    (day -28, 42 days, grade 3), no DLT (D-19.1195 unchanged).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import InputError
from cartrial.escalation.dlt import assess_dlt
from cartrial.grading import derive_graded_events
from cartrial.protocol import GradedEvent
from cartrial.protocol.dlt import DltRule

RULE = DltRule(
    id="hematologic_grade_3_over_7_days",
    description="Grade >= 3 haematological toxicity lasting > 7 days, excluding lymphopenia",
    category="hematologic",
    min_grade=3,
    min_duration_days=7,
    exclude_terms=["lymphocyte count decreased", "lymphopenia"],
)
DAY0 = dt.date(2024, 1, 10)
INFUSIONS = pd.DataFrame({"subject_id": ["S1"], "infused_at": ["2024-01-10T07:00:00Z"]})


def _labs(days_values: list[tuple[int, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject_id": ["S1"] * len(days_values),
            "collected_at": [f"{DAY0 + dt.timedelta(days=d)}T07:00:00Z" for d, _ in days_values],
            "analyte": ["neutrophils"] * len(days_values),
            "value": [v for _, v in days_values],
            "unit": ["10^9/L"] * len(days_values),
            "lln": [1.8] * len(days_values),
        }
    )


def _events(days_values: list[tuple[int, float]], pre_treatment: list[bool]) -> list[GradedEvent]:
    table = derive_graded_events(INFUSIONS, labs=_labs(days_values), pre_treatment=pre_treatment).table
    return [
        GradedEvent(
            str(row["subject_id"]),
            "hematologic",
            str(row["term"]),
            int(row["grade"]),
            str(row["scale"]),
            float(row["onset_day"]),
            duration_days=None if pd.isna(row["duration_days"]) else float(row["duration_days"]),
            ongoing_at_day=None if pd.isna(row["ongoing_at_day"]) else float(row["ongoing_at_day"]),
            pre_existing=bool(row["pre_existing"]),
        )
        for row in table.to_dict("records")
    ]


def _shape(events: list[GradedEvent]) -> list[tuple[float, float | None, int, bool]]:
    return [(e.onset_day, e.duration_days, e.grade, e.pre_existing) for e in events]


def _dlts(events: list[GradedEvent]) -> list[bool]:
    return [assess_dlt(e, [RULE], 28).is_dlt for e in events]


def test_a_pre_existing_cytopenia_that_worsens_is_a_dlt_from_the_worse_result() -> None:
    events = _events([(-28, 0.8), (1, 0.2), (15, 0.2), (20, 2.0)], [True, False, False, False])
    assert _shape(events) == [(-28.0, 29.0, 3, True), (1.0, 19.0, 4, False)]
    assert _dlts(events) == [False, True]


def test_worse_is_relative_to_the_last_value_before_the_period() -> None:
    values = [(-28, 0.3), (-10, 0.8), (2, 0.3), (12, 0.3), (14, 2.0)]
    events = _events(values, [True, True, False, False, False])
    assert _shape(events) == [(-28.0, 30.0, 4, True), (2.0, 12.0, 4, False)]
    assert _dlts(events) == [False, True]


def test_a_pre_existing_cytopenia_not_worse_stays_pre_existing() -> None:
    events = _events([(-28, 0.8), (3, 0.9), (12, 0.8), (14, 2.0)], [True, False, False, False])
    assert _shape(events) == [(-28.0, 42.0, 3, True)]
    assert _dlts(events) == [False]
    # a pre-existing event is no DLT even when its onset is in the window (the engine's mark, D-19.1196)
    inside = GradedEvent("S1", "hematologic", "Neutrophil count decreased", 3, "CTCAE v5.0", 2.0, 20.0)
    assert assess_dlt(inside, [RULE], 28).is_dlt
    marked = GradedEvent(
        "S1", "hematologic", "Neutrophil count decreased", 3, "CTCAE v5.0", 2.0, 20.0, pre_existing=True
    )
    assert not assess_dlt(marked, [RULE], 28).is_dlt


def test_labs_without_baseline_flags_are_refused() -> None:
    with pytest.raises(InputError) as caught:
        derive_graded_events(INFUSIONS, labs=_labs([(-3, 0.3), (3, 0.7), (9, 2.0)]))
    assert "pre_treatment" in str(caught.value)


VALUES = (0.3, 0.7, 1.2, 2.0)  # grades 4, 3, 2, 0


@settings(max_examples=property_examples(120), deadline=None, suppress_health_check=list(HealthCheck))
@given(
    before=st.lists(st.sampled_from(VALUES), min_size=0, max_size=3),
    lymphodepletion=st.lists(st.sampled_from(VALUES), min_size=0, max_size=2),
    after=st.lists(st.sampled_from(VALUES), min_size=1, max_size=6),
    data=st.data(),
)
def test_a_worse_post_infusion_count_never_removes_a_dlt(
    before: list[float], lymphodepletion: list[float], after: list[float], data: st.DataObject
) -> None:
    days = [-30 + 3 * k for k in range(len(before))] + [-4 + k for k in range(len(lymphodepletion))]
    days += [1 + 4 * k for k in range(len(after))]
    flags = [True] * len(before) + [False] * (len(lymphodepletion) + len(after))
    values = [*before, *lymphodepletion, *after]
    k = data.draw(st.integers(len(values) - len(after), len(values) - 1))
    worse = data.draw(st.sampled_from([v for v in VALUES if v < values[k]] or [values[k]]))
    changed = [*values[:k], worse, *values[k + 1 :]]
    old = any(_dlts(_events(list(zip(days, values, strict=True)), flags)))
    new = any(_dlts(_events(list(zip(days, changed, strict=True)), flags)))
    assert new or not old
