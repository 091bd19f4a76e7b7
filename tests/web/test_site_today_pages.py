"""D-19.614: a subject's casebook and the study home's scheduled forms are read against today at the
subject's site. At 07:00 on 29 April 2021 in Wuhan (Asia/Shanghai) it is 23:00Z on the 28th: the casebook
of a Wuhan subject was "as of 2021-04-28" and its visit windows read against the 28th."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest
from tests.web.conftest import _copy_sqlite

from cartrial.store import StudyService, connect
from cartrial.web import views

WUHAN_7AM = dt.datetime(2021, 4, 28, 23, 0, tzinfo=dt.UTC)


class _Frozen(dt.datetime):
    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> _Frozen:  # type: ignore[override]
        return cls.fromtimestamp(WUHAN_7AM.timestamp(), dt.UTC)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """The current instant is `WUHAN_7AM` wherever "now" is read (`cartrial.columns`)."""
    import cartrial.columns as columns

    clock = SimpleNamespace(date=dt.date, datetime=_Frozen, UTC=dt.UTC, timedelta=dt.timedelta)
    monkeypatch.setattr(columns, "_dt", clock)


def _wuhan_study(template: Path, tmp_path: Path) -> StudyService:
    url = _copy_sqlite(template, tmp_path)
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        db.execute("UPDATE site SET time_zone = 'Asia/Shanghai'")
    return StudyService(connect(url))


def test_the_casebook_is_as_of_the_site_s_today(
    web_sqlite_template: Path, tmp_path: Path, frozen: None
) -> None:
    service = _wuhan_study(web_sqlite_template, tmp_path)
    try:
        handle = service.as_user("admin")
        book = views.casebook(handle, None, "CT-001")
        assert book.as_of == dt.date(2021, 4, 29)
        ward_day = views.casebook(handle, None, "CT-001", dt.date(2021, 4, 29))
        assert [v.cells for v in book.visits] == [v.cells for v in ward_day.visits]
    finally:
        service.engine.dispose()


def test_the_study_home_counts_each_subject_on_its_site_s_today(
    web_sqlite_template: Path, tmp_path: Path, frozen: None
) -> None:
    service = _wuhan_study(web_sqlite_template, tmp_path)
    try:
        handle = service.as_user("admin")
        ward = views._study_home(handle, None, dt.date(2021, 4, 29)).completeness
        utc = views._study_home(handle, None, dt.date(2021, 4, 28)).completeness
        assert ward != utc  # the day matters here: a visit window closes between the two
        home = views.study_home(handle, None)
        assert home.completeness == ward
        assert home.as_of == dt.date(2021, 4, 28)  # the study-wide page's label: the UTC date
    finally:
        service.engine.dispose()
