"""Two EDSS assessments of one subject on one day (different times; the store accepts them) are refused by
the analysis at the later record's ``assessed_at``, named by its record and the earlier one, value-free
(D-19.1009; review finding 5).

Before: `analyse` stopped with ``InputError day: two EDSS visits on the same day (got [-3, 28, 90, 90, ...])``
from the disability engine: no table, record or field a user can correct, and the study days (values)
listed. One EDSS per visit is the scale's own reading (Kurtzke 1983; Neurostatus scores one examination),
and MSoutcomes (Kalincik et al. Brain 2015) takes one EDSS per visit date: which of two same-day scores
counts is not a choice the analysis can make for the investigator.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from cartrial.analysis import analyse
from cartrial.errors import InputError
from cartrial.neuro.derive import derive_disability
from cartrial.store.snapshot import read_snapshot


def _same_day_twice(edss: pd.DataFrame) -> tuple[pd.DataFrame, str, str]:
    """The example's last EDSS record copied as a second record of its subject that day, 30 minutes later
    (12:10Z and 12:40Z: one day on any site calendar, UTC-12 to UTC+14)."""
    last = edss.index[-1]
    day = pd.Timestamp(edss.loc[last, "assessed_at"]).date().isoformat()
    copy = edss.loc[[last]].copy()
    new_id = int(pd.to_numeric(edss["record_id"]).max()) + 1
    copy["record_id"] = type(edss.loc[last, "record_id"])(new_id)
    edss = edss.copy()
    edss["assessed_at"] = edss["assessed_at"].astype(object)
    edss.loc[last, "assessed_at"] = f"{day}T12:10:00+00:00"
    copy["assessed_at"] = f"{day}T12:40:00+00:00"
    return pd.concat([edss, copy], ignore_index=True), str(edss.loc[last, "record_id"]), str(new_id)


def test_analyse_refuses_the_later_same_day_record(example_sqlite_template: Path) -> None:
    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date(2022, 3, 20))
    edss, earlier, later = _same_day_twice(snapshot.tables["edss"])
    subject = str(edss["subject_id"].iloc[-1])
    changed = dataclasses.replace(snapshot, tables={**snapshot.tables, "edss": edss})
    with pytest.raises(InputError) as caught:
        analyse(changed)
    (problem,) = caught.value.problems
    assert (problem.field, problem.value) == ("assessed_at", None)
    assert problem.record == f"edss_assessment record {later}"
    text = str(caught.value)
    assert f"record {earlier}" in text and "same day" in text
    assert subject not in text and "got" not in text


def test_derive_disability_names_the_rows_of_a_users_file() -> None:
    edss = pd.DataFrame(
        {
            "subject_id": ["S1"] * 4,
            "assessed_at": ["2021-01-01", "2021-04-01T09:00", "2021-04-01T15:00", "2021-08-01"],
            "edss": [4.0, 3.0, 3.5, 3.0],
        }
    )
    with pytest.raises(InputError) as caught:
        derive_disability(edss, {"S1": dt.date(2021, 1, 1)})
    (problem,) = caught.value.problems
    # spreadsheet numbering: the header is row 1, the 09:00 visit row 3, the 15:00 one row 4
    assert (problem.file, problem.row, problem.field, problem.value) == ("edss", 4, "assessed_at", None)
    assert "row 3" in problem.message and "90" not in str(caught.value)


def test_same_day_on_the_site_calendar_only() -> None:
    """23:30 and 00:30 UTC are two days in UTC but one (the first) in New York: refused there only."""
    edss = pd.DataFrame(
        {
            "subject_id": ["S1"] * 3,
            "assessed_at": ["2021-01-01", "2021-04-01T23:30:00Z", "2021-04-02T00:30:00Z"],
            "edss": [4.0, 3.0, 3.0],
        }
    )
    assert len(derive_disability(edss, {"S1": dt.date(2021, 1, 1)}).table) == 1
    infusions = pd.DataFrame(
        {"subject_id": ["S1"], "infusion_date": ["2021-01-01"], "time_zone": ["America/New_York"]}
    )
    with pytest.raises(InputError):
        derive_disability(edss, infusions)


def test_derive_responders_refuses_a_same_day_pair_too() -> None:
    """The responders compare the baseline and follow-up visit of a day as the disability outcome does:
    before, the 15:00 score (the file's later row) was silently the last follow-up."""
    from cartrial.neuro.derive import derive_responders
    from cartrial.neuro.edss_scale import FS_NAMES

    def row(when: str, ambulation: str) -> dict[str, str]:
        return {
            "subject_id": "S1",
            "assessed_at": when,
            **dict.fromkeys(FS_NAMES, "0"),
            "ambulation": ambulation,
        }

    edss = pd.DataFrame(
        [row("2021-01-01", "4"), row("2021-04-01T09:00", "2"), row("2021-04-01T15:00", "4")], dtype=object
    )
    with pytest.raises(InputError) as caught:
        derive_responders({"S1": dt.date(2021, 1, 2)}, edss=edss)
    (problem,) = caught.value.problems
    assert (problem.file, problem.row, problem.field, problem.value) == ("edss", 4, "assessed_at", None)
