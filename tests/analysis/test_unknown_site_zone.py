"""A stored site time zone the zoneinfo database does not know (a direct change of the database, or a
system without the zone) is refused once, located by its site (``site TJH``, time_zone) and never shown
(D-12.2): the analysis (`site_calendar`), the store's edit checks and the casebook read the same check; no
reader counts that site's days in UTC silently (D-19.607)."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from cartrial.analysis.populations import site_calendar
from cartrial.columns import on_site_clock
from cartrial.errors import StoredValueError

UNKNOWN = "Mars/Olympus_Mons"


def _one_site_problem(error: StoredValueError, stored: str = UNKNOWN) -> None:
    assert [(p.record, p.field) for p in error.problems] == [("site TJH", "time_zone")]
    assert stored not in str(error) and "Olympus" not in str(error)


def test_site_calendar_refuses_an_unknown_zone_once() -> None:
    tables = {
        "subjects": pd.DataFrame({"subject_id": ["A", "B"], "site_id": ["TJH", "TJH"]}),
        "infusions": pd.DataFrame({"subject_id": ["A", "B"], "infused_at": ["", ""]}),
    }
    with pytest.raises(StoredValueError) as caught:
        site_calendar(tables, {"TJH": UNKNOWN, "PUMCH": "Asia/Shanghai"})
    _one_site_problem(caught.value)


def test_on_site_clock_never_falls_back_to_utc() -> None:
    moment = dt.datetime(2021, 4, 26, 23, 30, tzinfo=dt.UTC)
    with pytest.raises(ValueError):
        on_site_clock(moment, UNKNOWN)
    assert on_site_clock(moment, None) is moment and on_site_clock(moment, "") is moment


@pytest.mark.parametrize("zone", [UNKNOWN, "posix/Asia/Shanghai", "right/UTC", "Factory", "localtime"])
def test_analysis_edit_checks_and_casebook_refuse_the_same_way(
    example_sqlite_template: Path, tmp_path: Path, zone: str
) -> None:
    """An unknown zone, and a key zoneinfo loads that names no place's zone (a posix/ or right/ copy,
    Factory, localtime), stored by direct SQL: one located problem on every reader, never a traceback."""
    from cartrial.analysis import analyse
    from cartrial.store import StudyService, connect
    from cartrial.store.edit_checks import SubjectRecords, site_zones_of, stored_records
    from cartrial.store.snapshot import read_snapshot
    from cartrial.web import views

    db = tmp_path / "study.db"
    shutil.copyfile(example_sqlite_template, db)
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE site SET time_zone = ? WHERE site_id = 'TJH'", (zone,))
    url = f"sqlite:///{db}"
    with pytest.raises(StoredValueError) as caught:
        analyse(read_snapshot(url, dt.date(2022, 3, 20)))
    _one_site_problem(caught.value, zone)
    service = StudyService(connect(url))
    try:
        with service.read() as connection, pytest.raises(StoredValueError) as caught:
            stored = stored_records(connection, ["CT-001"])
            site_zones_of(connection, [SubjectRecords(s, tables) for s, tables in stored.items()])
        _one_site_problem(caught.value, zone)
        with pytest.raises(StoredValueError) as caught:
            views.casebook(service.as_user("admin"), None, "CT-001", dt.date(2022, 3, 20))
        _one_site_problem(caught.value, zone)
    finally:
        service.engine.dispose()


def test_the_snapshot_provenance_names_each_site_s_calendar(
    example_sqlite_template: Path, tmp_path: Path
) -> None:
    from cartrial.store.snapshot import read_snapshot

    db = tmp_path / "study.db"
    shutil.copyfile(example_sqlite_template, db)
    metadata = read_snapshot(f"sqlite:///{db}", dt.date(2022, 3, 20)).metadata()
    assert metadata["site_time_zones"] == {"TJH": "Asia/Shanghai"}  # the example's sites.csv
