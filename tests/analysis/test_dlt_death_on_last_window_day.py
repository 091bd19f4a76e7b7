"""A patient who dies on the last day of the DLT window did not complete it (D-19.231).

The protocol's DLT window is days 0-28 inclusive (examples/ct103a-nmosd/protocol.yaml `dlt_window_days: 28`;
`cartrial.escalation.assess_dlt`: an onset on day 28 is inside it), and the protocol's evaluability rule
(`cartrial.protocol.dlt.dlt_evaluable`) asks for a DLT, or a patient followed alive for at least 28 whole
days after the infusion day. The analysis passed the calendar days from day 0 to the death (28) to that rule,
so the example's CT-003 (infused 2021-06-08, infusions.csv) dying of an unrelated cause on day 28
(2021-07-06) was DLT-evaluable, counted in the DLT rate's denominator as a patient with no DLT in a window it
did not survive. A death from a treatment-related cause on day 28 is the `treatment_related_death` DLT: that
patient is evaluable.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.analysis.core import study_populations
from cartrial.store.snapshot import StudySnapshot, read_snapshot

from .conftest import CUTOFF
from .test_death_populations import INFUSED, SUBJECT, _death_row, _row, _with

WINDOW = 28  # the example protocol's escalation.dlt_window_days


def test_the_example_protocol_window_is_28_days(snapshot: StudySnapshot) -> None:
    assert snapshot.protocol.escalation.dlt_window_days == WINDOW


def test_an_unrelated_death_on_day_28_is_not_dlt_evaluable(snapshot: StudySnapshot) -> None:
    tables = _with(snapshot, _death_row(INFUSED + dt.timedelta(days=WINDOW)))
    study = study_populations(tables, snapshot.protocol, CUTOFF)
    row = _row(study.membership)
    assert row["follow_up_days"] == WINDOW  # the follow-up still ends on the day of death (D-19.83)
    assert not row["dlt_in_window"]
    assert not row["dlt_evaluable"]
    assert not row["dlt_window_pending"]
    assert "died before completing the DLT window" in row["reason_not_dlt_evaluable"]
    assert SUBJECT not in study.populations["dlt_evaluable"].subject_ids


def test_a_treatment_related_death_on_day_28_is_a_dlt_and_evaluable(snapshot: StudySnapshot) -> None:
    tables = _with(snapshot, _death_row(INFUSED + dt.timedelta(days=WINDOW), relatedness="probable"))
    row = _row(study_populations(tables, snapshot.protocol, CUTOFF).membership)
    assert row["dlt_in_window"] and row["dlt_evaluable"]


def test_an_unrelated_death_on_day_29_leaves_the_window_complete(snapshot: StudySnapshot) -> None:
    tables = _with(snapshot, _death_row(INFUSED + dt.timedelta(days=WINDOW + 1)))
    row = _row(study_populations(tables, snapshot.protocol, CUTOFF).membership)
    assert row["dlt_evaluable"] and not row["dlt_in_window"]


def test_a_living_patient_at_a_cut_off_on_day_28_completed_the_window(
    example_sqlite_template: object,
) -> None:
    """The cut-off day is a day observed (data to the end of it): the rule for the living is unchanged. The
    study read at that cut-off (changed by design, D-19.931: the snapshot at 2022-03-20 holds records after
    it, which `study_populations` now refuses)."""
    cutoff = INFUSED + dt.timedelta(days=WINDOW)
    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", cutoff)
    study = study_populations(
        dict(snapshot.tables), snapshot.protocol, cutoff, time_zones=snapshot.time_zones
    )
    assert bool(_row(study.membership)["dlt_evaluable"])


@settings(max_examples=property_examples(60), deadline=None)
@given(day=st.integers(min_value=0, max_value=200), window=st.integers(min_value=1, max_value=90))
def test_the_day_of_death_is_not_a_day_followed_through(day: int, window: int) -> None:
    """Property of the protocol's rule: a patient who died on day `day` completed the window iff the death
    came after its last day (day > window); one observed alive to day `day` iff day >= window."""
    from cartrial.protocol.dlt import dlt_followed_days, dlt_window_complete

    end = INFUSED + dt.timedelta(days=day)
    assert dlt_followed_days(INFUSED, end, died=True) == max(day - 1, 0)
    assert dlt_followed_days(INFUSED, end) == day
    assert dlt_window_complete(INFUSED, end, window, died=True) == (day, day > window)
    assert dlt_window_complete(INFUSED, end, window) == (day, day >= window)
