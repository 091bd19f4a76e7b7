"""Infections by period after the infusion (D-19.1310): CAR-T infection reporting counts infections by
onset period after the infusion, days 0-30 (early, neutropenic), 31-90 and after day 90 (Hill JA et al.,
Blood 2018;131:121, periods 0-28 and 29-90 days; Kampouri E et al., days 0-30, 31-100, > 100; the CT103A
NMOSD report lists infections during follow-up). Expected counts by hand from the records below."""

from __future__ import annotations

import pandas as pd

from cartrial.analysis import Analysis
from cartrial.analysis.toxicity import INFECTION_PERIODS, infections_by_period


def _membership(days: dict[str, tuple[str, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"subject_id": sid, "safety": True, "infusion_date": day0, "follow_up_days": follow}
            for sid, (day0, follow) in days.items()
        ]
    )


def test_infections_are_counted_in_the_period_of_their_onset_day() -> None:
    # A infused 2021-01-10 followed 200 days: infections on day 5 (grade 3), day 30 (grade 2), day 31 and
    # day 91; B infused 2021-01-01 followed 40 days: infection on day 12; a non-infection on day 3
    membership = _membership({"A": ("2021-01-10", 200), "B": ("2021-01-01", 40)})
    teae = pd.DataFrame(
        {
            "subject_id": ["A", "A", "A", "A", "B", "B"],
            "started_on": [
                "2021-01-15",
                "2021-02-09",
                "2021-02-10",
                "2021-04-11",
                "2021-01-13",
                "2021-01-04",
            ],
            "category": ["infection"] * 5 + ["non_hematologic"],
            "grade": ["3", "2", "1", "2", "2", "4"],
        }
    )
    table = infections_by_period(teae, membership, (30, 90)).set_index("period")
    assert list(table.index) == ["days 0-30", "days 31-90", "days > 90"]
    assert table.loc[
        "days 0-30", ["n_at_risk", "n_subjects", "n_events", "n_subjects_grade_ge3"]
    ].tolist() == [
        2,
        2,
        3,
        1,
    ]
    assert table.loc["days 31-90", ["n_at_risk", "n_subjects", "n_events"]].tolist() == [2, 1, 1]
    # B's follow-up (40 days) never reached day 91: at risk 1
    assert table.loc["days > 90", ["n_at_risk", "n_subjects", "n_events"]].tolist() == [1, 1, 1]
    assert INFECTION_PERIODS == (28, 90)  # Hill 2018: days 0-28 and 29-90 (D-19.1313)


def test_an_infection_before_the_infusion_has_its_own_row() -> None:
    # treatment-emergent from lymphodepletion: an infection on day -2 is in the "before the infusion" row
    membership = _membership({"A": ("2021-01-10", 10)})
    teae = pd.DataFrame(
        {"subject_id": ["A"], "started_on": ["2021-01-08"], "category": ["infection"], "grade": ["2"]}
    )
    table = infections_by_period(teae, membership).set_index("period")
    assert table.loc["before the infusion", ["n_at_risk", "n_subjects", "n_events"]].tolist() == [1, 1, 1]
    assert table.loc["days > 90", ["n_at_risk", "n_subjects"]].tolist() == [0, 0]


def test_the_study_analysis_has_the_dataset(analysis: Analysis) -> None:
    table = analysis.datasets["infections_by_period"].table.set_index("period")
    assert table.loc["days 0-28", "n_at_risk"] == analysis.populations["safety"].n


def test_no_adverse_event_gives_zero_counts() -> None:
    membership = _membership({"A": ("2021-01-10", 50)})
    teae = pd.DataFrame(columns=["subject_id", "started_on", "category", "grade"])
    table = infections_by_period(teae, membership).set_index("period")
    assert table["n_at_risk"].tolist() == [1, 1, 0]
    assert table[["n_subjects", "n_events", "n_subjects_grade_ge3"]].to_numpy().sum() == 0
