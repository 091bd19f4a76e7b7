"""The site's-clock reading of a date-time field's instant (D-19.1259): hand-computed readings, and no
hint (never a 500) for what is not an instant or cannot be moved to the site's clock."""

from __future__ import annotations

import datetime as dt

import pytest

from cartrial.web.forms import site_clock_hints

FORM = "crs_assessments"


@pytest.mark.parametrize(
    ("value", "zone", "shown"),
    [
        ("2021-05-02T10:30:00Z", "Asia/Shanghai", "2021-05-02 18:30 Asia/Shanghai"),  # UTC + 8 h
        ("2021-05-02T17:15:00Z", "Asia/Shanghai", "2021-05-03 01:15 Asia/Shanghai"),  # the next day there
        (
            "2021-05-02T10:30:00+14:00",
            "Asia/Shanghai",
            "2021-05-02 04:30 Asia/Shanghai",
        ),  # 20:30Z the day before
        ("2021-07-01T12:00:00Z", "Europe/Berlin", "2021-07-01 14:00 Europe/Berlin"),  # summer time, UTC + 2 h
        (dt.datetime(2021, 1, 15, 12, 0, tzinfo=dt.UTC), "Europe/Berlin", "2021-01-15 13:00 Europe/Berlin"),
    ],
)
def test_an_instant_is_read_on_the_sites_clock(value: object, zone: str, shown: str) -> None:
    assert site_clock_hints(FORM, {"assessed_at": value}, zone) == {
        "assessed_at": f"= {shown} (the site's clock)"
    }


@pytest.mark.parametrize(
    "value",
    [
        "2021-05-02",
        "2026-11-30 10:00",
        "not a time",
        "",
        None,
        "9999-12-31T23:00:00-05:00",
        "0001-01-01T01:00+05:00",
    ],
)
def test_no_hint_for_what_is_no_instant_or_leaves_the_calendar(value: object) -> None:
    assert site_clock_hints(FORM, {"assessed_at": value}, "Asia/Shanghai") == {}


def test_no_hint_without_a_zone() -> None:
    assert site_clock_hints(FORM, {"assessed_at": "2021-05-02T10:30:00Z"}, None) == {}
