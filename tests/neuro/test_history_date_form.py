"""The one form of a history date (`cartrial.neuro.tables.onset_period`, D-19.1214): matched in full.

``YYYY(-(MM|UN)(-(DD|UN))?)?`` optionally followed, after a complete date, by an ISO 8601 time. The reader
split on ``T``, space and ``-`` and read what it could: ``2019-07-15-03`` and ``2019--07-01`` were the year
2019, ``2019-07-01Tgarbage`` and ``2019-07-01T25:00`` the day 2019-07-01. Expected periods by hand.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial.neuro.tables import history_onsets, onset_period


@pytest.mark.parametrize(
    "text",
    [
        "2019-07-15-03",
        "2019--07-01",
        "2019-07-01Tgarbage",
        "2019-07-01T25:00",
        "2019-07-01T10:60",
        "2019-07-01T10:00+25:00",
        "2019-07-UNT10:00",
        "2019-07-01 10:00",
        "2019-UNK",
        "2019-07-XX",
        "2019-7-1",
        "19-07-01",
        "2019-07-01T",
    ],
)
def test_a_text_that_is_no_history_date_is_refused(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        onset_period(text)
    assert text not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2019", date(2019, 1, 1), date(2019, 12, 31)),
        ("2019-UN-UN", date(2019, 1, 1), date(2019, 12, 31)),
        ("2019-UN-15", date(2019, 1, 1), date(2019, 12, 31)),  # the day after an unknown month is not kept
        ("2020-02", date(2020, 2, 1), date(2020, 2, 29)),
        ("2020-02-UN", date(2020, 2, 1), date(2020, 2, 29)),
        ("2019-07-01", date(2019, 7, 1), date(2019, 7, 1)),
        ("2019-07-01T02:00+08:00", date(2019, 7, 1), date(2019, 7, 1)),  # the date written, not UTC's
        ("2019-07-01T23:59:59.5Z", date(2019, 7, 1), date(2019, 7, 1)),
        ("2019-07-01T08", date(2019, 7, 1), date(2019, 7, 1)),
    ],
)
def test_a_history_date_of_the_one_form_is_its_period(text: str, first: date, last: date) -> None:
    assert onset_period(text) == (first, last)


def test_an_onset_that_is_no_history_date_is_skipped_and_counted_by_the_analysis() -> None:
    read = history_onsets('[{"onset_date": "2019-07-15-03"}, {"onset_date": "2019-03"}]')
    assert (read.onsets, read.unreadable) == ([date(2019, 3, 1)], 1)


@given(st.dates(min_value=date(1000, 1, 1), max_value=date(9999, 12, 31)), st.integers(0, 2))
def test_every_iso_date_right_truncated_is_read_as_its_period(day: date, cut: int) -> None:
    text = day.isoformat()[: (10, 7, 4)[cut]]
    first, last = onset_period(text)
    assert first.isoformat().startswith(text) and last.isoformat().startswith(text)
    assert first <= day <= last
