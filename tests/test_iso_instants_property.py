"""`cartrial.columns.iso_instants` (many texts at once) reads every ISO 8601 text as `utc_moment` (one text)
does, spaces around it ignored, NaT where `utc_moment` refuses it (D-19.777). Before: an offset text with a
trailing space fell in the no-offset group (the row before's offset leaked into it), and ``…T10:00z`` or
``2021-W22-3`` were NaT although `utc_moment` reads them. The oracle is `utc_moment`, the one-text rule
(Python's `datetime.fromisoformat`), not the vectorised code under test."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from cartrial.columns import iso_instants, utc_moment

_DAYS = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31))


@st.composite
def iso_texts(draw: st.DrawFn) -> str:
    day = draw(_DAYS)
    form = draw(st.sampled_from(["extended", "basic", "week"]))
    if form == "week":
        year, week, weekday = day.isocalendar()
        date_text = f"{year:04d}-W{week:02d}-{weekday}"
    else:
        date_text = day.strftime("%Y-%m-%d" if form == "extended" else "%Y%m%d")
    text = date_text
    if form != "week" and draw(st.booleans()):
        hour, minute, second = draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59))
        clock = (
            f"{hour:02d}:{minute:02d}:{second:02d}"
            if form == "extended"
            else f"{hour:02d}{minute:02d}{second:02d}"
        )
        if draw(st.booleans()):
            clock += "." + str(draw(st.integers(0, 999_999))).zfill(6)
        text += draw(st.sampled_from(["T", " "])) + clock
        offset = draw(st.sampled_from(["", "Z", "z", "+08:00", "-04:00", "+0530", "-03", "+00:00"]))
        text += offset
    return draw(st.sampled_from(["", " ", "  "])) + text + draw(st.sampled_from(["", " ", "  "]))


def _expected(text: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(utc_moment(text.strip()))
    except ValueError:
        return pd.NaT


@settings(max_examples=100, deadline=None)
@given(st.lists(iso_texts(), min_size=1, max_size=6))
def test_iso_instants_reads_each_text_as_utc_moment(texts: list[str]) -> None:
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
