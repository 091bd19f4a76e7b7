"""Issue 19 §3: a blank number or JSON field set by SQL to NaN or an infinity is reported (D-19.1062).

The trail writes a value as canonical JSON, in which a NaN or an infinity has no spelling (RFC 8259 §6:
"Numeric values that cannot be represented ... (such as Infinity and NaN) are not permitted"); orjson writes
each as ``null``. Before D-19.1062 the replay read the stored row through the same JSON, so a NULL
`infusion.viability_pct` set to ``'NaN'`` (PostgreSQL double precision) or ``9e999`` (SQLite REAL: +Inf)
compared equal to the blank the trail implies, and `audit verify` said OK while every read returned the
non-finite number. cartrial never stores one, so the stored value is not the one the trail implies.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from cartrial.store import connect
from cartrial.store.tamper import verify_complete

from .conftest import StudyDb


def blank_infusion(db: StudyDb) -> int:
    """An infusion whose viability is blank (NULL): the trail implies ``null`` for it."""
    with db.service.transaction("admin", "test data") as tx:
        db.service.upsert_rows(
            tx,
            "infusion",
            [{"subject_id": "CT-001", "infused_at": "2021-06-01T02:00:00Z", "dose_level": 1}],
        )
    return int(db.service.find_records("admin", "infusion")[0]["id"])


def tamper_and_verify(
    db: StudyDb, sql: str, params: dict[str, object]
) -> list[tuple[str, str | None, int | None, tuple[str, ...]]]:
    engine = connect(db.url)
    try:
        with engine.begin() as connection:
            connection.execute(text(sql), params)
    finally:
        engine.dispose()
    result = verify_complete(db.service)
    text_ = json.dumps(result.as_dict())
    for shown in ("NaN", "Infinity", "9e999"):
        assert shown not in text_  # no value in the report
    return [(f.kind, f.table, f.record_id, f.fields) for f in result.findings]


@pytest.mark.parametrize("stored", ["NaN", "Infinity", "-Infinity"])
def test_a_blank_number_set_to_a_non_finite_value_is_reported(study: StudyDb, stored: str) -> None:
    record_id = blank_infusion(study)
    assert verify_complete(study.service).ok
    if study.backend == "sqlite":
        if stored == "NaN":
            pytest.skip("SQLite stores a NaN as NULL: no change can be made")
        # SQLite's REAL holds +-Inf; 9e999 overflows to it
        value_sql = "9e999" if stored == "Infinity" else "-9e999"
    else:
        value_sql = f"CAST('{stored}' AS double precision)"
    findings = tamper_and_verify(
        study, f"UPDATE infusion SET viability_pct = {value_sql} WHERE id = :i", {"i": record_id}
    )
    assert findings == [("unaudited-update", "infusion", record_id, ("viability_pct",))]


@pytest.mark.parametrize(
    ("audited", "document"),
    [
        (None, "NaN"),
        (None, "-Infinity"),
        ([{"drug": "x", "line": None}], '[{"drug": "x", "line": NaN}]'),
        ([{"drug": "x", "line": None}], '[{"drug": "x", "line": Infinity}]'),
    ],
)
def test_a_json_field_holding_a_non_finite_number_is_reported_on_sqlite(
    study: StudyDb, audited: object, document: str
) -> None:
    """SQLite keeps any text in a JSON column and Python's JSON reader accepts NaN and Infinity. The trail
    implies a blank treatment history, or (after an audited edit) a document with ``null`` where the tamper
    puts a non-finite number: the canonical JSON of the tampered value is the same text as the trail's.
    PostgreSQL's json type refuses these texts."""
    if study.backend != "sqlite":
        pytest.skip("PostgreSQL refuses NaN and Infinity in a json value")
    subject = next(r for r in study.service.find_records("admin", "subject") if r["subject_id"] == "CT-001")
    if audited is not None:
        study.service.update_record(
            "admin", "subject", subject["id"], {"treatment_history": audited}, subject["version"], "edit"
        )
    assert verify_complete(study.service).ok
    findings = tamper_and_verify(
        study, "UPDATE subject SET treatment_history = :d WHERE id = :i", {"d": document, "i": subject["id"]}
    )
    assert findings == [("unaudited-update", "subject", subject["id"], ("treatment_history",))]
