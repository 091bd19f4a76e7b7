"""`sdtm.history_dtc`: a history date is written as the analysis reads it (D-19.1214, D-19.1215).

``2019-07-01T02:00+08:00`` was written through `dtc`, which converts a date-time to UTC: ``2019-06-30T18:00``,
the date moved a day and the offset lost, while the analysis (`onset_period`) reads 2019-07-01. A complete
date is now written as the day the analysis reads, at date precision (D-19.1220; D-19.1215 kept the time and
offset as written, which gave a subject's dates two styles, D-19.607); a partial one right-truncated; a text
that is no date of the one form is refused (it was written as the year or the day it began with)."""

from __future__ import annotations

import pytest

from cartrial.cdisc.sdtm import history_dtc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-07-01T02:00+08:00", "2019-07-01"),
        ("2019-07-01T02:00Z", "2019-07-01"),
        ("2019-07-01", "2019-07-01"),
        ("2019-07-UN", "2019-07"),
        ("2019-UN-15", "2019"),
        ("2019", "2019"),
        (" ", ""),
    ],
)
def test_a_history_date_is_written_with_the_date_the_analysis_reads(text: str, expected: str) -> None:
    assert history_dtc(text) == expected


@pytest.mark.parametrize("text", ["2019-07-15-03", "2019--07-01", "2019-07-01Tgarbage", "2019-07-01T25:00"])
def test_a_text_that_is_no_history_date_is_not_written(text: str) -> None:
    with pytest.raises(ValueError):
        history_dtc(text)
