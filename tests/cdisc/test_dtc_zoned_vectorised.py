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


@settings(max_examples=60, deadline=None)
@given(rows=ROWS)
def test_dtc_column_writes_each_cell_as_dtc(rows: list[tuple[str, str]]) -> None:
    values = pd.Series([v for v, _ in rows], dtype=object)
    zones = pd.Series([z for _, z in rows], dtype=object)
    assert dtc_column(values, zones).tolist() == [dtc(v, z or None) for v, z in rows]


@settings(max_examples=60, deadline=None)
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
