"""A cytopenia that began before the infusion and persists after it is evaluated by the DLT rules from day 0
(D-19.1191).

The protocol's haematological DLT (template NCT06958939, ct103a-nmosd-trial.md §4): "grade 3 haematological
toxicity lasting > 7 days not due to the underlying disease (lymphopenia from lymphodepletion excluded)". Only
lymphopenia from lymphodepletion is excluded, so a neutropenia from lymphodepletion (days -4 to -2) that
persists after the infusion is a haematological toxicity inside the DLT window (days 0-28), counted from
day 0;
EHA/EBMT 2023 ICAHT likewise counts days ≤ 500/µL from day 0 whatever their start. Before this rule the whole
run had its onset before day 0 and was never in the window, however long it lasted after the infusion.

Hand derivation (infusion 2024-01-10 07:00 UTC; CTCAE v5.0 neutrophils: < 0.5 grade 4, < 1.0-0.5 grade 3):
ANC 0.3 on day -3 (grade 4), 0.7 on day 3 and 0.8 on day 7 (grade 3), 2.0 on day 11 (grade 0). The run of
grade ≥ 3 lasts from day -3 to day 11. Split at the infusion: before it, days -3 to 0 (3 days, grade 4); from
it, days 0 to 11 (11 days), grade 4 (the count in effect at the infusion is the day -3 result, carried as the
run construction carries every result until the next one). 11 > 7 days: a DLT by the protocol's rule.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

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
    exclude_underlying_disease=True,
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


def _events(days_values: list[tuple[int, float]]) -> list[GradedEvent]:
    table = derive_graded_events(
        INFUSIONS, labs=_labs(days_values), pre_treatment=[False] * len(days_values)
    ).table
    out = []
    for row in table.to_dict("records"):
        duration = row["duration_days"]
        ongoing = row["ongoing_at_day"]
        out.append(
            GradedEvent(
                str(row["subject_id"]),
                "hematologic",
                str(row["term"]),
                int(row["grade"]),
                str(row["scale"]),
                float(row["onset_day"]),
                duration_days=None if pd.isna(duration) else float(duration),
                ongoing_at_day=None if pd.isna(ongoing) else float(ongoing),
            )
        )
    return out


def test_run_across_the_infusion_is_split_at_day_0() -> None:
    events = _events([(-3, 0.3), (3, 0.7), (7, 0.8), (11, 2.0)])
    assert [(e.onset_day, e.duration_days, e.grade) for e in events] == [(-3.0, 3.0, 4), (0.0, 11.0, 4)]


def test_persisting_pre_infusion_neutropenia_is_a_dlt() -> None:
    verdicts = [assess_dlt(e, [RULE], 28) for e in _events([(-3, 0.3), (3, 0.7), (7, 0.8), (11, 2.0)])]
    assert [v.is_dlt for v in verdicts] == [False, True]


def test_in_window_part_lasting_7_days_or_less_is_not_a_dlt() -> None:
    # days -10 to 7 at grade >= 3: 17 days in all, only 7 after the infusion (not > 7)
    events = _events([(-10, 0.3), (-3, 0.4), (3, 0.7), (7, 1.6)])
    assert [(e.onset_day, e.duration_days) for e in events] == [(-10.0, 10.0), (0.0, 7.0)]
    assert not any(assess_dlt(e, [RULE], 28).is_dlt for e in events)
    # no result at grade >= 3 after the infusion (the first one, day 7, is grade 1): no part from day 0
    # (D-19.1194; changed by design, this case gave (0.0, 7.0) from the carried day -3 count)
    events = _events([(-10, 0.3), (-3, 0.4), (7, 1.6)])
    assert [(e.onset_day, e.duration_days) for e in events] == [(-10.0, 10.0)]


def test_grade_after_the_infusion_is_the_count_in_effect_and_later_results() -> None:
    # grade 4 before the infusion, grade 3 after: the count in effect at day 0 (0.3, grade 4) is carried
    events = _events([(-2, 0.3), (2, 0.7), (9, 0.9), (12, 1.5)])
    assert [(e.onset_day, e.grade) for e in events] == [(-2.0, 4), (0.0, 4)]
    # a result at the infusion instant belongs to the part from day 0
    events = _events([(-2, 0.9), (0, 0.3), (12, 1.5)])
    assert [(e.onset_day, e.duration_days, e.grade) for e in events] == [(-2.0, 2.0, 3), (0.0, 12.0, 4)]


def test_unresolved_run_across_the_infusion_is_ongoing_from_day_0() -> None:
    events = _events([(-3, 0.3), (4, 0.4), (10, 0.4)])
    assert [(e.onset_day, e.duration_days, e.ongoing_at_day) for e in events] == [
        (-3.0, 3.0, None),
        (0.0, None, 10.0),
    ]
    assert [assess_dlt(e, [RULE], 28).is_dlt for e in events] == [False, True]


def test_run_that_ended_before_the_infusion_is_unchanged() -> None:
    events = _events([(-6, 0.3), (-2, 1.6), (5, 1.7)])
    assert [(e.onset_day, e.duration_days) for e in events] == [(-6.0, 4.0)]
