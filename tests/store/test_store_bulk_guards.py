"""The documented bulk write (`Transaction.upsert_rows`) refuses what a single-record write refuses: a
protected table, a password hash as a field value, losing the last active admin (judged on the state after
the whole call) and a user name taken in another case — and never passes the database driver's text on
(D-19.432, D-12.2).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from cartrial.errors import CartrialError, ConflictError, InputError, PermissionDeniedError
from cartrial.store import StudyService, bulk
from cartrial.store.models import User
from cartrial.store.tables import model_of

DRIVER_WORDS = (
    "UNIQUE",
    "constraint failed",
    "duplicate key",
    "violates",
    "IntegrityError",
    "DETAIL",
    "pkey",
)
"""Words of the SQLite and PostgreSQL drivers' refusals (their text may quote a record value)."""


def _write(service: StudyService, table: str, rows: list[dict[str, Any]], user: str = "admin") -> None:
    with service.as_user(user).transaction(source="api", reason="bulk change") as tx:
        tx.upsert_rows(table, rows)


def _users(service: StudyService) -> dict[str, tuple[str, bool, str | None]]:
    with service.engine.connect() as connection:
        rows = connection.execute(select(User.username, User.role, User.active, User.password_hash))
        return {row.username: (row.role, row.active, row.password_hash) for row in rows}


def _no_driver_text(error: CartrialError) -> None:
    text = str(error)
    assert not any(word in text for word in DRIVER_WORDS), text


@pytest.mark.parametrize("change", [{"role": "monitor"}, {"active": False}])
def test_the_only_admin_cannot_be_demoted_or_deactivated_in_bulk(study, change: dict[str, Any]) -> None:
    service: StudyService = study.service
    before = _users(service)
    with pytest.raises(ConflictError, match="last active admin"):
        _write(service, "app_user", [{"username": "admin", **change}])
    assert _users(service) == before


def test_two_rows_demoting_both_admins_are_judged_together(study) -> None:
    """Each row alone leaves another admin; the call as a whole leaves none: refused, nothing written."""
    service: StudyService = study.service
    service.add_user("admin", "admin2", "admin", site_id="TJH")
    before = _users(service)
    rows = [{"username": "admin", "role": "monitor"}, {"username": "admin2", "role": "data_manager"}]
    with pytest.raises(ConflictError, match="last active admin"):
        _write(service, "app_user", rows)
    assert _users(service) == before
    _write(service, "app_user", rows[1:])  # one of two admins demoted: another remains
    assert _users(service)["admin2"][0] == "data_manager"


def test_a_password_hash_is_not_a_bulk_field(study) -> None:
    service: StudyService = study.service
    before = _users(service)
    with pytest.raises(PermissionDeniedError, match="password command"):
        _write(service, "app_user", [{"username": "dm", "password_hash": "x"}])
    assert _users(service) == before


@pytest.mark.parametrize(
    ("table", "row"),
    [
        ("study", {"study_code": "X", "protocol_version": "9.9"}),
        ("import_manifest", {"file_name": "a.csv", "imported_at": "2021-07-01T00:00:00Z"}),
    ],
)
def test_protected_tables_are_refused_in_bulk(study, table: str, row: dict[str, Any]) -> None:
    service: StudyService = study.service
    counts = service.table_counts()
    with pytest.raises(PermissionDeniedError, match=f"{table} records cannot be"):
        _write(service, table, [row])
    assert service.table_counts() == counts


def test_the_stored_study_row_is_not_edited_in_bulk(study) -> None:
    service: StudyService = study.service
    (stored,) = service.find_records("admin", "study")
    with pytest.raises(PermissionDeniedError):
        _write(service, "study", [{"study_code": stored["study_code"], "protocol_version": "9.9"}])
    assert service.find_records("admin", "study")[0]["protocol_version"] == stored["protocol_version"]


@pytest.mark.parametrize(
    "rows",
    [
        [{"username": "ADMIN", "role": "monitor"}],
        [{"username": "newbie", "role": "monitor"}, {"username": "NewBie", "role": "monitor"}],
    ],
    ids=["stored", "same-call"],
)
def test_a_user_name_in_another_case_is_a_conflict_without_driver_text(study, rows) -> None:
    service: StudyService = study.service
    before = _users(service)
    # reworded by design, value-free (D-19.884)
    with pytest.raises(ConflictError, match="compared without case") as caught:
        _write(service, "app_user", rows)
    _no_driver_text(caught.value)
    assert _users(service) == before


def test_a_database_refusal_carries_no_driver_text(study) -> None:
    """Whatever the database refuses on the bulk path is named by table, without the driver's text."""
    from tests.store.test_store_bulk_paths import labs

    user = study.service.as_user("dm")
    model = model_of("lab_result")
    with user.transaction("import") as tx:
        bulk.upsert_rows(tx, "lab_result", labs(2))
    rows = bulk.prepare_rows(model, "lab_result", labs(3)[2:], model.natural_key)
    with (
        pytest.raises(InputError, match="refused the write to lab_result") as caught,
        user.transaction("import") as tx,
    ):
        bulk._insert_rows(tx, model, "lab_result", rows, bulk._IdCounter(0))
    _no_driver_text(caught.value)


AE = {
    "subject_id": "CT-101",
    "term": "Fever",
    "category": "infection",
    "started_on": "2021-06-12",
    "ended_on": "2021-06-13",
    "grade": 1,
    "grading_scale": "CTCAE",
    "grading_scale_version": "5.0",
    "serious": False,
    "relatedness": "possible",
    "dlt": False,
    "outcome": "recovered",
}


def test_key_columns_that_are_not_a_unique_key_are_refused(study) -> None:
    """`key_columns` that match several records, or another site's record, let the judged row and the
    updated record differ: an investigator at TJH moved a PUMCH subject's adverse event to their own
    subject, an admin matched users by role. Only the natural key or another unique key is taken
    (D-19.429); the stored records are untouched."""
    service = study.service
    service.insert_record("admin", "adverse_event", AE)
    inv = service.as_user("inv")
    with (
        pytest.raises(InputError, match="key_columns") as refused,
        inv.transaction("api", "bulk change") as tx,
    ):
        tx.upsert_rows("adverse_event", [{**AE, "subject_id": "CT-001", "grade": 2}], ["term", "started_on"])
    assert "subject_id, term, started_on" in str(refused.value)
    stored = service.find_records("admin", "adverse_event", term="Fever")
    assert [(row["subject_id"], row["grade"]) for row in stored] == [("CT-101", 1)]
    before = _users(service)
    admin = service.as_user("admin")
    with pytest.raises(InputError, match="key_columns"), admin.transaction("api", "bulk change") as tx:
        tx.upsert_rows("app_user", [{"role": "monitor", "full_name": "M"}], ["role"])
    assert _users(service) == before
    # the natural key, named explicitly in any order, is taken
    with service.as_user("admin").transaction(source="api", reason="bulk change") as tx:
        result = tx.upsert_rows("adverse_event", [{**AE, "grade": 2}], ["term", "started_on", "subject_id"])
    assert result.updated == 1


def test_a_new_user_with_a_chosen_password_hash_is_refused(study) -> None:
    """A new user's `password_hash` given as a field skipped the password policy (D-19.45): refused on
    insert, one record or in bulk, as on update (D-19.432); `add_user` still sets a password."""
    service: StudyService = study.service
    new = {"username": "newbie", "role": "monitor", "password_hash": "$argon2id$chosen"}
    with pytest.raises(PermissionDeniedError, match="password command"):
        _write(service, "app_user", [new])
    with pytest.raises(PermissionDeniedError, match="password command"):
        service.insert_record("admin", "app_user", new)
    assert "newbie" not in _users(service)
    service.add_user("admin", "newbie", "monitor", password="correct horse battery staple")
    assert service.verify_password("newbie", "correct horse battery staple")


def test_a_database_refusal_names_its_columns_without_values(study) -> None:
    """The refusal names the key's columns (SQLite's first line, PostgreSQL's constraint name read in the
    table's metadata), never the driver's text or a value (D-19.432, D-12.2)."""
    from tests.store.test_store_bulk_paths import labs

    user = study.service.as_user("dm")
    model = model_of("lab_result")
    with user.transaction("import") as tx:
        bulk.upsert_rows(tx, "lab_result", labs(2))
    rows = bulk.prepare_rows(model, "lab_result", labs(1), model.natural_key)
    with (
        pytest.raises(InputError, match="refused the write to lab_result") as caught,
        user.transaction("import") as tx,
    ):
        bulk._insert_rows(tx, model, "lab_result", rows, bulk._IdCounter(1000))
    text = str(caught.value)
    assert "subject_id, analyte, collected_at" in text, text
    assert "CT-001" not in text and "wbc" not in text and "2021" not in text
    _no_driver_text(caught.value)
    with (
        pytest.raises(InputError, match="refused the write to lab_result") as caught,
        user.transaction("import") as tx,
    ):
        bulk._insert_rows(tx, model, "lab_result", rows, bulk._IdCounter(0))
    assert "(id)" in str(caught.value), str(caught.value)
    _no_driver_text(caught.value)
