"""The housekeeping columns `created_at`, `updated_at` and `version` of the audited tables are outside the
trail (`tamper.HOUSEKEEPING`; the sweep `test_security_tamper_sweep.py` leaves them out): D-19.412 pins why
that is safe — no rule reads them, and a tampered `version` can neither hide nor make an unaudited change —
and the one rule that did read one (the closure time of an edit-check query) now reads the trail."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from cartrial.errors import ConflictError
from cartrial.store import connect
from cartrial.store.models import STUDY_TABLES
from cartrial.store.tamper import verify_complete

from .conftest import StudyDb
from .test_edit_checks import GOOD_INFUSION, edit_check_queries

FAR_FUTURE = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _direct(db: StudyDb, table: str, record_id: int, **values: object) -> None:
    """A direct SQL update of one row (what anyone with write access to the database can run)."""
    model = STUDY_TABLES[table]
    with connect(db.url).begin() as connection:
        connection.execute(update(model.__table__).where(model.__table__.c.id == record_id).values(**values))


def test_a_closed_edit_check_query_re_raises_after_its_stored_update_time_is_moved(study: StudyDb) -> None:
    """D-19.122 raises a closed edit-check query anew once its field changes after the closure. The closure
    time was the query's `updated_at`, which no audit verification covers: moved to 2099 by SQL, the check
    never fired again on that field and `audit verify` found nothing. The closure time is now the trail's."""
    service = study.service
    record_id = service.insert_record("inv", "infusion", GOOD_INFUSION)

    def edit(changes: dict[str, object]) -> None:
        record = service.get_record("inv", "infusion", record_id)
        service.update_record("inv", "infusion", record_id, changes, int(record["version"]), "edit")

    def dose_queries() -> list[dict[str, object]]:
        return [q for q in edit_check_queries(service) if q["field"] == "cells_per_kg"]

    edit({"cells_per_kg": 5e6, "total_car_t_cells": 2.9e8})  # 10× the protocol dose: soft check
    (first,) = dose_queries()
    service.close_query("admin", str(first["query_code"]), "site corrected the dose")
    edit({k: GOOD_INFUSION[k] for k in ("cells_per_kg", "total_car_t_cells")})
    _direct(study, "data_query", int(first["id"]), updated_at=FAR_FUTURE)
    assert verify_complete(service).ok  # the tamper itself is outside the trail (pinned below)
    edit({"cells_per_kg": 5e6, "total_car_t_cells": 2.9e8})  # wrong again, after the closure
    assert [q["status"] for q in dose_queries()] == ["closed", "open"]


@pytest.mark.parametrize("column", ["created_at", "updated_at", "version"])
def test_a_housekeeping_column_changed_by_sql_is_not_a_finding(study: StudyDb, column: str) -> None:
    """Pinned (D-19.412): the trail does not record these columns, so a direct change of one alone is not
    reported; the record's data, which the trail does record, still verify."""
    service = study.service
    record_id = service.insert_record("admin", "infusion", GOOD_INFUSION)
    values: dict[str, object] = {"version": 7} if column == "version" else {column: LONG_AGO}
    _direct(study, "infusion", record_id, **values)
    assert verify_complete(service).ok
    _direct(study, "infusion", record_id, weight_kg=59.0, **values)  # with a data change: reported
    findings = verify_complete(service).findings
    assert [(f.table, f.record_id, f.fields) for f in findings if f.kind == "unaudited-update"] == [
        ("infusion", record_id, ("weight_kg",))
    ]


def test_a_lowered_version_lets_a_stale_edit_through_only_as_an_audited_change(study: StudyDb) -> None:
    """Why `version` needs no trail (D-19.412): lowering it by SQL makes a stale editor's write pass the
    optimistic-concurrency check, but that write is an ordinary audited update whose recorded old value is
    the value it overwrote — the trail shows what was lost, and nothing unaudited is left to find."""
    service = study.service
    record_id = service.insert_record("admin", "infusion", GOOD_INFUSION)
    stale = int(service.get_record("admin", "infusion", record_id)["version"])
    service.update_record("admin", "infusion", record_id, {"weight_kg": 60.0}, stale, "first editor")
    with pytest.raises(ConflictError):
        service.update_record("dm", "infusion", record_id, {"weight_kg": 61.0}, stale, "second editor")
    _direct(study, "infusion", record_id, version=stale)
    service.update_record("dm", "infusion", record_id, {"weight_kg": 61.0}, stale, "second editor")
    (row,) = [
        r
        for r in service.audit_rows(actor="admin")
        if r["table_name"] == "infusion" and r["field"] == "weight_kg" and r["username"] == "dm"
    ]
    assert (row["old_value"], row["new_value"]) == ("60.0", "61.0")
    assert verify_complete(service).ok


@pytest.mark.parametrize("column", ["id", "version", "created_at", "updated_at"])
def test_no_data_query_is_raised_on_a_housekeeping_column(study: StudyDb, column: str) -> None:
    """A data query asks the site about a recorded value; the columns the service maintains are no one's
    to answer for, so a query on one was a query no answer could resolve (D-19.417)."""
    from cartrial.errors import InputError

    service = study.service
    record_id = service.insert_record("admin", "infusion", GOOD_INFUSION)
    with pytest.raises(InputError, match="unknown field") as caught:
        service.raise_query("mon", "infusion", record_id, "please check", column)
    assert "weight_kg" in str(caught.value.problems[0].allowed)
    assert service.find_records("admin", "data_query") == []
    service.raise_query("mon", "infusion", record_id, "please check", "weight_kg")
