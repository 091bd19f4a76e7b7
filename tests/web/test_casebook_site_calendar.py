"""The casebook places a subject's records on its site's calendar (docs/science/decisions.md D-19.607), as
the analysis and SDTM count its days: at a site in Wuhan (Asia/Shanghai, UTC+8) a CRS assessment at 06:30
local time the day after a 10:00 infusion (22:30Z on the infusion's UTC day) is the Day 1 visit's record,
not day 0's — in the subject's casebook, the study home's counts and the subject list's day 0."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

from tests.web.conftest import CRS_ROW, _copy_sqlite

from cartrial.store import StudyService, connect
from cartrial.web import views

TODAY = dt.date(2021, 4, 29)
"""After the Day 1 window (day 0 = 2021-04-27 in Wuhan): an empty Day 1 cell would be missing."""


def _study(template: Path, tmp_path: Path, zone: str | None) -> StudyService:
    url = _copy_sqlite(template, tmp_path)
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        db.execute("UPDATE site SET time_zone = ? WHERE site_id = 'TJH'", (zone,))
    service = StudyService(connect(url))
    with service.transaction("admin", "test: a day-1 assessment early in the morning in Wuhan") as tx:
        # CT-001 was infused at 2021-04-27T02:00Z = 10:00 in Wuhan (day 0 = 2021-04-27 either way)
        row = {**CRS_ROW, "subject_id": "CT-001", "assessed_at": "2021-04-27T22:30:00Z"}  # 06:30 on 04-28
        service.upsert_rows(tx, "crs_assessment", [row])
    return service


def _crs_cells(book: views.Casebook) -> dict[int, tuple[str, tuple[int, ...]]]:
    return {
        v.study_day: (c.status, c.record_ids)
        for v in book.visits
        for c in v.cells
        if c.table == "crs_assessment" and v.study_day in (0, 1)
    }


def test_a_wuhan_morning_record_is_on_its_ward_day(web_sqlite_template: Path, tmp_path: Path) -> None:
    service = _study(web_sqlite_template, tmp_path, "Asia/Shanghai")
    try:
        handle = service.as_user("admin")
        ids = [int(r["id"]) for r in views.rows_of(handle, "crs_assessment", subject_id="CT-001")]
        late = max(ids)  # the 06:30 Wuhan record (the fixture's 2021-04-30 one is earlier by id)
        cells = _crs_cells(views.casebook(handle, None, "CT-001", TODAY))
        assert late in cells[1][1] and cells[1][0] == "complete"  # day 1 on the ward calendar
        assert late not in cells[0][1]
        # the plain read of the whole records places it the same way
        records = {t: views.rows_of(handle, t, subject_id="CT-001") for t in views.subject_tables()}
        day0, _ = views._first_infusion(records["infusion"], "Asia/Shanghai")
        assert day0 == dt.date(2021, 4, 27)
        visits, _ = views.schedule_cells(views.study_protocol(handle), records, day0, TODAY, "Asia/Shanghai")
        plain = {v.study_day: c.record_ids for v in visits for c in v.cells if c.table == "crs_assessment"}
        assert late in plain[1] and late not in plain[0]
        # the study home reads the grouped days on the same calendar (`reads.subject_days`, tested below)
        home = views._study_home(handle, None, TODAY)
        assert home is not None
    finally:
        service.engine.dispose()


def test_a_site_without_a_zone_keeps_the_utc_day(web_sqlite_template: Path, tmp_path: Path) -> None:
    service = _study(web_sqlite_template, tmp_path, None)
    try:
        handle = service.as_user("admin")
        late = max(int(r["id"]) for r in views.rows_of(handle, "crs_assessment", subject_id="CT-001"))
        cells = _crs_cells(views.casebook(handle, None, "CT-001", TODAY))
        assert late in cells[0][1] and late not in cells[1][1]  # 22:30Z on 04-27 is day 0 in UTC
    finally:
        service.engine.dispose()


def test_record_days_and_subject_days_read_the_site_calendar(
    web_sqlite_template: Path, tmp_path: Path
) -> None:
    from cartrial.store import reads

    service = _study(web_sqlite_template, tmp_path, "Asia/Shanghai")
    try:
        with service.read() as connection:
            utc = dict(reads.record_days(connection, "crs_assessment", equals={"subject_id": "CT-001"}))
            local = dict(
                reads.record_days(
                    connection, "crs_assessment", equals={"subject_id": "CT-001"}, time_zone="Asia/Shanghai"
                )
            )
            days = reads.subject_days(connection, "crs_assessment", time_zones={"CT-001": "Asia/Shanghai"})
        late = max(utc)
        assert (utc[late], local[late]) == (dt.date(2021, 4, 27), dt.date(2021, 4, 28))
        assert ("CT-001", dt.date(2021, 4, 28)) in days and ("CT-001", dt.date(2021, 4, 27)) not in days
        assert ("CT-101", dt.date(2021, 4, 30)) in days  # a subject not listed: its UTC day
    finally:
        service.engine.dispose()


def test_the_escalation_page_closes_a_window_on_the_site_s_today(
    web_sqlite_template: Path, tmp_path: Path
) -> None:
    """CT-001 (TJH) infused 2021-04-27T02:00Z: day 0 = 27 April in Kiritimati (UTC+14, 16:00) as in UTC;
    the 28-day window closes on 25 May. At 2021-05-24T11:00Z it is already 25 May 01:00 there: closed at
    the site, though UTC's today (24 May) is still inside it; its evaluation is read as of that same day."""
    from cartrial.web.escalation import escalation_state

    url = _copy_sqlite(web_sqlite_template, tmp_path)
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        db.execute("UPDATE site SET time_zone = 'Pacific/Kiritimati' WHERE site_id = 'TJH'")
    service = StudyService(connect(url))
    try:
        now = dt.datetime(2021, 5, 24, 11, 0, tzinfo=dt.UTC)
        state = escalation_state(service, None, dt.date(2021, 5, 24), now=now)
        patient = {p["subject_id"]: p for p in state["patients"]}
        assert patient["CT-001"]["window_closes_on"] == "2021-05-25"
        assert (patient["CT-001"]["window_open"], patient["CT-001"]["days_left"]) == (False, 0)
        assert (patient["CT-101"]["window_open"], patient["CT-101"]["days_left"]) == (
            True,
            1,
        )  # PUMCH: no zone
        # the evaluation is as of the same day as the window: closed without a DLT at TJH, pending at PUMCH
        assert patient["CT-001"]["evaluation"] == "no DLT"
        assert patient["CT-101"]["evaluation"] == "pending"
    finally:
        service.engine.dispose()


def test_both_backends_read_the_instant_on_the_site_calendar(any_web_study: Any) -> None:
    """`reads.record_days`/`subject_days` with a zone read the stored instant (SQLite text, PostgreSQL
    timestamptz) and take its date on the site's clock: 22:30Z on 27 April is 28 April in Wuhan."""
    from sqlalchemy import text

    from cartrial.store import reads

    service = any_web_study.service
    with service.transaction("admin", "test: a day-1 assessment early in the morning in Wuhan") as tx:
        row = {**CRS_ROW, "subject_id": "CT-001", "assessed_at": "2021-04-27T22:30:00Z"}
        service.upsert_rows(tx, "crs_assessment", [row])
    with service.engine.begin() as connection:
        connection.execute(text("UPDATE site SET time_zone = 'Asia/Shanghai' WHERE site_id = 'TJH'"))
    with service.read() as connection:
        local = dict(
            reads.record_days(
                connection, "crs_assessment", equals={"subject_id": "CT-001"}, time_zone="Asia/Shanghai"
            )
        )
        days = reads.subject_days(connection, "crs_assessment", time_zones={"CT-001": "Asia/Shanghai"})
    assert sorted(local.values()) == [dt.date(2021, 4, 28), dt.date(2021, 4, 30)]  # 04-30 10:00Z: 18:00
    assert sorted(d for s, d in days if s == "CT-001") == [dt.date(2021, 4, 28), dt.date(2021, 4, 30)]


def test_subject_days_across_a_clock_set_back_over_midnight(any_web_study: Any) -> None:
    """D-19.616: in Goose Bay (America/Goose_Bay) daylight saving ended at 00:01 ADT (UTC-3) on
    7 November 2010, 03:01Z, the clock set back to 23:01 AST (UTC-4) on the 6th. Three assessments of the
    UTC day 2010-11-07 — 03:00:30Z (00:00:30 on the 7th), 03:30Z (23:30 on the 6th) and 05:00Z (01:00 on
    the 7th) — are on the site days 6 and 7 November: the first and last instant of the UTC day alone say
    the 7th only. In Wuhan (no clock change) all three are on the 7th."""
    from cartrial.store import reads

    service = any_web_study.service
    with service.transaction("admin", "test: assessments on a clock change at the site") as tx:
        rows = [
            {**CRS_ROW, "subject_id": "CT-001", "assessed_at": at}
            for at in ("2010-11-07T03:00:30Z", "2010-11-07T03:30:00Z", "2010-11-07T05:00:00Z")
        ]
        service.upsert_rows(tx, "crs_assessment", rows)
    with service.read() as connection:
        goose_bay = reads.subject_days(
            connection, "crs_assessment", time_zones={"CT-001": "America/Goose_Bay"}
        )
        wuhan = reads.subject_days(connection, "crs_assessment", time_zones={"CT-001": "Asia/Shanghai"})
    assert {d for s, d in goose_bay if s == "CT-001" and d.year == 2010} == {
        dt.date(2010, 11, 6),
        dt.date(2010, 11, 7),
    }
    assert {d for s, d in wuhan if s == "CT-001" and d.year == 2010} == {dt.date(2010, 11, 7)}
