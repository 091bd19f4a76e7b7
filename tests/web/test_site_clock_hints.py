"""The site's-clock reading of a date-time field's instant (D-19.1259): hand-computed readings, and no
hint (never a 500) for what is not an instant or cannot be moved to the site's clock."""

from __future__ import annotations

import datetime as dt

import pytest

from cartrial.web.forms import localize, site_clock_hints
from cartrial.web.views import moment_on_site_clock

FORM = "crs_assessments"


@pytest.mark.parametrize(
    ("value", "zone", "shown"),
    [
        ("2021-05-02T10:30:00Z", "Asia/Shanghai", "2021-05-02 18:30 Asia/Shanghai (UTC+08:00)"),  # UTC + 8 h
        ("2021-05-02T17:15:00Z", "Asia/Shanghai", "2021-05-03 01:15 Asia/Shanghai (UTC+08:00)"),  # next day
        (
            "2021-05-02T10:30:00+14:00",
            "Asia/Shanghai",
            "2021-05-02 04:30 Asia/Shanghai (UTC+08:00)",
        ),  # 20:30Z the day before
        (
            "2021-07-01T12:00:00Z",
            "Europe/Berlin",
            "2021-07-01 14:00 Europe/Berlin (UTC+02:00)",
        ),  # summer time
        (
            dt.datetime(2021, 1, 15, 12, 0, tzinfo=dt.UTC),
            "Europe/Berlin",
            "2021-01-15 13:00 Europe/Berlin (UTC+01:00)",
        ),
        # a stored naive date-time is UTC, as the record page's other readings take it (D-19.1262)
        (dt.datetime(2021, 1, 15, 12, 0), "Europe/Berlin", "2021-01-15 13:00 Europe/Berlin (UTC+01:00)"),
    ],
)
def test_an_instant_is_read_on_the_sites_clock(value: object, zone: str, shown: str) -> None:
    assert site_clock_hints(FORM, {"assessed_at": value}, zone) == {"assessed_at": f"= {shown}"}


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


def test_the_repeated_hour_of_the_autumn_change_reads_as_two_times() -> None:
    """Review of D-19.1259: on 2021-10-31 Berlin's clocks went back from 03:00 CEST to 02:00 CET (at 01:00Z),
    so 00:30Z and 01:30Z both read 02:30 there; the offset (+02:00 then +01:00) tells them apart, as ISO
    8601 and CDISC --DTC write it (D-19.1261)."""
    first = site_clock_hints(FORM, {"assessed_at": "2021-10-31T00:30:00Z"}, "Europe/Berlin")
    second = site_clock_hints(FORM, {"assessed_at": "2021-10-31T01:30:00Z"}, "Europe/Berlin")
    assert first == {"assessed_at": "= 2021-10-31 02:30 Europe/Berlin (UTC+02:00)"}
    assert second == {"assessed_at": "= 2021-10-31 02:30 Europe/Berlin (UTC+01:00)"}
    assert moment_on_site_clock(dt.datetime(2021, 10, 31, 0, 30, tzinfo=dt.UTC), "Europe/Berlin") != (
        moment_on_site_clock(dt.datetime(2021, 10, 31, 1, 30, tzinfo=dt.UTC), "Europe/Berlin")
    )


def test_a_typed_instant_names_the_zone_chosen_not_the_site() -> None:
    """Review of D-19.1259: a Shanghai site's record with Europe/Berlin chosen on the form said
    "= 2021-05-02 12:30 Europe/Berlin (the site's clock)"; the reading names the zone it used and no more
    claims it is the site's (D-19.1261)."""
    hint = localize(FORM, {"assessed_at": "2021-05-02T10:30:00Z"}, "Europe/Berlin").utc["assessed_at"]
    assert hint == "= 2021-05-02 12:30 Europe/Berlin (UTC+02:00)"
    assert "site" not in hint
