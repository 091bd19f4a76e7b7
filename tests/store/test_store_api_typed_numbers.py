"""A number given as text through the store's Python API is read as the import reads the same cell
(D-19.439): `insert_record` and `Transaction.upsert_rows` store and audit the typed number on both
backends, and refuse what the import refuses with its located field message (no driver traceback).

The oracle of a refusal is the import's own reading of the cell (`fields.validate_record`, the import's
column parser on a one-row frame); of an accepted text, the record written with the number itself.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from cartrial.errors import InputError
from cartrial.store import StudyService
from cartrial.store.fields import validate_record
from cartrial.store.models import LabResult
from cartrial.store.tables import table_of

LAB = {
    "subject_id": "CT-001",
    "analyte": "wbc",
    "collected_at": "2021-07-02T08:00:00Z",
    "unit": "10^9/l",
    "lln": 4.0,
}


def _write(service: StudyService, how: str, value: Any) -> tuple[Any, Any]:
    """(stored value, the value in the insert's audit row) of one new lab written by `how`."""
    with service.as_user("dm").transaction(source="api", reason="test") as tx:
        if how == "insert_record":
            tx.insert_record("lab_result", {**LAB, "value": value})
        else:
            tx.upsert_rows("lab_result", [{**LAB, "value": value}])
    table = table_of(LabResult)
    with service.engine.connect() as connection:
        stored = connection.execute(select(table.c.value)).scalar_one()
    audited = [r for r in service.audit_rows(actor="admin") if r["table_name"] == "lab_result"]
    return stored, json.loads(audited[-1]["new_value"])["value"]


@pytest.mark.parametrize("how", ["insert_record", "upsert_rows"])
@pytest.mark.parametrize(("text", "number"), [("5.5", 5.5), (" 7 ", 7.0), ("1e1", 10.0)])
def test_number_as_text_is_stored_and_audited_as_the_number(study, how, text, number) -> None:
    stored, audited = _write(study.service, how, text)
    assert (stored, audited) == (number, number)
    assert isinstance(stored, float) and isinstance(audited, float)


@pytest.mark.parametrize("how", ["insert_record", "upsert_rows"])
@pytest.mark.parametrize("text", ["5,5", "abc"])
def test_number_the_import_refuses_is_refused_at_its_field(study, how, text) -> None:
    expected = validate_record("lab_result", {"value": text}, protocol=None, partial=True)
    assert [p.field for p in expected] == ["value"]  # the import refuses this cell
    with pytest.raises(InputError) as caught:
        _write(study.service, how, text)
    problems = [p for p in caught.value.problems if p.field == "lab_result.value"]
    assert [p.message for p in problems] == [expected[0].message]
    assert [p.row for p in problems] == ([1] if how == "upsert_rows" else [None])
    with study.service.engine.connect() as connection:
        assert connection.execute(select(table_of(LabResult).c.id)).first() is None
