"""The vectorised site-clock writers agree with the one rule cell by cell (D-19.607): `dtc_column` with
zones writes each cell as `dtc(cell, zone)` does, and `site_date_texts` gives each date-time the date
`site_date` gives (zoneinfo, `cartrial.columns.on_site_clock`), across daylight-saving changes, half-hour
and 30-minute-DST zones, offsets in the text, seconds and fractions, years outside pandas' agreement with
zoneinfo (before 1970, after 2036) and cells that are no date-time."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.analysis.populations import site_date, site_date_texts
from cartrial.cdisc.common import dtc, dtc_column

ZONES = ["", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Europe/London", "Etc/GMT-8", "UTC"]
SUFFIX = ["Z", "", "+00:00", "+05:30", "-03:00", ".123456Z"]


@st.composite
def cells(draw: st.DrawFn) -> str:
    moment = draw(st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 12, 31)))
    moment = moment.replace(microsecond=0, second=draw(st.sampled_from([0, 0, 30])))
    return moment.isoformat() + draw(st.sampled_from(SUFFIX))


ROWS = st.lists(st.tuples(cells() | st.sampled_from(["", "2021-03-01", "2021"]), st.sampled_from(ZONES)))


@settings(max_examples=property_examples(60), deadline=None)
@given(rows=ROWS)
def test_dtc_column_writes_each_cell_as_dtc(rows: list[tuple[str, str]]) -> None:
    values = pd.Series([v for v, _ in rows], dtype=object)
    zones = pd.Series([z for _, z in rows], dtype=object)
    assert dtc_column(values, zones).tolist() == [dtc(v, z or None) for v, z in rows]


@settings(max_examples=property_examples(60), deadline=None)
@given(rows=ROWS)
def test_site_date_texts_gives_each_cell_its_site_date(rows: list[tuple[str, str]]) -> None:
    frame = pd.DataFrame({"subject_id": [f"S{i}" for i in range(len(rows))], "at": [v for v, _ in rows]})
    zones = {f"S{i}": z for i, (_, z) in enumerate(rows) if z}
    expected = [
        v if len(v.strip()) <= 10 else site_date(v, zones.get(f"S{i}")).isoformat()  # type: ignore[union-attr]
        for i, (v, _) in enumerate(rows)
    ]
    assert site_date_texts(frame, "at", zones).tolist() == expected


def test_a_zoned_site_writes_its_offset_at_zero_too() -> None:
    """A London subject's winter time (GMT, +00:00) and summer time (BST, +01:00) carry a designator alike,
    so one subject never mixes styles; a site in UTC itself writes as a site without a zone."""
    values = pd.Series(["2021-01-05T10:00:00Z", "2021-07-05T10:00:00Z", "2021-01-05T10:00:00Z"])
    zones = pd.Series(["Europe/London", "Europe/London", "Etc/UTC"])
    expected = ["2021-01-05T10:00+00:00", "2021-07-05T11:00+01:00", "2021-01-05T10:00"]
    assert dtc_column(values, zones).tolist() == expected
    assert [dtc(v, z) for v, z in zip(values, zones, strict=True)] == expected


def test_vancouver_summer_instant_is_the_same_day_on_both_paths() -> None:
    """2026-07-01T06:30Z is 23:30 of June 30 in Vancouver (PDT, -07:00) in every edition of the database
    (before and after British Columbia's permanent -07:00 from November 2026): the vectorised writers and
    the per-cell rule give the hand-written date and text."""
    values = pd.Series(["2026-07-01T06:30:00Z"])
    frame = pd.DataFrame({"subject_id": ["V"], "at": values})
    assert site_date_texts(frame, "at", {"V": "America/Vancouver"}).tolist() == ["2026-06-30"]
    assert site_date("2026-07-01T06:30:00Z", "America/Vancouver") == dt.date(2026, 6, 30)
    assert dtc_column(values, pd.Series(["America/Vancouver"])).tolist() == ["2026-06-30T23:30-07:00"]
    assert dtc("2026-07-01T06:30:00Z", "America/Vancouver") == "2026-06-30T23:30-07:00"


def test_vancouver_from_november_2026_is_one_database_on_both_paths() -> None:
    """Where tz database editions differ (Vancouver from 2026-11-01: -08:00 in older editions, -07:00 in
    newer), pandas' conversion and zoneinfo read the same one (pandas is handed the zoneinfo object, never
    the name pytz reads from its own copy): every half hour of November and December 2026 gets the same
    site date and --DTC on the vectorised and the per-cell paths, whatever the installed edition."""
    stamps = pd.date_range("2026-10-31T00:00Z", "2026-12-31T23:30Z", freq="30min")
    texts = [s.strftime("%Y-%m-%dT%H:%M:%SZ") for s in stamps]
    frame = pd.DataFrame({"subject_id": ["V"] * len(texts), "at": texts})
    assert site_date_texts(frame, "at", {"V": "America/Vancouver"}).tolist() == [
        site_date(t, "America/Vancouver").isoformat()  # type: ignore[union-attr]
        for t in texts
    ]
    zones = pd.Series(["America/Vancouver"] * len(texts))
    assert dtc_column(pd.Series(texts), zones).tolist() == [dtc(t, "America/Vancouver") for t in texts]


def test_an_offset_of_seconds_is_written_in_utc_with_z() -> None:
    """Monrovia's clock before 1972 was 44 minutes 30 seconds behind UTC: ISO 8601 has no designator for it
    (±hh:mm), so --DTC writes that instant in UTC with Z on both paths — exact, never a rounded offset; the
    study day still counts Monrovia's date."""
    values = pd.Series(["1971-06-01T12:00:00Z", "1971-06-01T00:30:00Z", "1973-06-01T12:00:00Z"])
    zones = pd.Series(["Africa/Monrovia"] * 3)
    expected = ["1971-06-01T12:00Z", "1971-06-01T00:30Z", "1973-06-01T12:00+00:00"]
    assert dtc_column(values, zones).tolist() == expected
    assert [dtc(v, "Africa/Monrovia") for v in values] == expected
    frame = pd.DataFrame({"subject_id": ["M"] * 3, "at": values})
    assert site_date_texts(frame, "at", {"M": "Africa/Monrovia"}).tolist() == [
        "1971-06-01",
        "1971-05-31",
        "1973-06-01",
    ]
