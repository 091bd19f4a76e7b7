"""A data cut-off after today is refused by the Python API as by the command line (D-19.51, D-19.380), with a
named opt-in (`allow_future_cutoff`) for the readers where a later date is legitimate; a lock as of a planned
date stays allowed."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest

from cartrial.analysis import analyse, study_populations
from cartrial.columns import not_after_today, utc_today
from cartrial.errors import InputError
from cartrial.store.snapshot import StudySnapshot, read_snapshot

from .conftest import CUTOFF

TOMORROW = utc_today() + dt.timedelta(days=1)


def _refused(error: pytest.ExceptionInfo[InputError], field: str) -> None:
    problem = error.value.problems[0]
    assert problem.field == field
    assert problem.message == "a data cut-off cannot be in the future"
    assert problem.allowed == f"a date up to today ({utc_today().isoformat()})"


@pytest.mark.parametrize("cutoff", [TOMORROW, TOMORROW.isoformat(), dt.date(9999, 12, 31)])
def test_read_snapshot_refuses_a_cutoff_after_today(example_sqlite_template: Path, cutoff: object) -> None:
    with pytest.raises(InputError) as error:
        read_snapshot(f"sqlite:///{example_sqlite_template}", cutoff)  # type: ignore[arg-type]
    _refused(error, "cutoff")


def test_today_is_allowed(example_sqlite_template: Path) -> None:
    today = utc_today()
    assert read_snapshot(f"sqlite:///{example_sqlite_template}", today).cutoff == today


def test_the_named_opt_in_reads_and_analyses_a_later_cutoff(example_sqlite_template: Path) -> None:
    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", TOMORROW, allow_future_cutoff=True)
    assert snapshot.cutoff == TOMORROW and snapshot.allow_future_cutoff
    assert snapshot.metadata()["cutoff_after_today_allowed"] is True
    analysis = analyse(snapshot)
    assert analysis.snapshot["cutoff_after_today_allowed"] is True
    # the opt-in travels with the snapshot, a replaced cut-off is checked with it (a cut-off after the one
    # the tables were read at is a new read, D-19.1289: the replaced cut-off is the read one, after today)
    assert dataclasses.replace(snapshot, cutoff=TOMORROW).cutoff == TOMORROW


def test_a_snapshot_replaced_with_a_later_cutoff_is_refused(snapshot: StudySnapshot) -> None:
    assert snapshot.metadata()["cutoff_after_today_allowed"] is False
    with pytest.raises(InputError) as error:
        dataclasses.replace(snapshot, cutoff=TOMORROW)
    _refused(error, "cutoff")


def test_study_populations_refuses_a_later_cutoff_unless_opted_in(snapshot: StudySnapshot) -> None:
    with pytest.raises(InputError) as error:
        study_populations(snapshot.tables, snapshot.protocol, TOMORROW)
    _refused(error, "cutoff")
    later = study_populations(snapshot.tables, snapshot.protocol, TOMORROW, allow_future_cutoff=True)
    assert later.populations == study_populations(snapshot.tables, snapshot.protocol, CUTOFF).populations


def test_analyse_refuses_a_duck_typed_snapshot_with_a_later_cutoff(snapshot: StudySnapshot) -> None:
    duck = SimpleNamespace(
        tables=snapshot.tables, protocol=snapshot.protocol, cutoff=TOMORROW, metadata=snapshot.metadata
    )
    with pytest.raises(InputError) as error:
        analyse(duck)
    _refused(error, "snapshot.cutoff")


def test_the_cli_keeps_its_message_and_exit_code(example_sqlite: str, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("analyse", "--url", example_sqlite, "--user", "admin", "--cutoff", TOMORROW.isoformat())
    assert result.exit_code == 2
    flat = " ".join(result.stderr.split())
    assert "--cutoff" in flat and "a data cut-off cannot be in the future" in flat
    assert f"a date up to today ({utc_today().isoformat()})" in flat


def test_a_lock_as_of_a_planned_date_stays_allowed(example_sqlite: str) -> None:
    from cartrial.store import StudyService

    info = StudyService(example_sqlite).as_user("admin").lock(TOMORROW, "planned database lock")
    assert info.cutoff == TOMORROW


class _LocalAheadOfUtc(dt.date):
    """A server whose local date is a day ahead of UTC (east of Greenwich before UTC midnight)."""

    @classmethod
    def today(cls) -> _LocalAheadOfUtc:
        return cls(2024, 3, 16)


class _UtcNow(dt.datetime):
    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> _UtcNow:  # type: ignore[override]
        return cls(2024, 3, 15, 23, 30, tzinfo=dt.UTC)


def test_today_is_the_utc_date_not_the_servers_local_date(monkeypatch: pytest.MonkeyPatch) -> None:
    """D-19.387: at 23:30 UTC on 15 March a server on UTC+10 says 16 March; the cut-off rule says 15 March."""
    import cartrial.columns as columns

    monkeypatch.setattr(columns, "_dt", SimpleNamespace(date=_LocalAheadOfUtc, datetime=_UtcNow, UTC=dt.UTC))
    assert utc_today() == dt.date(2024, 3, 15)
    assert not_after_today(dt.date(2024, 3, 15), "cutoff") == dt.date(2024, 3, 15)
    with pytest.raises(InputError) as error:
        not_after_today(dt.date(2024, 3, 16), "cutoff")
    assert error.value.problems[0].allowed == "a date up to today (2024-03-15)"
