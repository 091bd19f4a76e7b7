"""A date typed without a time in `--follow-up-dates` / `--new-therapy-dates` is the site's date as recorded
(D-19.607, D-19.721; grading46 second review).

Infusion 2024-03-10T20:00:00Z at a site in America/Los_Angeles (PDT, UTC-7 from 2024-03-10 02:00): 13:00
local, day 0 = 2024-03-10. A last follow-up recorded as the date 2024-03-28 is day 28 − 10 = 18 on the site's
calendar (the analysis's reading of a date field). Read as midnight UTC it was 2024-03-27 17:00 local: day 17.
ANC 300/µL daily on days 0-10 (20:00Z = 13:00 local, days 0-10): followed to day 18 the trailing run is days
11-18, 8 > 7 days, left missing by the grader's `na.approx(maxgap = 7)`: 11 days ≤ 500/µL, grade 2 (7-13
days), a lower bound; to day 17 (7 days, carried) the episode reaches the end of follow-up: grade 4.
"""

from __future__ import annotations

import pandas as pd

from cartrial.grading import derive_icaht
from cartrial.grading.frames import follow_up_days, new_therapy_days

INFUSIONS = pd.DataFrame(
    {"subject_id": ["S1"], "infused_at": ["2024-03-10T20:00:00Z"], "time_zone": ["America/Los_Angeles"]}
)


def _labs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject_id": "S1",
            "collected_at": [f"2024-03-{10 + d:02d}T20:00:00Z" for d in range(11)],
            "analyte": "neutrophils",
            "value": "0.3",
            "unit": "10^9/L",
            "lln": "1.8",
        }
    )


def test_a_follow_up_date_is_the_sites_date() -> None:
    frame = pd.DataFrame({"subject_id": ["S1"], "last_follow_up_at": ["2024-03-28"]})
    assert follow_up_days(frame, INFUSIONS) == {"S1": 18}


def test_a_follow_up_instant_is_read_on_the_sites_clock() -> None:
    # 2024-03-28T02:00:00Z is 2024-03-27 19:00 PDT: day 17
    frame = pd.DataFrame({"subject_id": ["S1"], "last_follow_up_at": ["2024-03-28T02:00:00Z"]})
    assert follow_up_days(frame, INFUSIONS) == {"S1": 17}


def test_a_new_therapy_date_is_the_sites_date() -> None:
    frame = pd.DataFrame({"subject_id": ["S1"], "new_therapy_at": ["2024-03-28"]})
    assert new_therapy_days(frame, INFUSIONS) == {"S1": 18}
    frame = pd.DataFrame({"subject_id": ["S1"], "new_therapy_at": ["2024-03-28T02:00:00Z"]})
    assert new_therapy_days(frame, INFUSIONS) == {"S1": 17}


def test_the_early_grade_follows_the_sites_day_of_last_follow_up() -> None:
    followed = follow_up_days(
        pd.DataFrame({"subject_id": ["S1"], "last_follow_up_at": ["2024-03-28"]}), INFUSIONS
    )
    table = derive_icaht(_labs(), INFUSIONS, follow_up_days=followed).table
    assert table["early_grade"].tolist() == [2]
    assert table["early_lower_bound"].tolist() == [True]
