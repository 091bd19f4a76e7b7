"""Writes under an active data lock, through the service (the path every client takes), at a New York site:
the lock freezes a date-time by its date on the site's calendar (D-19.730), and that calendar cannot change
while the lock is active (D-19.733): a site's time zone or a subject's site decides which records are frozen,
so changing either under the lock silently changed the frozen set (the locked hash then failed to verify).

Hand-derived expectations: America/New_York is EDT (UTC-4) on 1-2 August 2021, so with cut-off 2021-08-01
2021-08-02T03:59:59Z is 23:59:59 local on the cut-off date (frozen) and 2021-08-02T04:00:00Z is 00:00 local
on 2 August (not frozen)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from cartrial.errors import CartrialError, ConflictError

CUT = dt.date(2021, 8, 1)
LAST_SECOND = dt.datetime(2021, 8, 2, 3, 59, 59, tzinfo=dt.UTC)  # 23:59:59 EDT on the cut-off date
MIDNIGHT = dt.datetime(2021, 8, 2, 4, 0, 0, tzinfo=dt.UTC)  # 00:00 EDT on 2 August
NEW_YORK = "CT-003"


def _prepare(url: str) -> dict[str, Any]:
    """A New York site holding CT-003, an empty Berlin site, two labs of CT-003 at the two instants above
    (direct writes: the edit checks are not what is tested)."""
    from cartrial.store import connect
    from cartrial.store.models import LabResult, Site, Subject

    engine = connect(url)
    with engine.begin() as c:
        c.execute(
            insert(Site).values(site_id="NYU", name="New York", country="USA", time_zone="America/New_York")
        )
        c.execute(insert(Site).values(site_id="BER", name="Berlin", country="DEU", time_zone="Europe/Berlin"))
        c.execute(update(Subject).where(Subject.subject_id == NEW_YORK).values(site_id="NYU"))
        labs = (
            c.execute(
                select(LabResult.__table__)
                .where(LabResult.subject_id == NEW_YORK)
                .order_by(LabResult.id)
                .limit(2)
            )
            .mappings()
            .all()
        )
        frozen, free = int(labs[0]["id"]), int(labs[1]["id"])
        c.execute(update(LabResult).where(LabResult.id == frozen).values(collected_at=LAST_SECOND))
        c.execute(update(LabResult).where(LabResult.id == free).values(collected_at=MIDNIGHT))
        template = {
            k: v for k, v in labs[0].items() if k not in ("id", "version", "created_at", "updated_at")
        }
    engine.dispose()
    return {"frozen": frozen, "free": free, "template": template}


@pytest.fixture
def locked(example_sqlite: str) -> tuple[Any, dict[str, Any]]:
    from cartrial.store.service import StudyService

    ids = _prepare(example_sqlite)
    service = StudyService(example_sqlite)
    service.lock("admin", CUT, "interim cut-off")
    assert service.locked_snapshot_matches() is True
    return service, ids


def _record(service: Any, table: str, **equals: Any) -> dict[str, Any]:
    return service.find_records("admin", table, **equals)[0]


def test_site_calendar_cannot_change_under_the_lock(locked: tuple[Any, dict[str, Any]]) -> None:
    service, _ = locked
    # the banner's reader skips the subject → zone map (read per page render); the lock is the same
    described = service.active_lock(zones=False)
    assert described.zones == {} and described.fields() == service.active_lock().fields()
    assert service.active_lock().zones[NEW_YORK] == "America/New_York"
    site = _record(service, "site", site_id="NYU")
    with pytest.raises(ConflictError, match=r"site record \d+.*time_zone.*data lock #\d+.*unlock"):
        service.update_record(
            "admin", "site", site["id"], {"time_zone": "Pacific/Pago_Pago"}, site["version"], "fix"
        )
    with pytest.raises(ConflictError, match="time_zone"):  # removing the zone: UTC, also a change
        service.update_record("admin", "site", site["id"], {"time_zone": None}, site["version"], "fix")
    # a site without subjects dates no record (a new site has none; a site with subjects cannot be
    # deleted): a new site with a zone, a zone set or changed on it, and its deletion are accepted
    service.insert_record(
        "admin", "site", {"site_id": "SYD", "name": "Sydney", "time_zone": "Australia/Sydney"}
    )
    sydney = _record(service, "site", site_id="SYD")
    service.update_record(
        "admin", "site", sydney["id"], {"time_zone": "Australia/Perth"}, sydney["version"], "fix"
    )
    berlin = _record(service, "site", site_id="BER")
    service.delete_record("admin", "site", berlin["id"], "closed")
    subject = _record(service, "subject", subject_id="CT-001")
    with pytest.raises(ConflictError, match=r"subject record \d+.*site_id.*data lock"):
        service.update_record(
            "admin", "subject", subject["id"], {"site_id": "NYU"}, subject["version"], "moved"
        )
    # the import path: the same refusal
    with pytest.raises(ConflictError, match="time_zone"), service.transaction("admin", "import", "fix") as tx:
        service.upsert_rows(tx, "site", [{"site_id": "NYU", "time_zone": "Asia/Tokyo"}], ["site_id"])
    # what does not touch the calendar is accepted: a site's name, a new site without a zone
    service.update_record("admin", "site", site["id"], {"name": "NYU Langone"}, site["version"], "name")
    service.insert_record("admin", "site", {"site_id": "OSL", "name": "Oslo"})
    oslo = _record(service, "site", site_id="OSL")  # None -> zone on a site without subjects
    service.update_record("admin", "site", oslo["id"], {"time_zone": "Europe/Oslo"}, oslo["version"], "zone")
    with service.transaction("admin", "import", "zone") as tx:  # the import path alike
        service.upsert_rows(tx, "site", [{"site_id": "OSL", "time_zone": "Europe/Berlin"}], ["site_id"])
    assert service.locked_snapshot_matches() is True
    # unlock, change, lock again: the audited way
    service.unlock("admin", "zone correction")
    site = _record(service, "site", site_id="NYU")
    service.update_record(
        "admin", "site", site["id"], {"time_zone": "America/Chicago"}, site["version"], "fix"
    )
    service.lock("admin", CUT, "relock")
    assert service.locked_snapshot_matches() is True


def test_writes_at_the_new_york_cut_off_midnight(locked: tuple[Any, dict[str, Any]]) -> None:
    service, ids = locked
    template = ids["template"]
    with pytest.raises(ConflictError, match="frozen"):
        service.insert_record(
            "admin", "lab_result", {**template, "collected_at": LAST_SECOND - dt.timedelta(minutes=1)}
        )
    service.insert_record(
        "admin", "lab_result", {**template, "collected_at": MIDNIGHT + dt.timedelta(minutes=1)}
    )
    frozen = _record(service, "lab_result", id=ids["frozen"])
    free = _record(service, "lab_result", id=ids["free"])
    with pytest.raises(ConflictError, match="frozen"):
        service.update_record(
            "admin", "lab_result", frozen["id"], {"collected_at": MIDNIGHT}, frozen["version"], "r"
        )
    with pytest.raises(ConflictError, match="frozen"):  # moved onto the cut-off date: frozen too
        service.update_record(
            "admin",
            "lab_result",
            free["id"],
            {"collected_at": LAST_SECOND - dt.timedelta(seconds=1)},
            free["version"],
            "r",
        )
    with pytest.raises(ConflictError, match="frozen"):
        service.delete_record("admin", "lab_result", frozen["id"], "wrong subject")
    with pytest.raises(ConflictError, match="frozen"), service.transaction("admin", "import", "r") as tx:
        service.upsert_rows(
            tx, "lab_result", [{**template, "collected_at": LAST_SECOND - dt.timedelta(minutes=2)}]
        )
    with service.transaction("admin", "import", "r") as tx:
        service.upsert_rows(
            tx, "lab_result", [{**template, "collected_at": MIDNIGHT + dt.timedelta(minutes=2)}]
        )
    service.delete_record("admin", "lab_result", free["id"], "wrong subject")
    assert service.locked_snapshot_matches() is True


def test_a_lock_is_not_taken_over_an_unknown_zone(example_sqlite: str) -> None:
    """Taking a lock reads the zones as the snapshot does: a zone the zoneinfo database does not know is
    refused, located by its site (it was read as UTC, while `read_snapshot` at that cut-off refuses it)."""
    from cartrial.store import connect
    from cartrial.store.models import Site
    from cartrial.store.service import StudyService

    _prepare(example_sqlite)
    engine = connect(example_sqlite)
    with engine.begin() as c:
        c.execute(update(Site).where(Site.site_id == "NYU").values(time_zone="America/New_Yrok"))
    engine.dispose()
    service = StudyService(example_sqlite)
    with pytest.raises(CartrialError, match="NYU"):
        service.lock("admin", CUT, "interim")
    assert service.active_lock() is None


def test_a_new_subject_is_read_on_its_site_calendar_in_the_same_import(
    locked: tuple[Any, dict[str, Any]],
) -> None:
    """The lock's subject → zone map was loaded once per transaction: a subject imported at the New York site
    and its lab at 23:59:59 EDT on the cut-off date in the same transaction were judged in UTC (2 August:
    not frozen) and the lab was written under the lock, changing the locked snapshot."""
    service, ids = locked
    subject = {k: v for k, v in _record(service, "subject", subject_id=NEW_YORK).items()}
    kept = {k: subject[k] for k in subject if k not in ("id", "version", "created_at", "updated_at")}
    # consented after the cut-off (a subject is frozen by its consent date): the subject itself is not frozen
    new = {**kept, "subject_id": "CT-900", "site_id": "NYU", "consent_date": dt.date(2021, 8, 2)}
    lab = {**ids["template"], "subject_id": "CT-900", "collected_at": LAST_SECOND}
    with pytest.raises(ConflictError, match="frozen"), service.transaction("admin", "import", "new") as tx:
        service.upsert_rows(tx, "subject", [new])
        service.upsert_rows(tx, "lab_result", [lab])
    assert service.locked_snapshot_matches() is True
