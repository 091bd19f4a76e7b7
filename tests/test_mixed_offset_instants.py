"""A column mixing date-times with and without a UTC offset: each text is its own instant, a text without an
offset UTC, whatever the row before it (D-19.777). In one `pd.to_datetime(..., format="ISO8601")` call
pandas 2.x gives a text without an offset the offset of the row before it ('2021-06-01T10:00+08:00' then
'2021-06-01T10:00' both 02:00Z); every reader of many texts goes through `cartrial.columns.iso_instants`.
Expected instants by hand: 17:00+08:00 is 09:00Z; a text without an offset is the UTC time it says.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cartrial.analysis.kinetics import sample_actual_days
from cartrial.analysis.populations import site_date, site_date_texts
from cartrial.cdisc.sdtm import _instants
from cartrial.columns import RowProblems
from cartrial.grading.quality import check_duplicate_assessments
from cartrial.report.figures import _study_day


def test_pre_dose_time_of_a_sample_without_offset_after_one_with() -> None:
    # infusion 10:00Z; sample 1 at 17:00+08:00 = 09:00Z (1 h before: -1/24 d); sample 2 at 09:30 (no offset:
    # 09:30Z, 0.5 h before: -0.5/24 d), not 01:30Z (8.5 h before) with the first row's +08:00
    samples = pd.DataFrame(
        {
            "subject_id": ["A", "A"],
            "actual_day": [0.0, 0.0],
            "sampled_at": ["2021-05-01T17:00:00+08:00", "2021-05-01T09:30:00"],
        }
    )
    infusions = pd.DataFrame({"subject_id": ["A"], "infused_at": ["2021-05-01T10:00:00Z"]})
    days = sample_actual_days(samples, infusions).tolist()
    assert days == pytest.approx([-1 / 24, -0.5 / 24])


def test_no_false_duplicate_of_a_moment_without_offset() -> None:
    # 10:00+08:00 is 02:00Z; 10:00 without an offset is 10:00Z: two assessments, not one moment
    frame = pd.DataFrame(
        {
            "subject_id": ["S1", "S1"],
            "assessed_at": ["2024-01-11T10:00:00+08:00", "2024-01-11T10:00:00"],
            "temperature_c": ["38.5", "37.0"],
        }
    )
    problems = RowProblems("crs.csv")
    check_duplicate_assessments(frame, "assessed_at", problems)
    assert problems.all() == []


def test_true_duplicate_of_a_moment_without_offset_is_found() -> None:
    # 10:00+08:00 is 02:00Z, the moment 02:00 without an offset (UTC) says
    frame = pd.DataFrame(
        {
            "subject_id": ["S1", "S1"],
            "assessed_at": ["2024-01-11T10:00:00+08:00", "2024-01-11T02:00:00"],
            "temperature_c": ["38.5", "38.5"],
        }
    )
    problems = RowProblems("crs.csv")
    check_duplicate_assessments(frame, "assessed_at", problems)
    assert [p.row for p in problems.all()] == [3]


def test_sdtm_instants_of_a_mixed_column() -> None:
    cells = pd.Series(["2021-06-01T10:00+08:00", "2021-06-01T10:00", "2021-06-01", ""])
    expected = np.array(
        ["2021-06-01T02:00", "2021-06-01T10:00", "2021-06-01T00:00", "NaT"], dtype="datetime64[ns]"
    )
    np.testing.assert_array_equal(_instants(cells), expected)


def test_figure_study_day_of_a_mixed_column() -> None:
    # infused on 1 June (UTC calendar); 2 June 10:00+08:00 = 02:00Z and 2 June 20:00 (UTC) are both day 1;
    # a date of 3 June is day 2 — none dropped because the first row had an offset
    frame = pd.DataFrame(
        {
            "subject_id": ["A", "A", "A"],
            "collected_at": ["2021-06-02T10:00:00+08:00", "2021-06-02T20:00:00", "2021-06-03"],
        }
    )
    days = _study_day(frame, "collected_at", {"A": pd.Timestamp("2021-06-01")}, {})
    assert days.tolist() == [1, 1, 2]


def test_site_dates_of_a_mixed_column_in_wuhan_and_new_york() -> None:
    # guards the one rule of a cell's site date (D-19.779). Wuhan (UTC+8): 23:30 without offset is 23:30Z,
    # 07:30 on 2 June; New York (UTC-4 in June): 02:00Z is 22:00 on 1 June; a date stays as typed
    frame = pd.DataFrame(
        {
            "subject_id": ["W", "W", "N", "N"],
            "at": ["2021-06-01T10:00:00+08:00", "2021-06-01T23:30:00", "2021-06-02T02:00:00Z", "2021-06-02"],
        }
    )
    zones = {"W": "Asia/Shanghai", "N": "America/New_York"}
    assert site_date_texts(frame, "at", zones).tolist() == [
        "2021-06-01",
        "2021-06-02",
        "2021-06-01",
        "2021-06-02",
    ]
    assert [str(site_date(t, zones[s])) for s, t in zip(frame["subject_id"], frame["at"], strict=True)] == [
        "2021-06-01",
        "2021-06-02",
        "2021-06-01",
        "2021-06-02",
    ]
    assert site_date("20210602", "America/New_York") == site_date("2021-W22-3", "America/New_York")
    assert str(site_date("2021-W22-3", "America/New_York")) == "2021-06-02"  # ISO week 22, Wednesday
    assert site_date("", "Asia/Shanghai") is None


def test_store_reader_of_a_mixed_column_refuses_the_time_without_offset() -> None:
    # guard (checked, unchanged): the store parses only a date or a date-time with an offset in one call; a
    # time without one is refused before (D-19.296), and a bare date after an offset row is its own 00:00Z
    from cartrial.store.importing.validation import _parse_datetimes

    cells = pd.Series(["2021-06-01T10:00+08:00", "2021-06-01", "2021-06-01T10:00", "2021-06-02T10:00Z"])
    problems = RowProblems("labs.csv")
    values = _parse_datetimes(cells, "collected_at", True, problems)
    assert [v.isoformat() if v is not None else None for v in values] == [
        "2021-06-01T02:00:00+00:00",
        "2021-06-01T00:00:00+00:00",
        None,
        "2021-06-02T10:00:00+00:00",
    ]
    assert [(p.row, p.message) for p in problems.all()] == [(4, "date-time without a time zone (ambiguous)")]


def test_figure_study_day_of_a_space_separated_date_time_is_on_the_site_clock() -> None:
    # New York (UTC-4 in June), infused on 1 June: '2021-06-02 02:00:00+00:00' (a date-time with a space, as
    # ISO 8601 allows by agreement and pandas writes) is 22:00 on 1 June, day 0; the bare date '2021-06-02'
    # is 2 June as typed, day 1. Before: a text without a 'T' was taken as a bare date (UTC date, day 1).
    frame = pd.DataFrame(
        {"subject_id": ["A", "A"], "collected_at": ["2021-06-02 02:00:00+00:00", "2021-06-02"]}
    )
    days = _study_day(frame, "collected_at", {"A": pd.Timestamp("2021-06-01")}, {"A": "America/New_York"})
    assert days.tolist() == [0, 1]
