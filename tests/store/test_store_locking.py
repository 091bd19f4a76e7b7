"""`cartrial.store.locking`: which records a cut-off freezes, the snapshot hash, lock and unlock."""

from __future__ import annotations

import datetime as dt

import pytest

from cartrial.errors import ConflictError, InputError
from cartrial.store import locking
from cartrial.store.models import STUDY_TABLES


def test_is_locked_by_clinical_date() -> None:
    lock = locking.LockInfo(
        1, dt.date(2022, 3, 20), "stat", dt.datetime(2022, 3, 21, tzinfo=dt.UTC), "r", None
    )
    lab = STUDY_TABLES["lab_result"]
    last_second = dt.datetime(2022, 3, 20, 23, 59, 59, tzinfo=dt.UTC)
    assert locking.is_locked(lab, {"collected_at": last_second}, lock)
    assert not locking.is_locked(lab, {"collected_at": last_second + dt.timedelta(seconds=1)}, lock)
    assert not locking.is_locked(lab, {"collected_at": None}, lock)
    assert not locking.is_locked(STUDY_TABLES["site"], {}, lock)  # sites are never frozen


def test_lock_snapshot_and_unlock(study) -> None:
    user = study.service.as_user("admin")
    with user.transaction("test", "cut-off") as tx:
        info = locking.lock(tx, dt.date(2021, 5, 31), "cut-off")
    assert info.records_locked == 2  # consent 2021-05-06 and 2021-05-27; CT-101 consented in June
    with study.service.read() as connection:
        assert locking.snapshot_matches(connection) is True
        assert locking.active_lock(connection) == locking.LockInfo(
            info.id, info.cutoff, "admin", info.locked_at, "cut-off", info.snapshot_sha256
        )
    with pytest.raises(ConflictError, match="already locked"), user.transaction("test", "again") as tx:
        locking.lock(tx, dt.date(2021, 5, 31), "again")
    with user.transaction("test", "done") as tx:
        assert locking.unlock(tx, "done").id == info.id
    with study.service.read() as connection:
        assert locking.active_lock(connection) is None and locking.snapshot_matches(connection) is None


def test_the_last_representable_day_locks_every_dated_record(study) -> None:
    """`db lock --cutoff 9999-12-31` used to overflow computing the end of the cut-off day (decisions §19)."""
    info = study.service.as_user("stat").lock(dt.date.max, "everything")
    assert info.records_locked == 3


@pytest.mark.parametrize("cutoff", ["0001-01-01", "2021-05-05"])
def test_a_lock_that_freezes_no_record_is_refused_naming_the_cutoff(study, cutoff: str) -> None:
    """`db lock --cutoff 0001-01-01` locked 0 records with exit 0 (the earliest record is the consent of
    2021-05-06): now exit 2 naming --cutoff, no lock and no audit row written (cli-audit, D-19.505)."""
    from cartrial.cli import main

    audit_before = study.service.table_counts()["audit_log"]
    code = main(["db", "lock", "--url", study.url, "--user", "admin", "--cutoff", cutoff, "--reason", "x"])
    assert code == 2
    assert study.service.active_lock() is None
    assert study.service.table_counts()["audit_log"] == audit_before
    with pytest.raises(InputError) as caught:
        study.service.lock("admin", dt.date.fromisoformat(cutoff), "x")
    (problem,) = caught.value.problems
    assert problem.field == "cutoff" and "earliest record" in (problem.allowed or "")
    # the earliest record's own day freezes it: allowed
    assert study.service.lock("admin", dt.date(2021, 5, 6), "first consent").records_locked == 1


def test_the_cli_names_the_cutoff_option(study, capsys: pytest.CaptureFixture[str]) -> None:
    from cartrial.cli import main

    assert (
        main(["db", "lock", "--url", study.url, "--user", "admin", "--cutoff", "1999-01-01", "--reason", "x"])
        == 2
    )
    err = capsys.readouterr().err
    assert "--cutoff" in err and "freeze no record" in err
