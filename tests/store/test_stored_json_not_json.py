"""A stored JSON field whose text is no JSON document is reported as such, never with the wording of a NaN
(D-19.1161); the stored column types share one shape (D-19.1162)."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from ..conftest import EXAMPLE_CUTOFF, run_cartrial

NOT_JSON = "not valid JSON"


def _plant(example_sqlite: str, text: str) -> int:
    connection = sqlite3.connect(example_sqlite.removeprefix("sqlite:///"))
    with connection:
        first = int(connection.execute("SELECT min(id) FROM subject").fetchone()[0])
        connection.execute("UPDATE subject SET treatment_history = ? WHERE id = ?", (text, first))
    connection.close()
    return first


def test_a_json_text_that_is_no_json_is_named_as_such_by_every_read(example_sqlite: str) -> None:
    """Before: ``'[1,'`` was refused as "not a finite number" (the NaN wording of D-19.1098), which sends a
    data manager looking for a number that is not there."""
    from cartrial.errors import StoredValueError
    from cartrial.store import StudyService
    from cartrial.store.snapshot import read_snapshot

    first = _plant(example_sqlite, "[1,")
    where = f"subject record {first}, treatment_history"
    service = StudyService(example_sqlite)
    try:
        with pytest.raises(StoredValueError) as caught:
            service.get_record("admin", "subject", first)
    finally:
        service.engine.dispose()
    with pytest.raises(StoredValueError) as snapshot_refusal:
        read_snapshot(example_sqlite, dt.date.fromisoformat(EXAMPLE_CUTOFF))
    listed = run_cartrial("db", "records", "subject", "--user", "admin", "--url", example_sqlite)
    for text in (str(caught.value), str(snapshot_refusal.value), listed.stderr):
        assert f"{where}: {NOT_JSON}" in text, text
        assert "finite number" not in text and "holds a number" not in text, text
        assert "[1," not in text, text


def test_a_json_document_holding_nan_keeps_the_non_finite_wording(example_sqlite: str) -> None:
    from cartrial.errors import StoredValueError
    from cartrial.store.snapshot import read_snapshot

    first = _plant(example_sqlite, '[{"drug": "x", "cycles": NaN}]')
    with pytest.raises(StoredValueError) as caught:
        read_snapshot(example_sqlite, dt.date.fromisoformat(EXAMPLE_CUTOFF))
    assert [(p.record, p.field, p.message.split(";")[0]) for p in caught.value.problems] == [
        (f"subject record {first}", "treatment_history", "not a finite number")
    ]


def test_the_stored_types_name_their_column_without_a_table() -> None:
    """The refusal of a bare column type (no table or column given) names what it is (no behaviour change
    from D-19.1096–1098 by the shared base)."""
    from cartrial.store.models import StoredInteger, StoredJSON, StoredNumber
    from cartrial.store.stored_dates import UNREADABLE_STORED

    assert [(p.record, p.field) for p in StoredNumber()._unreadable().problems] == [
        ("a table", "a number column")
    ]
    assert [(p.record, p.field) for p in StoredInteger("t")._unreadable().problems] == [
        ("t", "a whole-number column")
    ]
    json_type = StoredJSON("subject", "treatment_history")
    assert json_type.stored_problem("subject", 3).message.startswith("not a finite number")
    assert json_type.stored_problem("subject", 3, UNREADABLE_STORED).message.startswith(NOT_JSON)
    assert json_type.stored_problem("subject", 3, UNREADABLE_STORED).allowed == (
        "a JSON document whose numbers are finite (RFC 8259 §6), or blank"
    )
