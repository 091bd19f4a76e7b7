"""D-19.614: a subject's casebook and the study home's scheduled forms are read against today at the
subject's site. At 07:00 on 29 April 2021 in Wuhan (Asia/Shanghai) it is 23:00Z on the 28th: the casebook
of a Wuhan subject was "as of 2021-04-28" and its visit windows read against the 28th."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
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


@pytest.fixture
def wuhan_study(web_sqlite_template: Path, tmp_path: Path) -> Iterator[StudyService]:
    """A copy of the example study with its site in Asia/Shanghai (disposed after the test)."""
    url = _copy_sqlite(web_sqlite_template, tmp_path)
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        db.execute("UPDATE site SET time_zone = 'Asia/Shanghai'")
    service = StudyService(connect(url))
    try:
        yield service
    finally:
        service.engine.dispose()


def test_the_casebook_is_as_of_the_site_s_today(wuhan_study: StudyService, frozen: None) -> None:
    handle = wuhan_study.as_user("admin")
    book = views.casebook(handle, None, "CT-001")
    assert book.as_of == dt.date(2021, 4, 29)
    ward_day = views.casebook(handle, None, "CT-001", dt.date(2021, 4, 29))
    assert [v.cells for v in book.visits] == [v.cells for v in ward_day.visits]


def test_the_study_home_counts_each_subject_on_its_site_s_today(
    wuhan_study: StudyService, frozen: None
) -> None:
    handle = wuhan_study.as_user("admin")
    ward = views._study_home(handle, None, dt.date(2021, 4, 29)).completeness
    utc = views._study_home(handle, None, dt.date(2021, 4, 28)).completeness
    assert ward != utc  # the day matters here: a visit window closes between the two
    home = views.study_home(handle, None)
    assert home.completeness == ward
    assert home.as_of == dt.date(2021, 4, 28)  # the study-wide page's label: the UTC date


@pytest.mark.parametrize(
    ("now", "kathmandu_day"),
    [
        (dt.datetime(2021, 4, 28, 18, 14, 59, tzinfo=dt.UTC), dt.date(2021, 4, 28)),  # 23:59:59 there
        (dt.datetime(2021, 4, 28, 18, 15, tzinfo=dt.UTC), dt.date(2021, 4, 29)),  # 00:00 there
    ],
)
def test_the_study_home_s_quarter_hour_keeps_a_plus_0545_site_s_today(
    web_sqlite_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    now: dt.datetime,
    kathmandu_day: dt.date,
) -> None:
    """Asia/Kathmandu is UTC+05:45: its midnight falls at a quarter hour of UTC (18:15Z), so the instant the
    study home rounds down to (`SITE_DAY_STEP`) reads the same site today as the true instant, a second
    before and at its midnight (D-19.614)."""
    from cartrial.columns import site_today

    service = StudyService(connect(_copy_sqlite(web_sqlite_template, tmp_path)))
    seen: list[object] = []
    monkeypatch.setattr(views, "_study_home", lambda handle, sites, at: seen.append(at) or SimpleNamespace())
    try:
        views.study_home(service.as_user("admin"), None, now=now)
    finally:
        service.engine.dispose()
    (at,) = seen
    assert isinstance(at, dt.datetime) and at <= now
    assert site_today("Asia/Kathmandu", at) == site_today("Asia/Kathmandu", now) == kathmandu_day
