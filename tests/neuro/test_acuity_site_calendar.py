"""Both eyes' visual acuity pair on the subject's site calendar, not on the UTC date (D-19.778).

Hand values: OD 20/200 is decimal 0.1, OS 20/20 is 1.0; the worse eye at 0.1 is visual FS 4 (>= 0.1 and
<= 0.2), the better eye above 0.333 adds nothing: FS 4 (Kurtzke 1983 / Neurostatus visual FS,
docs/science/neuro-outcomes.md §1.2).
"""

from __future__ import annotations

import pandas as pd

from cartrial.neuro import derive_edss, derive_visual_acuity

WUHAN = {"P1": "Asia/Shanghai"}
NEW_YORK = {"P1": "America/New_York"}


def _va(od_at: str, os_at: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject_id": ["P1", "P1"],
            "assessed_at": [od_at, os_at],
            "eye": ["OD", "OS"],
            "acuity": ["20/200", "20/20"],
        }
    )


def _derived(frame: pd.DataFrame, zones: dict[str, str]) -> list[object]:
    return derive_visual_acuity(frame, zones=zones).table["visual_fs_from_acuity"].tolist()


def test_wuhan_morning_clinic_pairs_across_the_utc_date() -> None:
    # 07:30 and 09:00 on 2 June in Wuhan (UTC+8): 23:30Z on 1 June and 01:00Z on 2 June
    frame = _va("2021-06-01T23:30:00Z", "2021-06-02T01:00:00Z")
    assert _derived(frame, WUHAN) == [4, 4]


def test_wuhan_late_and_early_are_two_site_days() -> None:
    # 23:00 on 1 June and 01:00 on 2 June in Wuhan: the same UTC date (15:00Z, 17:00Z), two site days
    frame = _va("2021-06-01T15:00:00Z", "2021-06-01T17:00:00Z")
    assert _derived(frame, WUHAN) == [None, None]
    assert _derived(frame, {}) == [4, 4]  # a site without a zone: the UTC calendar


def test_new_york_evening_clinic_pairs_across_the_utc_date() -> None:
    # 09:00 and 23:00 EDT (UTC-4) on 1 June: 13:00Z on 1 June and 03:00Z on 2 June
    frame = _va("2021-06-01T09:00:00-04:00", "2021-06-01T23:00:00-04:00")
    assert _derived(frame, NEW_YORK) == [4, 4]


def test_date_only_cells_pair_as_typed_in_new_york() -> None:
    # a date typed without a time is that date, whatever the zone (D-19.615): OD on 1 June typed as a date,
    # OS at 21:00 EDT on 1 June (01:00Z on 2 June)
    frame = _va("2021-06-01", "2021-06-01T21:00:00-04:00")
    assert _derived(frame, NEW_YORK) == [4, 4]


def test_edss_blank_visual_fs_filled_from_the_site_day_acuity() -> None:
    # the EDSS visit at 10:00 in Wuhan on 2 June (02:00Z); the eyes at 07:30 (23:30Z on 1 June) and 09:00
    edss = pd.DataFrame(
        {
            "subject_id": ["P1"],
            "assessed_at": ["2021-06-02T02:00:00Z"],
            "visual": [""],
            "brainstem": [0],
            "pyramidal": [0],
            "cerebellar": [0],
            "sensory": [0],
            "bowel_bladder": [0],
            "cerebral": [0],
            "ambulation": [0],
        }
    )
    acuity = _va("2021-06-01T23:30:00Z", "2021-06-02T01:00:00Z")
    result = derive_edss(edss, visual_acuity=acuity, zones=WUHAN)
    # the blank visual FS is derived from both eyes on the site day (FS 4 by hand, module docstring)
    assert result.table["visual_source"].tolist() == ["derived_from_acuity"]
    assert result.table["visual"].astype(int).tolist() == [4]


def test_responders_place_a_date_typed_without_time_on_its_own_day_in_new_york() -> None:
    """The responder series place each assessment by the one per-cell rule (D-19.778, D-19.615): an EDSS
    typed as the date 2 June at a New York site is day 1 after an infusion at 11:00 EDT on 1 June (day 0),
    a follow-up, not 20:00 on 1 June (its 00:00Z read on the clock) and so day 0, the baseline. Hand count:
    bowel/bladder FS 2 at baseline (25 May), 1 on 2 June: a decrease of 1, 1 evaluable, 1 responder."""
    from cartrial.neuro import derive_responders

    infusions = pd.DataFrame(
        {"subject_id": ["P1"], "infused_at": ["2021-06-01T15:00:00Z"], "time_zone": ["America/New_York"]}
    )
    edss = pd.DataFrame(
        {
            "subject_id": ["P1", "P1"],
            "assessed_at": ["2021-05-25", "2021-06-02"],
            "visual": [0, 0],
            "brainstem": [0, 0],
            "pyramidal": [0, 0],
            "cerebellar": [0, 0],
            "sensory": [0, 0],
            "bowel_bladder": [2, 1],
            "cerebral": [0, 0],
            "ambulation": [0, 0],
        }
    )
    result = derive_responders(infusions, edss=edss, definitions=["bowel_bladder_fs_decrease_1"])
    row = result.table.iloc[0]
    assert (int(row["n_evaluable"]), int(row["n_responders"])) == (1, 1)
