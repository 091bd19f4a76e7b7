"""A snapshot's cut-off is the one its tables were read at, or an earlier one (D-19.1289).

`dataclasses.replace(snapshot, cutoff=later)` of the example read at 2021-12-31 was analysed at 2022-03-20
silently: every subject followed 79 days more (CT-001 327 days instead of 248) though none of the 198 records
dated between the two cut-offs was read, and the data-status finding stated "198 records dated after the
cut-off [2022-03-20] left out" — records dated before it. The tables hold the study as of the date they
were read at; a later cut-off needs a new read (`read_snapshot(url, cutoff)`). An earlier cut-off is analysed
by D-19.926's rule, but the lock read with the snapshot is the lock at the read date: at another cut-off the
snapshot holds no lock of its own (docs/analysis.md: "lock_id: the active data lock at exactly this
cut-off, else the snapshot is unlocked")."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from cartrial.errors import InputError
from cartrial.store.snapshot import StudySnapshot


def test_a_later_cutoff_than_the_read_is_refused(snapshot: StudySnapshot) -> None:
    later = snapshot.cutoff + dt.timedelta(days=1)
    with pytest.raises(InputError) as error:
        dataclasses.replace(snapshot, cutoff=later)
    problem = error.value.problems[0]
    assert problem.field == "cutoff"
    assert snapshot.cutoff.isoformat() in str(problem.allowed)
    assert "read_snapshot" in str(problem.allowed)


def test_the_same_cutoff_is_kept(snapshot: StudySnapshot) -> None:
    same = dataclasses.replace(snapshot, cutoff=snapshot.cutoff)
    assert same.cutoff == snapshot.cutoff and same.metadata() == snapshot.metadata()


def test_an_earlier_cutoff_does_not_carry_the_lock_of_the_read_date(snapshot: StudySnapshot) -> None:
    locked = dataclasses.replace(snapshot, lock_id=7, lock_audit_head_id=3, lock_audit_head_hash="ab")
    assert locked.metadata()["lock_id"] == 7 and not locked.unlocked
    earlier = dataclasses.replace(locked, cutoff=snapshot.cutoff - dt.timedelta(days=1))
    meta = earlier.metadata()
    assert earlier.unlocked and meta["unlocked"] is True
    assert (meta["lock_id"], meta["lock_audit_head_id"], meta["lock_audit_head_hash"]) == (None, None, None)
    assert meta["cutoff"] == (snapshot.cutoff - dt.timedelta(days=1)).isoformat()


def test_an_earlier_cutoff_records_the_read_date_and_its_counts_say_so(snapshot: StudySnapshot) -> None:
    """The counts of records left out by the read are the read date's, not the replaced cut-off's
    (D-19.1293): the metadata records `read_at_cutoff` when it differs, and the data-status finding names
    it."""
    from cartrial.analysis.findings import data_status_finding

    assert "read_at_cutoff" not in snapshot.metadata()  # the same cut-off: nothing more to record
    earlier = dataclasses.replace(snapshot, cutoff=snapshot.cutoff - dt.timedelta(days=1))
    meta = earlier.metadata()
    read = snapshot.cutoff.isoformat()
    assert meta["read_at_cutoff"] == read
    meta["records_after_cutoff"] = {"labs": 2}
    meta["records_ended_after_cutoff"] = {"adverse_events": 1}
    text = data_status_finding(meta).statement
    assert f"2 records dated after the read cut-off {read} left out" in text
    assert f"read cut-off {read}" in text.split("ended after")[1]
