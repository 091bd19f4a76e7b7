"""`cartrial.columns.iso_instants` (many texts at once) reads every ISO 8601 text as `utc_moment` (one text)
does, spaces around it ignored, NaT where `utc_moment` refuses it (D-19.777). Before: an offset text with a
trailing space fell in the no-offset group (the row before's offset leaked into it), and ``…T10:00z`` or
``2021-W22-3`` were NaT although `utc_moment` reads them. The oracle is `utc_moment`, the one-text rule
(Python's `datetime.fromisoformat`), not the vectorised code under test."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.columns import iso_instants, utc_moment

_DAYS = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31))


@st.composite
def iso_texts(draw: st.DrawFn) -> Any:
    day = draw(_DAYS)
    kind = draw(st.sampled_from(["text", "text", "text", "none", "nan", "aware", "naive"]))
    if kind in ("none", "nan"):
        return None if kind == "none" else np.nan
    moment = dt.datetime.combine(day, dt.time(draw(st.integers(0, 23)), draw(st.integers(0, 59))))
    if kind == "aware":  # a tz-aware Timestamp (its text carries its offset)
        zone = draw(st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York", "Asia/Kolkata"]))
        return pd.Timestamp(moment).tz_localize(zone)
    if kind == "naive":  # a naive datetime: UTC
        return moment
    form = draw(st.sampled_from(["extended", "basic", "week"]))
    if form == "week":
        year, week, weekday = day.isocalendar()
        date_text = f"{year:04d}-W{week:02d}-{weekday}"
    else:
        date_text = day.strftime("%Y-%m-%d" if form == "extended" else "%Y%m%d")
    text = date_text
    if form != "week" and draw(st.booleans()):
        hour, minute, second = draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59))
        sep = ":" if form == "extended" else ""
        precision = draw(st.sampled_from(["hour", "minute", "second"]))
        clock = {
            "hour": f"{hour:02d}",
            "minute": f"{hour:02d}{sep}{minute:02d}",
            "second": f"{hour:02d}{sep}{minute:02d}{sep}{second:02d}",
        }[precision]
        if precision == "second" and draw(st.booleans()):
            clock += "." + str(draw(st.integers(0, 999_999))).zfill(6)
        text += draw(st.sampled_from(["T", " "])) + clock
        offsets = ["", "Z", "z", "+08:00", "-04:00", "+0530", "-03", "+00:00", "+05:30:15", "-04:00:30"]
        offset = draw(st.sampled_from(offsets))
        text += offset
    return draw(st.sampled_from(["", " ", "  "])) + text + draw(st.sampled_from(["", " ", "  "]))


def _expected(value: Any) -> pd.Timestamp:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return pd.NaT
    try:
        return pd.Timestamp(utc_moment(str(value).strip()))
    except ValueError:
        return pd.NaT


@settings(max_examples=property_examples(200), deadline=None)
@given(st.lists(iso_texts(), min_size=1, max_size=6))
def test_iso_instants_reads_each_text_as_utc_moment(texts: list[Any]) -> None:
    got = iso_instants(pd.Series(texts, dtype=object)).tolist()
    for text, value in zip(texts, got, strict=True):
        expected = _expected(text)
        assert (pd.isna(value) and pd.isna(expected)) or value == expected, repr(text)


def test_the_reviewers_texts() -> None:
    # hand: 10:00+08:00 is 02:00Z; 10:00 without offset after it is 10:00Z; 2021-W22-3 is Wednesday 2 June
    texts = ["2021-06-01T10:00+08:00 ", "2021-06-01T10:00", "2021-06-01T10:00z", "2021-W22-3", "x", ""]
    got = [None if pd.isna(t) else t.isoformat() for t in iso_instants(pd.Series(texts))]
    assert got == [
        "2021-06-01T02:00:00+00:00",
        "2021-06-01T10:00:00+00:00",
        "2021-06-01T10:00:00+00:00",
        "2021-06-02T00:00:00+00:00",
        None,
        None,
    ]


def test_a_seconds_offset_does_not_leak_into_the_next_text() -> None:
    # hand: 10:00+05:30:15 is 04:29:45Z (utc_moment reads a ±hh:mm:ss offset); 10:00 without offset is 10:00Z,
    # a naive datetime 10:00 is 10:00Z, 20210601T1000 is 10:00Z, whatever the row before
    texts = [
        "2021-06-01T10:00:00+05:30:15",
        "2021-06-01T10:00",
        dt.datetime(2021, 6, 1, 10, 0),
        "20210601T1000",
        "2021-06-01T10:00:00-04:00:30",
        "2021-06-01T10",
    ]
    got = [t.isoformat() for t in iso_instants(pd.Series(texts, dtype=object))]
    assert got == [
        "2021-06-01T04:29:45+00:00",
        "2021-06-01T10:00:00+00:00",
        "2021-06-01T10:00:00+00:00",
        "2021-06-01T10:00:00+00:00",
        "2021-06-01T14:00:30+00:00",
        "2021-06-01T10:00:00+00:00",
    ]


def test_a_lower_case_z_is_read_in_one_vectorised_call(monkeypatch: pytest.MonkeyPatch) -> None:
    # 20 000 texts ending in 'z' read as 'Z' (hand: 10:00z is 10:00Z); the per-text fallback is not used
    import cartrial.columns as columns

    texts = pd.Series([f"2021-06-01T10:{m % 60:02d}:00z" for m in range(20_000)], dtype=object)
    calls: list[str] = []
    real = columns.utc_moment

    def counted(text: str) -> dt.datetime:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(columns, "utc_moment", counted)
    got = iso_instants(texts)
    assert calls == []
    assert got.iloc[61].isoformat() == "2021-06-01T10:01:00+00:00"
