"""Tables holding a record after the cut-off are refused by the analysis, never counted (D-19.926).

`read_snapshot(url, cutoff)` leaves out every record dated after the cut-off (and counts it) and reads a
record that ended after it as ongoing (D-19.85). But `analyse` also takes a notebook's own tables and a
snapshot given another cut-off (`dataclasses.replace(snapshot, cutoff=...)`, D-19.67), and it did not look at
the dates:

- the example snapshot at 2022-03-20 given the cut-off 2021-10-06 (CT-008 to CT-012 infused after it,
  infusions.csv) failed with a bare ``KeyError: 'CT-008'`` from `populations.last_contact`;
- one pneumonia of grade 3 added to CT-001 on 2022-03-25, five days after the cut-off 2022-03-20, was counted:
  "infection grade >= 3" went from 1 of 12 (CT-006, the example's only one) to 2 of 12 (CT-001;CT-006) in
  `teae_summary`, and the listing held an event after the cut-off.

The comparison is the snapshot's one rule (`cartrial.store.snapshot.on_or_before_cutoff`): a date-time by its
date on the calendar of the subject's site — the example's site TJH is Asia/Shanghai (UTC+8): by hand
2022-03-20T15:00Z is 23:00 on 20 March there (on the cut-off day), 2022-03-20T20:00Z is 04:00 on 21 March
(after it), though its UTC date is the cut-off's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import given, settings
from tests.conftest import property_examples

from cartrial.analysis import analyse
from cartrial.analysis.core import refuse_records_after_cutoff
from cartrial.errors import InputError
from cartrial.store.snapshot import StudySnapshot

from .conftest import CUTOFF


def _with_row(snapshot: StudySnapshot, table: str, **values: str) -> StudySnapshot:
    frame = snapshot.tables[table]
    row = frame.iloc[0].to_dict() | values
    tables = dict(snapshot.tables) | {table: pd.concat([frame, pd.DataFrame([row])], ignore_index=True)}
    return dataclasses.replace(snapshot, tables=tables)


def _located(error: pytest.ExceptionInfo[InputError]) -> list[str]:
    return [p.location() for p in error.value.problems]


def test_a_snapshot_given_an_earlier_cutoff_is_refused_by_record(snapshot: StudySnapshot) -> None:
    earlier = dataclasses.replace(snapshot, cutoff=dt.date(2021, 10, 6))
    with pytest.raises(InputError) as error:  # KeyError: 'CT-008' before
        analyse(earlier)
    located = _located(error)
    # CT-008 was infused on 2021-10-12 (infusions.csv): its infusion is after the cut-off
    assert any(p.startswith("infusions, infusion record ") and p.endswith("infused_at") for p in located)
    assert {p.message for p in error.value.problems} == {"dated after the data cut-off"}
    assert "on or before 2021-10-06" in str(error.value.problems[0].allowed)


def test_an_adverse_event_after_the_cutoff_is_refused_not_counted(snapshot: StudySnapshot) -> None:
    before = analyse(snapshot).datasets["teae_summary"].table
    row = before[(before["group"] == "all") & (before["measure"] == "infection_grade_ge3")].iloc[0]
    assert (row["k"], row["n"], row["subjects"]) == (1, 12, "CT-006")  # the example as it is
    late = _with_row(
        snapshot,
        "adverse_events",
        subject_id="CT-001",
        term="Pneumonia",
        category="infection",
        started_on="2022-03-25",
        ended_on="",
        grade="3",
        record_id="99999",
    )
    with pytest.raises(InputError) as error:  # counted before: 2 of 12, CT-001;CT-006
        analyse(late)
    (problem,) = error.value.problems
    assert problem.location() == "adverse_events, adverse_event record 99999, started_on"
    assert "2022-03-25" not in str(error.value)  # the record is named, never its value (D-12.2)


def test_an_adverse_event_that_ended_after_the_cutoff_is_not_refused(snapshot: StudySnapshot) -> None:
    """Changed by design (D-19.928): refused before; only a record's own clinical date is refused — one that
    ended after the cut-off is read as ongoing at it, as read_snapshot reads it (D-19.85; the counts in
    test_cutoff_review_items.py)."""
    late_end = _with_row(
        snapshot,
        "adverse_events",
        subject_id="CT-001",
        started_on="2022-03-10",
        ended_on="2022-04-02",
        record_id="99997",
    )
    refuse_records_after_cutoff(dict(late_end.tables), CUTOFF, snapshot.time_zones)
    listing = analyse(late_end).datasets["teae_listing"].table
    assert listing.loc[listing["record_id"] == "99997", "ended_on"].tolist() == [""]


@pytest.mark.parametrize(
    ("collected_at", "refused"), [("2022-03-20T15:00:00Z", False), ("2022-03-20T20:00:00Z", True)]
)
def test_a_lab_is_after_the_cutoff_on_its_sites_calendar(
    snapshot: StudySnapshot, collected_at: str, refused: bool
) -> None:
    assert snapshot.time_zones == {"TJH": "Asia/Shanghai"}
    with_lab = _with_row(snapshot, "labs", subject_id="CT-001", collected_at=collected_at, record_id="99998")
    tables = dict(with_lab.tables)
    if refused:
        with pytest.raises(InputError) as error:
            refuse_records_after_cutoff(tables, CUTOFF, snapshot.time_zones)
        assert _located(error) == ["labs, lab_result record 99998, collected_at"]
    else:
        refuse_records_after_cutoff(tables, CUTOFF, snapshot.time_zones)  # 23:00 in Wuhan on the cut-off day
    # in UTC (no site zone) both are on the cut-off day
    refuse_records_after_cutoff(tables, CUTOFF, {})


DAYS = st.dates(min_value=dt.date(2021, 1, 1), max_value=dt.date(2021, 12, 31))


@settings(max_examples=property_examples(60), deadline=None)
@given(onsets=st.lists(DAYS, min_size=1, max_size=6), first=DAYS, later=st.integers(0, 60))
def test_a_later_cutoff_never_refuses_what_an_earlier_one_took(
    onsets: list[dt.date], first: dt.date, later: int
) -> None:
    """Refused exactly when an onset is after the cut-off (counted by hand: max(onsets) > cut-off); what one
    cut-off takes, every later one takes too."""
    frame = pd.DataFrame(
        {
            "subject_id": ["S1"] * len(onsets),
            "started_on": [d.isoformat() for d in onsets],
            "ended_on": [""] * len(onsets),
            "record_id": [str(i + 1) for i in range(len(onsets))],
        }
    )

    def taken(cutoff: dt.date) -> bool:
        try:
            refuse_records_after_cutoff({"adverse_events": frame}, cutoff)
        except InputError as error:
            assert len(error.problems) == sum(d > cutoff for d in onsets)
            return False
        return True

    assert taken(first) == (max(onsets) <= first)
    if taken(first):
        assert taken(first + dt.timedelta(days=later))
