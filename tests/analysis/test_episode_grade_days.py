"""The CRS/ICANS heat map's days (report figure and web safety page): each episode's maximum grade fills its
days from onset to resolution; an episode still unresolved at its last assessment fills through the day of
that assessment (``ongoing_at_day``), not only its onset day (D-19.767). Expected values by hand."""

from __future__ import annotations

import pandas as pd

from cartrial.analysis.toxicity import episode_grade_days


def _episodes(*rows: dict[str, object]) -> pd.DataFrame:
    columns = ["subject_id", "onset_day", "max_grade", "duration_days", "ongoing_at_day"]
    return pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns)


def test_resolved_episode_fills_onset_to_resolution() -> None:
    # onset day 3.333, resolved 3.01 days later (day 6.343): days 3, 4, 5, 6
    grid = episode_grade_days(
        _episodes({"subject_id": "A", "onset_day": 3.333, "max_grade": 1, "duration_days": 3.01}), ["A"], 10
    )
    assert grid["A"] == [None, None, None, 1, 1, 1, 1, None, None, None]


def test_unresolved_episode_fills_through_last_assessment() -> None:
    # onset day 2.5, unresolved, last assessed on day 5.4 (still grade 3): days 2, 3, 4, 5 (was day 2 only)
    grid = episode_grade_days(
        _episodes({"subject_id": "A", "onset_day": 2.5, "max_grade": 3, "ongoing_at_day": 5.4}), ["A", "B"], 8
    )
    assert grid["A"] == [None, None, 3, 3, 3, 3, None, None]
    assert grid["B"] == [None] * 8


def test_overlap_keeps_the_higher_grade_and_the_span_is_capped() -> None:
    grid = episode_grade_days(
        _episodes(
            {"subject_id": "A", "onset_day": 1.0, "max_grade": 1, "duration_days": 5.0},
            {"subject_id": "A", "onset_day": 3.2, "max_grade": 2, "ongoing_at_day": 40.0},
            {"subject_id": "Z", "onset_day": 1.0, "max_grade": 4, "duration_days": 1.0},  # not listed
        ),
        ["A"],
        6,
    )
    assert grid == {"A": [None, 1, 1, 2, 2, 2]}


def test_neither_resolved_nor_assessed_after_onset_is_the_onset_day() -> None:
    grid = episode_grade_days(_episodes({"subject_id": "A", "onset_day": 0.4, "max_grade": 2}), ["A"], 3)
    assert grid["A"] == [2, None, None]
