"""The date last known alive (`populations.last_known_alive`, ADSL.LSTALVDT, D-19.1437) reads an adverse
event's or relapse's date by the one site-date rule (`site_date`, D-19.607, D-19.779): a date-time is its
date on the subject's site calendar, a date as recorded, a partial date none.

By hand: 2021-06-10T23:30:00Z is 2021-06-11 07:30 in Asia/Shanghai (UTC+8), so the subject at a Shanghai
site was last known alive on 2021-06-11, not the UTC date 2021-06-10; the same instant at a site without a
zone (UTC) is 2021-06-10.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cartrial.analysis.populations import last_known_alive

CUTOFF = dt.date(2021, 12, 31)


def _tables(started_on: str) -> dict[str, pd.DataFrame]:
    infusions = pd.DataFrame(
        {
            "subject_id": ["SH", "UTC"],
            "infused_at": ["2021-06-01", "2021-06-01"],
            "time_zone": ["Asia/Shanghai", ""],
        }
    )
    events = pd.DataFrame(
        {
            "subject_id": ["SH", "UTC"],
            "started_on": [started_on, started_on],
            "ended_on": ["", ""],
            "grade": ["1", "1"],
            "category": ["other", "other"],
            "outcome": ["", ""],
        }
    )
    return {"infusions": infusions, "adverse_events": events}


def test_a_date_time_is_read_on_the_site_calendar() -> None:
    """Failing first: the date part of the text (2021-06-10) was taken at every site."""
    contacts = {"SH": dt.date(2021, 6, 5), "UTC": dt.date(2021, 6, 5)}
    alive = last_known_alive(_tables("2021-06-10T23:30:00Z"), contacts, CUTOFF)
    assert alive == {"SH": dt.date(2021, 6, 11), "UTC": dt.date(2021, 6, 10)}


def test_a_date_is_as_recorded_and_a_partial_date_shows_no_day() -> None:
    contacts = {"SH": dt.date(2021, 6, 5), "UTC": dt.date(2021, 6, 5)}
    assert last_known_alive(_tables("2021-06-10"), contacts, CUTOFF) == {
        "SH": dt.date(2021, 6, 10),
        "UTC": dt.date(2021, 6, 10),
    }
    assert last_known_alive(_tables("2021-07"), contacts, CUTOFF) == contacts
