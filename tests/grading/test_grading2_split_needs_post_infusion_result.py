"""A run open at the infusion is split there only as far as the results after the infusion show it
(D-19.1194), and only when it began in the treatment-emergent period (D-19.1195).

Hand derivations (CTCAE v5.0 neutrophils: < 0.5 x10^9/L grade 4, 0.5 to < 1.0 grade 3, LLN 1.8):

(a) infusion 2024-01-10 (a date, read as 00:00 UTC); ANC 0.3 on 2024-01-07 (grade 4), 2.0 on 2024-01-10
    (grade 0, at the infusion instant). The run of grade >= 3 is days -3 to 0 (3 days, grade 4); the first
    result at or after the infusion is below grade 3, so there is no part from day 0 (the old split gave one
    at day 0.0 lasting 0 days at grade 4, "in the window").
(b) infusion 2024-01-10T07:00Z; ANC 0.3 on day -3, 2.0 on day 9, nothing between: the first result after the
    infusion is below grade 3, no grade >= 3 was ever measured after the infusion, so the run ends at the
    infusion: one event, days -3 to 0 (the old split gave day 0, 9 days, grade 4: a DLT with no
    post-infusion result at all).
(c) the first result after the infusion at grade >= 3 (0.7 on day 3): the part from day 0 opens with the
    count in effect (grade 4) — D-19.1191 unchanged.
(d) a run begun before the treatment-emergent period (ANC 0.8 on day -28, a baseline value; 0.9 on day -3;
    2.0 on day 9): pre-existing, not split; its one event starts on day -28 (outside the window). With every
    row in the treatment-emergent period (0.9 on day -3 in lymphodepletion) the run is split as before.
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
)
DAY0 = dt.date(2024, 1, 10)


def _labs(days_values: list[tuple[int, float]], clock: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject_id": ["S1"] * len(days_values),
            "collected_at": [f"{DAY0 + dt.timedelta(days=d)}{clock}" for d, _ in days_values],
            "analyte": ["neutrophils"] * len(days_values),
            "value": [v for _, v in days_values],
            "unit": ["10^9/L"] * len(days_values),
            "lln": [1.8] * len(days_values),
        }
    )


def _events(
    days_values: list[tuple[int, float]],
    *,
    infused_at: str = "2024-01-10T07:00:00Z",
    clock: str = "T07:00:00Z",
    pre_treatment: list[bool] | None = None,
) -> list[GradedEvent]:
    infusions = pd.DataFrame({"subject_id": ["S1"], "infused_at": [infused_at]})
    labs = _labs(days_values, clock)
    # every value on treatment unless flagged (the flags are required since D-19.1197)
    flags = [False] * len(days_values) if pre_treatment is None else pre_treatment
    table = derive_graded_events(infusions, labs=labs, pre_treatment=flags).table
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
        )
        for row in table.to_dict("records")
    ]


def _shape(events: list[GradedEvent]) -> list[tuple[float, float | None, int]]:
    return [(e.onset_day, e.duration_days, e.grade) for e in events]


def test_a_result_below_grade_3_at_the_infusion_opens_no_day_0_part() -> None:
    events = _events([(-3, 0.3), (0, 2.0)], infused_at="2024-01-10", clock="")
    assert _shape(events) == [(-3.0, 3.0, 4)]
    assert not any(assess_dlt(e, [RULE], 28).in_window for e in events)


def test_no_grade_3_result_after_the_infusion_gives_no_dlt() -> None:
    events = _events([(-3, 0.3), (9, 2.0)])
    assert _shape(events) == [(-3.0, 3.0, 4)]
    assert not any(assess_dlt(e, [RULE], 28).is_dlt for e in events)


def test_a_grade_3_result_after_the_infusion_still_opens_the_day_0_part() -> None:
    events = _events([(-3, 0.3), (3, 0.7), (9, 2.0)])
    assert _shape(events) == [(-3.0, 3.0, 4), (0.0, 9.0, 4)]
    assert [assess_dlt(e, [RULE], 28).is_dlt for e in events] == [False, True]


def test_a_run_begun_before_the_treatment_emergent_period_is_not_split() -> None:
    values = [(-28, 0.8), (-3, 0.9), (3, 0.9), (9, 2.0)]
    pre_existing = _events(values, pre_treatment=[True, False, False, False])
    assert _shape(pre_existing) == [(-28.0, 37.0, 3)]
    assert not any(assess_dlt(e, [RULE], 28).is_dlt for e in pre_existing)
    # begun in lymphodepletion (day -3 in the treatment-emergent period): split at the infusion (D-19.1191)
    emergent = _events(values[1:], pre_treatment=[False, False, False])
    assert _shape(emergent) == [(-3.0, 3.0, 3), (0.0, 9.0, 3)]
    assert [assess_dlt(e, [RULE], 28).is_dlt for e in emergent] == [False, True]
