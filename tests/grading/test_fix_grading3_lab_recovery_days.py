"""A dip ends a lab run by the ICAHT H2 recovery counted on the site calendar (D-19.1311).

EHA/EBMT 2023 ICAHT (toxicity-grading.md §5.1, option H2): two episodes separated by a recovery shorter
than 3 consecutive days are one episode; the project's ICAHT grader counts every calendar day between two
runs under its default ``locf`` (icaht._episodes, D-19.680). Days are site calendar days (D-19.607,
D-19.947). Expected values are hand computed.
"""

from __future__ import annotations

import pandas as pd

from cartrial.grading import derive_graded_events


def events(rows: list[tuple[str, float]], infused_at: str, zone: str | None = None) -> list[list[float]]:
    labs = pd.DataFrame(
        {
            "subject_id": ["S1"] * len(rows),
            "collected_at": [r[0] for r in rows],
            "analyte": ["platelets"] * len(rows),
            "value": [r[1] for r in rows],
            "unit": ["10^9/L"] * len(rows),
            "lln": [150] * len(rows),
        }
    )
    infused = pd.DataFrame({"subject_id": ["S1"], "infused_at": [infused_at]})
    if zone:
        infused["time_zone"] = [zone]
    table = derive_graded_events(infused, labs=labs, pre_treatment=[False] * len(rows)).table
    return [
        [round(float(v), 2) for v in row] for row in table[["onset_day", "duration_days", "grade"]].values
    ]


def test_a_long_recovery_sampled_twice_ends_the_run() -> None:
    # platelets 40 (grade 3) on days 1 and 3, 160 on days 5 and 19 (recovered days 5-25 carried forward:
    # 21 days >= 3), 40 on day 26, 160 on days 28-30: runs day 1 -> 5 (4 days) and 26 -> 28 (2 days);
    # was one run of 27 days (a false "grade 3 lasting > 7 days")
    rows = [("2024-01-11", 40), ("2024-01-13", 40), ("2024-01-15", 160), ("2024-01-29", 160)]
    rows += [("2024-02-05", 40), ("2024-02-07", 160), ("2024-02-08", 160), ("2024-02-09", 160)]
    assert events(rows, "2024-01-10") == [[1.0, 4.0, 3.0], [26.0, 2.0, 3.0]]


def test_a_dip_is_counted_on_the_site_calendar() -> None:
    # Asia/Shanghai: 60 (grade 2) on Jan 13 06:00 and 10:00 and Jan 14 10:00 = site days 13 and 14 (two
    # days: no recovery) but UTC dates 12, 13 and 14; 40 again on Jan 15: one run Jan 11 10:00 -> Jan 21
    # 10:00, 10 days (UTC calendar: three days, two runs)
    rows = [("2024-01-11T10:00:00+08:00", 40), ("2024-01-13T06:00:00+08:00", 60)]
    rows += [("2024-01-13T10:00:00+08:00", 60), ("2024-01-14T10:00:00+08:00", 60)]
    rows += [("2024-01-15T10:00:00+08:00", 40), ("2024-01-19T10:00:00+08:00", 40)]
    rows += [(f"2024-01-{d}T10:00:00+08:00", 160) for d in (21, 22, 23)]
    assert events(rows, "2024-01-10T09:00:00+08:00", "Asia/Shanghai") == [[1.04, 10.0, 3.0]]


def test_the_reviewers_site_calendar_case_is_a_three_day_recovery() -> None:
    # the same with the next 40 on Jan 16: site days 13, 14 and 15 (carried forward) are above grade 3,
    # three consecutive days = a recovery (H2): runs Jan 11 10:00 -> Jan 13 06:00 (1 d 20 h) and
    # Jan 16 10:00 -> Jan 21 10:00 (5 days)
    rows = [("2024-01-11T10:00:00+08:00", 40), ("2024-01-13T06:00:00+08:00", 60)]
    rows += [("2024-01-13T10:00:00+08:00", 60), ("2024-01-14T10:00:00+08:00", 60)]
    rows += [("2024-01-16T10:00:00+08:00", 40), ("2024-01-19T10:00:00+08:00", 40)]
    rows += [(f"2024-01-{d}T10:00:00+08:00", 160) for d in (21, 22, 23)]
    assert events(rows, "2024-01-10T09:00:00+08:00", "Asia/Shanghai") == [[1.04, 1.83, 3.0], [6.04, 5.0, 3.0]]
