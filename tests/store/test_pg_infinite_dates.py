"""Review of D-19.1062, finding 3b: PostgreSQL's ``'infinity'`` in a date or date-time column.

PostgreSQL's ``date`` and ``timestamptz`` accept the special values ``infinity`` and ``-infinity``
(PostgreSQL documentation, "Date/Time Types", special values), which no Python date holds: psycopg's loader
raised ``DataError: date too large (after year 10K): 'infinity'``, so `audit verify` and `get_record` ended in
a traceback quoting the stored value. As a date no reader reads on SQLite (D-19.556), the read is refused by
table and column without the value, and the replay reports the field as an unaudited update.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from cartrial.errors import StoredValueError
from cartrial.store import connect
from cartrial.store.tamper import verify_complete

from ..conftest import Cli
from .conftest import StudyDb


def set_sql(db: StudyDb, sql: str, params: dict[str, object]) -> None:
    engine = connect(db.url)
    try:
        with engine.begin() as connection:
            connection.execute(text(sql), params)
    finally:
        engine.dispose()


@pytest.mark.parametrize("stored", ["infinity", "-infinity", "10000-01-01"])
def test_an_infinite_consent_date_is_an_unaudited_update_and_refused_value_free(
    study: StudyDb, cli: Cli, stored: str
) -> None:
    if study.backend != "postgresql":
        pytest.skip("SQLite has no infinite date (its text is refused by D-19.556)")
    subject = next(r for r in study.service.find_records("admin", "subject") if r["subject_id"] == "CT-001")
    set_sql(study, f"UPDATE subject SET consent_date = '{stored}' WHERE id = :i", {"i": subject["id"]})
    result = verify_complete(study.service)
    assert [(f.kind, f.table, f.record_id, f.fields) for f in result.findings] == [
        ("unaudited-update", "subject", subject["id"], ("consent_date",))
    ]
    with pytest.raises(StoredValueError) as caught:
        study.service.get_record("admin", "subject", subject["id"])
    assert "consent_date" in str(caught.value) and "infinity" not in str(caught.value).lower()
    assert "10000" not in str(caught.value)
    # a list leaves the record out and names it, exit 1, as for an unreadable date on SQLite (D-19.559)
    listed = cli("db", "records", "subject", "--url", study.url, "--user", "admin", "--json")
    assert listed.exit_code == 1, listed.output
    assert subject["id"] not in [row["id"] for row in json.loads(listed.stdout)]
    assert f"subject record {subject['id']}, consent_date: not a date" in listed.stderr
    assert "infinity" not in listed.output.lower() and "Traceback" not in listed.output


def test_an_infinite_infusion_time_is_an_unaudited_update(study: StudyDb) -> None:
    if study.backend != "postgresql":
        pytest.skip("SQLite has no infinite date-time")
    with study.service.transaction("admin", "test data") as tx:
        study.service.upsert_rows(
            tx, "infusion", [{"subject_id": "CT-001", "infused_at": "2021-06-01T02:00:00Z", "dose_level": 1}]
        )
    record_id = int(study.service.find_records("admin", "infusion")[0]["id"])
    assert verify_complete(study.service).ok
    set_sql(study, "UPDATE infusion SET infused_at = 'infinity' WHERE id = :i", {"i": record_id})
    result = verify_complete(study.service)
    assert [(f.kind, f.table, f.record_id, f.fields) for f in result.findings] == [
        ("unaudited-update", "infusion", record_id, ("infused_at",))
    ]
    with pytest.raises(StoredValueError) as caught:
        study.service.get_record("admin", "infusion", record_id)
    assert "infused_at" in str(caught.value) and "infinity" not in str(caught.value).lower()
    assert "10000" not in str(caught.value)
