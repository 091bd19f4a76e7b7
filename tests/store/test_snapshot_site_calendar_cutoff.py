"""The data cut-off is a calendar date, and a date-time record belongs on or before it when its date on the
calendar of the subject's site is on or before it (D-19.729; the study-day rule D-19.607). The snapshot cut
by the UTC date: a Wuhan (Asia/Shanghai, UTC+8) laboratory sample at 05:00 local on the day after the
cut-off (21:00Z on the cut-off date) was kept, though the analysis dates it after the cut-off; a New York
(America/New_York, UTC-4 in August) sample at 23:00 EDT on the cut-off date (03:00Z the next day) was left
out. A therapy stopped at those instants is ended after / on the cut-off by the same rule (D-19.85).

Expected values are hand-computed from the zones' offsets (Asia/Shanghai UTC+8 all year; America/New_York
EDT UTC-4 on 1-2 August 2021), not from our code."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select, update
from tests.conftest import property_examples

CUT = dt.date(2021, 8, 1)
WUHAN, NEW_YORK = "CT-004", "CT-003"
WUHAN_NEXT_MORNING = dt.datetime(2021, 8, 1, 21, 0, tzinfo=dt.UTC)  # 2021-08-02 05:00 in Wuhan: after
NEW_YORK_EVENING = dt.datetime(2021, 8, 2, 3, 0, tzinfo=dt.UTC)  # 2021-08-01 23:00 EDT in New York: on


def _prepare(url: str) -> dict[str, int]:
    """TJH in Asia/Shanghai, CT-003 moved to a New York site, and one lab and one therapy record of each
    subject moved to the instants above (direct writes: the edit checks are not what is tested)."""
    from cartrial.store import connect
    from cartrial.store.models import LabResult, Site, Subject, Therapy

    engine = connect(url)
    ids: dict[str, int] = {}
    with engine.begin() as connection:
        connection.execute(update(Site).where(Site.site_id == "TJH").values(time_zone="Asia/Shanghai"))
        connection.execute(
            insert(Site).values(site_id="NYU", name="New York", country="USA", time_zone="America/New_York")
        )
        connection.execute(update(Subject).where(Subject.subject_id == NEW_YORK).values(site_id="NYU"))
        for key, sid, when in (
            ("wuhan", WUHAN, WUHAN_NEXT_MORNING),
            ("new_york", NEW_YORK, NEW_YORK_EVENING),
        ):
            lab = connection.execute(
                select(LabResult.id).where(LabResult.subject_id == sid).order_by(LabResult.id)
            ).first()
            assert lab is not None
            connection.execute(update(LabResult).where(LabResult.id == lab[0]).values(collected_at=when))
            ids[f"{key}_lab"] = lab[0]
            therapy = connection.execute(
                select(Therapy.id)
                .where(Therapy.subject_id == sid, Therapy.given_at < when)
                .order_by(Therapy.id)
            ).first()
            assert therapy is not None
            connection.execute(update(Therapy).where(Therapy.id == therapy[0]).values(stopped_at=when))
            ids[f"{key}_therapy"] = therapy[0]
    engine.dispose()
    return ids


def _check(url: str, ids: dict[str, int]) -> None:
    from cartrial.store.snapshot import read_snapshot

    snapshot = read_snapshot(url, CUT)
    labs = snapshot.tables["labs"]
    kept = set(labs["record_id"].astype(int))
    # Wuhan, 05:00 on 2 August local: after the cut-off, left out and counted
    assert ids["wuhan_lab"] not in kept
    assert WUHAN in snapshot.after_cutoff_subjects["labs"]
    # New York, 23:00 EDT on 1 August: on the cut-off date, kept with its UTC instant
    row = labs[labs["record_id"].astype(int) == ids["new_york_lab"]]
    assert row["collected_at"].tolist() == ["2021-08-02T03:00:00Z"]
    therapies = snapshot.tables["therapies"].set_index(snapshot.tables["therapies"]["record_id"].astype(int))
    # stopped at 05:00 on 2 August in Wuhan: ongoing at the cut-off (D-19.85)
    assert therapies.loc[ids["wuhan_therapy"], "stopped_at"] == ""
    # stopped at 23:00 EDT on 1 August in New York: ended on the cut-off date, its end kept
    assert therapies.loc[ids["new_york_therapy"], "stopped_at"] == "2021-08-02T03:00:00Z"


def _site_dates_on_or_before_cut(url: str) -> None:
    """Every date-time record the snapshot keeps is on or before the cut-off on its site's calendar, as the
    analysis (`site_date`, D-19.607) dates it: the one rule both sides read."""
    from cartrial.analysis.populations import site_date
    from cartrial.store.snapshot import SNAPSHOT_TABLES, read_snapshot

    snapshot = read_snapshot(url, CUT)
    site_of = dict(
        zip(snapshot.tables["subjects"]["subject_id"], snapshot.tables["subjects"]["site_id"], strict=True)
    )
    for name, model in SNAPSHOT_TABLES.items():
        column = model.clinical_date_column
        frame = snapshot.tables[name]
        if column is None or "subject_id" not in frame.columns:
            continue
        for sid, value in zip(frame["subject_id"], frame[column], strict=True):
            day = site_date(value, snapshot.time_zones.get(site_of.get(sid, ""), None))
            assert day is None or day <= CUT, (name, sid, value)


def _check_lock(url: str, ids: dict[str, int]) -> None:
    """The data lock freezes what the snapshot at its cut-off holds (D-19.730): the New York lab of 23:00 EDT
    on the cut-off date is frozen, the Wuhan lab of 05:00 local on the next day is not."""
    from cartrial.store import connect, locking
    from cartrial.store.models import DataLock, LabResult

    engine = connect(url)
    with engine.begin() as connection:
        digest, _ = locking.snapshot(connection, CUT)
        connection.execute(
            insert(DataLock).values(
                cutoff=CUT,
                locked_by="admin",
                locked_at=dt.datetime(2021, 8, 5, tzinfo=dt.UTC),
                reason="cut-off",
                snapshot_sha256=digest,
                active=True,
            )
        )
    with engine.connect() as connection:
        lock = locking.active_lock(connection)
        assert lock is not None and locking.snapshot_matches(connection) is True
        rows = {
            row["id"]: dict(row)
            for row in connection.execute(
                select(LabResult.__table__).where(LabResult.id.in_([ids["wuhan_lab"], ids["new_york_lab"]]))
            ).mappings()
        }
    engine.dispose()
    assert locking.is_locked(LabResult, rows[ids["new_york_lab"]], lock)
    assert not locking.is_locked(LabResult, rows[ids["wuhan_lab"]], lock)
    assert "zones" not in lock.fields()  # the lock's outputs are unchanged


def _check_sdtm(url: str) -> None:
    """End to end: SDTM LB at the cut-off has the New York sample at its local date-time on the cut-off date
    and no Wuhan sample dated after the cut-off (SDTMIG v3.4 --DTC is the local date-time, D-19.607)."""
    from cartrial.analysis import analyse
    from cartrial.cdisc.sdtm import build_sdtm
    from cartrial.store.snapshot import read_snapshot

    snapshot = read_snapshot(url, CUT)
    # SDTM only (LB is an SDTM dataset; ADaM, built after it from the same frames, is not needed here)
    lb = build_sdtm(snapshot, analyse(snapshot), dict(snapshot.sites))["LB"]
    new_york = lb[lb["USUBJID"].str.endswith(NEW_YORK)]
    assert "2021-08-01T23:00-04:00" in set(new_york["LBDTC"])
    wuhan = lb[lb["USUBJID"].str.endswith(WUHAN)]
    assert not any(d[:10] > CUT.isoformat() for d in wuhan["LBDTC"] if d)


def test_sqlite_snapshot_and_lock_cut_on_the_site_calendar(example_sqlite: str) -> None:
    """One prepared SQLite study file (the example's, copied) read by the snapshot and the lock."""
    ids = _prepare(example_sqlite)
    _check(example_sqlite, ids)
    _site_dates_on_or_before_cut(example_sqlite)
    _check_lock(example_sqlite, ids)


@pytest.mark.slow
def test_sqlite_sdtm_lb_cut_on_the_site_calendar(example_sqlite: str) -> None:
    """End to end through the analysis and SDTM (about 5 s: the analysis and SDTM of the example study),
    on its own prepared copy so that the fast snapshot and lock test above stays under 5 s."""
    _prepare(example_sqlite)
    _check_sdtm(example_sqlite)


@pytest.mark.slow  # the analysis of the example study on PostgreSQL (several seconds)
@pytest.mark.postgres
def test_postgres_snapshot_and_lock_cut_on_the_site_calendar(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from .conftest import empty_study_copy

    # this test's own copy of the session's imported example study (tests/store/conftest.py), not a new import
    postgres_url = empty_study_copy(request, "postgresql", tmp_path, imported=True)
    ids = _prepare(postgres_url)
    _check(postgres_url, ids)
    _site_dates_on_or_before_cut(postgres_url)
    _check_lock(postgres_url, ids)


ZONES = ["Asia/Shanghai", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kolkata", ""]


@settings(max_examples=property_examples(300), deadline=None)
@given(
    seconds=st.integers(min_value=-3 * 86400, max_value=3 * 86400),
    zone=st.sampled_from(ZONES),
    as_text=st.booleans(),
)
def test_on_or_before_cutoff_is_the_date_on_the_site_clock(seconds: int, zone: str, as_text: bool) -> None:
    """The fast text comparison and the window never disagree with the date read on the site's clock by
    zoneinfo itself (UTC+14 Kiritimati and UTC-11 Pago Pago: the extremes of the one-day window), except
    exactly 00:00:00Z, a date typed without a time, which is that UTC date on every calendar (D-19.947;
    changed by design: it was read on the site's clock too)."""
    from zoneinfo import ZoneInfo

    from cartrial.store.snapshot import on_or_before_cutoff

    instant = dt.datetime.combine(CUT, dt.time(12), tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)
    bare = instant.time() == dt.time(0)
    expected = (instant if bare or not zone else instant.astimezone(ZoneInfo(zone))).date() <= CUT
    value = instant.strftime("%Y-%m-%dT%H:%M:%SZ") if as_text else instant
    zones = {"S": zone} if zone else {}
    assert on_or_before_cutoff([value], ["S"], zones, CUT).tolist() == [expected]


@pytest.mark.parametrize("zone", ["Pacific/Pago_Pago", "America/Los_Angeles", "Asia/Shanghai"])
def test_a_bare_date_after_the_cutoff_is_after_it_at_every_site(zone: str) -> None:
    """00:00:00Z of the day after the cut-off (a date typed without a time) is after the cut-off, west of
    UTC too; 00:00:00Z of the cut-off date is on it (D-19.947)."""
    from cartrial.store.snapshot import on_or_before_cutoff

    values = [dt.datetime(2021, 8, 2, tzinfo=dt.UTC), "2021-08-02T00:00:00Z", "2021-08-01T00:00:00Z"]
    assert on_or_before_cutoff(values, ["S"] * 3, {"S": zone}, CUT).tolist() == [False, False, True]
