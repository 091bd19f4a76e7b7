"""A date typed without a time in an infusions `infused_at` or a labs `collected_at` cell is that date on the
site's calendar, as `--follow-up-dates` / `--new-therapy-dates` read theirs (D-19.607, D-19.615, D-19.721;
grading46 final review).

A site in America/Los_Angeles (PDT, UTC-7 from 2024-03-10 02:00 local). Infusion recorded as the date
2024-03-10: day 0 is 2024-03-10 on the site's calendar. Read as midnight UTC it was 2024-03-09 17:00 local,
so day 0 fell on 03-09: a follow-up date 2024-03-28 was day 28 - 9 = 19 (the analysis: 28 - 10 = 18), a
follow-up on the infusion date day 1, and a date-only lab on 2024-03-10 (also midnight UTC, 03-09 local)
day -1 where the site recorded day 0.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from cartrial.columns import site_cell_date, site_cell_moment, utc_moment
from cartrial.grading import derive_icaht, derive_lab_grades
from cartrial.grading.frames import follow_up_days, new_therapy_days

LA = "America/Los_Angeles"


def _infusions(infused_at: str, zone: str = LA) -> pd.DataFrame:
    return pd.DataFrame({"subject_id": ["S1"], "infused_at": [infused_at], "time_zone": [zone]})


def _follow(on: str) -> pd.DataFrame:
    return pd.DataFrame({"subject_id": ["S1"], "last_follow_up_at": [on]})


def _anc(collected: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject_id": "S1",
            "collected_at": collected,
            "analyte": "neutrophils",
            "value": "0.3",
            "unit": "10^9/L",
            "lln": "1.8",
        }
    )


def test_the_shared_cell_rule() -> None:
    # a date typed without a time is that date whatever the zone; a date-time is its date on the site's clock
    assert site_cell_date("2024-03-10", utc_moment("2024-03-10"), LA) == date(2024, 3, 10)
    assert site_cell_date("20240310", utc_moment("20240310"), LA) == date(2024, 3, 10)
    # exactly 00:00:00Z, the store's form of a date typed without a time, is that date too (changed by
    # design, D-19.947: it was 2024-03-09, 16:00 PST); any other instant is read on the site's clock
    assert site_cell_date("2024-03-10T00:00:00Z", utc_moment("2024-03-10T00:00:00Z"), LA) == date(2024, 3, 10)
    assert site_cell_date("2024-03-10T00:00:01Z", utc_moment("2024-03-10T00:00:01Z"), LA) == date(2024, 3, 9)
    evening = "2024-03-10T20:00:00Z"
    assert site_cell_date(evening, utc_moment(evening), None) == date(2024, 3, 10)
    # the start of that date on the site's clock: 2024-03-10 00:00 PST = 08:00Z
    assert site_cell_moment("2024-03-10", utc_moment("2024-03-10"), LA) == utc_moment("2024-03-10T08:00:00Z")
    # without a zone (UTC) a date-only cell is the instant it always was: midnight UTC
    assert site_cell_moment("2024-03-10", utc_moment("2024-03-10"), None) == utc_moment("2024-03-10")


def test_a_date_only_infusion_and_follow_up_date() -> None:
    assert follow_up_days(_follow("2024-03-28"), _infusions("2024-03-10")) == {"S1": 18}


def test_a_follow_up_on_the_date_only_infusion_date_is_day_0() -> None:
    assert follow_up_days(_follow("2024-03-10"), _infusions("2024-03-10")) == {"S1": 0}
    therapy = pd.DataFrame({"subject_id": ["S1"], "new_therapy_at": ["2024-03-28"]})
    assert new_therapy_days(therapy, _infusions("2024-03-10")) == {"S1": 18}


def test_a_timed_infusion_and_a_follow_up_date() -> None:
    # 2024-03-10T20:00:00Z is 13:00 PDT on 03-10: day 0 = 03-10, 28 - 10 = 18
    assert follow_up_days(_follow("2024-03-28"), _infusions("2024-03-10T20:00:00Z")) == {"S1": 18}


def test_a_site_without_a_zone_is_unchanged() -> None:
    assert follow_up_days(_follow("2024-03-28"), _infusions("2024-03-10", "")) == {"S1": 18}
    labs = derive_lab_grades(_anc(["2024-03-10"]), infusions=_infusions("2024-03-10T09:00:00Z", "")).table
    # midnight UTC before the 09:00Z infusion: a baseline value, as before
    assert labs[["study_day", "collected_before_infusion"]].values.tolist() == [[0, True]]


def test_a_date_only_lab_on_the_infusion_date_is_day_0() -> None:
    for infused in ("2024-03-10", "2024-03-10T20:00:00Z"):
        labs = derive_lab_grades(_anc(["2024-03-10", "2024-03-11"]), infusions=_infusions(infused)).table
        assert labs["study_day"].tolist() == [0, 1]
    # both recorded as the same date: not collected before the infusion
    labs = derive_lab_grades(_anc(["2024-03-10"]), infusions=_infusions("2024-03-10")).table
    assert labs["collected_before_infusion"].tolist() == [False]
    # a timed lab at 2024-03-10T06:00:00Z is 03-09 22:00 PST: day -1, before the infusion date
    labs = derive_lab_grades(_anc(["2024-03-10T06:00:00Z"]), infusions=_infusions("2024-03-10")).table
    assert labs[["study_day", "collected_before_infusion"]].values.tolist() == [[-1, True]]


def test_date_only_counts_grade_on_the_sites_days() -> None:
    # ANC 300/uL recorded on the dates 03-10 ... 03-20: days 0-10 at the site; followed to 03-28 (day 18) the
    # trailing run 11-18 (8 > 7 days) is left missing: 11 days <= 500/uL, grade 2 (7-13 days), a lower bound
    # (as with the same counts timed at 20:00Z, tests/grading/test_grading46_site_dates.py)
    labs = _anc([f"2024-03-{10 + d:02d}" for d in range(11)])
    for infused in ("2024-03-10", "2024-03-10T20:00:00Z"):
        followed = follow_up_days(_follow("2024-03-28"), _infusions(infused))
        assert followed == {"S1": 18}
        table = derive_icaht(labs, _infusions(infused), follow_up_days=followed).table
        assert table["early_grade"].tolist() == [2]
        assert table["early_lower_bound"].tolist() == [True]


def test_a_date_only_icans_assessment_on_the_infusion_date_opens_an_episode() -> None:
    # ICE 8 (grade 1) recorded as the date 2024-03-10, the infusion's date at the site: day 0, after the
    # infusion (both dates are the start of 03-10 there). Read as midnight UTC (03-09 17:00 PDT) against a
    # day 0 starting at 03-10 00:00 PST it would fall before the infusion and open no episode.
    from cartrial.grading import derive_icans_episodes

    rows = pd.DataFrame(
        {
            "subject_id": ["S1"] * 2,
            "assessed_at": ["2024-03-10", "2024-03-12"],
            "consciousness": ["alert"] * 2,
            "seizure": ["none"] * 2,
            "motor": ["none"] * 2,
            "cerebral_edema": ["none"] * 2,
            "ice_total": [8, 10],
        }
    )
    table = derive_icans_episodes(rows, _infusions("2024-03-10")).table
    assert table[["max_grade", "onset_day"]].values.tolist() == [[1, 0.0]]
