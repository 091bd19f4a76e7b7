"""An edit changing a key other records refer to (a subject's id, a site's id) is refused before the write,
naming the field and the tables whose records refer to it, never the id (D-19.1328). Before, the database's
foreign-key refusal came back as "the database refused the write to subject: its reference to a stored
record", at field ``subject``, allowing "values that ... refer to stored records ... (another writer may have
stored the same record meanwhile: retry)": a retry never helps, and the records that hold the id were not
named (on SQLite no table at all; on PostgreSQL one constraint name)."""

from __future__ import annotations

import pytest

from ..conftest import build_example


def _copy_to_subject(tx, table: str, row: dict, subject_id: str) -> None:
    from cartrial.store.bulk import upsert_rows
    from cartrial.store.tables import HOUSEKEEPING_COLUMNS

    upsert_rows(
        tx,
        table,
        [{k: v for k, v in row.items() if k not in HOUSEKEEPING_COLUMNS} | {"subject_id": subject_id}],
    )


def test_renaming_the_subject_new_with_records_names_the_field_and_the_referring_tables(db_url: str) -> None:
    """D-19.1167 tells the data manager to rename a subject stored as `new`; with a record referring to it,
    the refusal says what holds the id and what to do, on both backends."""
    from cartrial.errors import ConflictError
    from cartrial.store import StudyService

    build_example(db_url)
    service = StudyService(db_url)
    try:
        (walk, *_) = service.find_records("admin", "timed_walk")
        (first, *_) = service.find_records("admin", "subject")
        with service.as_user("admin").transaction(source="test", reason="kept from before") as tx:
            from cartrial.store.bulk import upsert_rows

            row = {"subject_id": "new", "site_id": first["site_id"], "consent_date": "2021-05-06", "sex": "M"}
            upsert_rows(tx, "subject", [{**row, "weight_kg": 60.0}])
            _copy_to_subject(tx, "timed_walk", dict(walk), "new")
        (record,) = [r for r in service.find_records("admin", "subject") if r["subject_id"] == "new"]
        before = service.find_records("admin", "subject")
        with pytest.raises(ConflictError) as caught:
            service.as_user("admin").update_record(
                "subject", record["id"], {"subject_id": "NEW-1"}, record["version"], "renamed"
            )
        assert service.find_records("admin", "subject") == before  # nothing written
        problem = caught.value.problem
        assert problem is not None
        assert problem.field == "subject_id"
        assert "timed_walk" in problem.message, problem.message
        assert "retry" not in str(caught.value) and "retry" not in str(problem.allowed)
        assert "move" in str(problem.allowed), problem.allowed
        for shown in (str(caught.value), problem.message, str(problem.allowed)):
            assert "NEW-1" not in shown and "`new`" not in shown  # no id, typed or stored (D-12.2)
        assert problem.value is None
    finally:
        service.engine.dispose()


def test_renaming_a_site_with_subjects_names_the_field_and_the_referring_tables(db_url: str) -> None:
    from cartrial.errors import ConflictError
    from cartrial.store import StudyService

    build_example(db_url)
    service = StudyService(db_url)
    try:
        (site, *_) = service.find_records("admin", "site")
        with pytest.raises(ConflictError) as caught:
            service.as_user("admin").update_record(
                "site", site["id"], {"site_id": "ZZZ"}, site["version"], "renamed"
            )
        problem = caught.value.problem
        assert problem is not None
        assert problem.field == "site_id"
        assert "subject" in problem.message, problem.message
        assert site["site_id"] not in str(caught.value) + problem.message + str(problem.allowed)
    finally:
        service.engine.dispose()


def test_renaming_a_subject_no_record_refers_to_still_works(db_url: str) -> None:
    from cartrial.store import StudyService

    build_example(db_url)
    service = StudyService(db_url)
    try:
        (first, *_) = service.find_records("admin", "subject")
        with service.as_user("admin").transaction(source="test", reason="kept from before") as tx:
            from cartrial.store.bulk import upsert_rows

            row = {"subject_id": "new", "site_id": first["site_id"], "consent_date": "2021-05-06", "sex": "M"}
            upsert_rows(tx, "subject", [{**row, "weight_kg": 60.0}])
        (record,) = [r for r in service.find_records("admin", "subject") if r["subject_id"] == "new"]
        version = service.as_user("admin").update_record(
            "subject", record["id"], {"subject_id": "NEW-1"}, record["version"], "renamed"
        )
        assert version == record["version"] + 1
    finally:
        service.engine.dispose()


def test_renaming_a_frozen_subject_with_records_is_told_of_the_lock_not_to_move_records(db_url: str) -> None:
    """A subject whose consent date is on or before a data lock's cut-off is frozen: renaming it is refused
    by the lock (unlock first), not by the references (moving or deleting its records, which the lock
    forbids as well)."""
    import datetime as dt

    from cartrial.errors import ConflictError
    from cartrial.store import StudyService

    build_example(db_url)
    service = StudyService(db_url)
    try:
        (record, *_) = service.find_records("admin", "subject")
        service.as_user("admin").lock(dt.date(2030, 1, 1), "interim analysis")
        with pytest.raises(ConflictError) as caught:
            service.as_user("admin").update_record(
                "subject", record["id"], {"subject_id": "NEW-1"}, record["version"], "renamed"
            )
        assert "frozen by data lock" in str(caught.value), str(caught.value)
        assert "move" not in str(caught.value)
    finally:
        service.engine.dispose()
