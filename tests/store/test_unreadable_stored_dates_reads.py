"""Every read of a stored date or date-time cartrial never writes refuses it by its record, never a traceback
quoting it (D-12.2, issue 19, D-19.556; the snapshot's read is D-19.543).

Before: D-19.543 covered the snapshot only; ``cartrial db records`` and ``cartrial db edit`` (and the web's
record pages, tests/web/test_unreadable_stored_dates_web.py) met SQLAlchemy's parser: ``ValueError: Invalid
isoformat string: 'zzzz'`` with a traceback. Such a value exists only by a direct change on SQLite:
PostgreSQL's ``date`` and ``timestamptz`` columns refuse the text at the write
(`test_postgresql_refuses_the_text_at_the_write` below, and
tests/store/test_unreadable_stored_dates.py::test_postgresql_refuses_an_unreadable_date_in_its_columns).
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from ..conftest import run_cartrial

HEADER_START = "The study database holds a date that cartrial never stores"


def _plant(url: str, table: str, column: str, value: object, where: str = "") -> int:
    """`value` in `column` of one record of `table` (the last, or the first matching `where`), as a direct
    change would put it; returns the record's id."""
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        with connection:
            query = f"SELECT min(id) FROM {table} WHERE {where}" if where else f"SELECT max(id) FROM {table}"
            (record_id,) = connection.execute(query).fetchone()
            connection.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", (value, record_id))
    finally:
        connection.close()
    return int(record_id)


def _version(url: str, table: str, record_id: int) -> tuple[object, ...]:
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return tuple(connection.execute(f"SELECT * FROM {table} WHERE id = ?", (record_id,)).fetchone())
    finally:
        connection.close()


PLANTED = [
    ("infusion", "infused_at", "zzzz"),  # a clinical date-time, not even the shape of one
    ("infusion", "created_at", "zzzz"),  # a timestamp of the store's own
    ("subject", "disposition_date", "2021-13-45"),  # a date-only column: the shape, month 13
    ("subject", "consent_date", 20210101.5),  # not text at all
]


def _assert_located(text: str, table: str, record_id: int, column: str, value: object) -> None:
    assert HEADER_START in text and "cartrial audit verify" in text, text  # D-19.543's one header
    assert f"{table} record {record_id}, {column}: not a" in text, text
    assert "allowed: a" in text and "YYYY-MM-DD" in text, text
    assert "Traceback" not in text and str(value) not in text and "got" not in text, text


@pytest.mark.parametrize(("table", "column", "value"), PLANTED, ids=[f"{t}.{c}" for t, c, _ in PLANTED])
def test_db_records_names_the_record(table: str, column: str, value: object, example_sqlite: str) -> None:
    record_id = _plant(example_sqlite, table, column, value)
    result = run_cartrial("db", "records", table, "--user", "admin", "--url", example_sqlite)
    # D-19.795 (changed by design, was exit 2 and no list): the readable records are listed, the
    # unreadable one named on stderr, exit 1
    assert result.exit_code == 1, result.stderr
    _assert_located(result.stderr + result.stdout, table, record_id, column, value)
    listed = run_cartrial("db", "records", table, "--json", "--user", "admin", "--url", example_sqlite)
    assert listed.exit_code == 1
    ids = [row["id"] for row in json.loads(listed.stdout)]
    assert ids and record_id not in ids


def test_db_records_names_each_unreadable_record_of_the_table(example_sqlite: str) -> None:
    """Every record and column the read meets, not the first one only."""
    first = _plant(example_sqlite, "infusion", "infused_at", "zzzz", where="1")
    last = _plant(example_sqlite, "infusion", "updated_at", "2021-02-30 00:00:00")
    assert first != last
    result = run_cartrial("db", "records", "infusion", "--user", "admin", "--url", example_sqlite)
    assert result.exit_code == 1  # D-19.795 (changed by design, was 2): the readable ones are listed
    assert f"infusion record {first}, infused_at: not a readable date-time" in result.stderr
    assert f"infusion record {last}, updated_at: not a readable date-time" in result.stderr


def test_db_records_of_a_filter_without_the_record_is_not_refused(example_sqlite: str) -> None:
    """The refusal is about what the read reads: another subject's records are listed."""
    _plant(example_sqlite, "infusion", "infused_at", "zzzz", where="subject_id = 'CT-001'")
    result = run_cartrial(
        "db",
        "records",
        "infusion",
        "--subject",
        "CT-002",
        "--json",
        "--user",
        "admin",
        "--url",
        example_sqlite,
    )
    assert result.exit_code == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert row["subject_id"] == "CT-002" and row["infused_at"]


def test_db_edit_names_the_record_and_changes_nothing(example_sqlite: str) -> None:
    record_id = _plant(example_sqlite, "infusion", "infused_at", "zzzz", where="1")
    before = _version(example_sqlite, "infusion", record_id)
    result = run_cartrial(
        "db", "edit", "infusion", record_id, "--set", "viability_pct=90", "--reason", "x",
        "--expected-version", "1", "--user", "admin", "--url", example_sqlite,
    )  # fmt: skip
    assert result.exit_code == 2, result.stderr
    _assert_located(result.stderr + result.stdout, "infusion", record_id, "infused_at", "zzzz")
    assert _version(example_sqlite, "infusion", record_id) == before


@pytest.mark.parametrize(
    ("table", "column", "value"), PLANTED[::2], ids=[f"{t}.{c}" for t, c, _ in PLANTED[::2]]
)
def test_audit_verify_reports_the_record_as_a_finding(
    table: str, column: str, value: object, example_sqlite: str
) -> None:
    """Verify reads every stored value raw: the unreadable one is a finding naming its record and field
    (a change without an audit record), not a refusal of the whole check. `created_at` is not replayed
    (not an audited field): verify still completes."""
    record_id = _plant(example_sqlite, table, column, value)
    result = run_cartrial("audit", "verify", "--url", example_sqlite)
    text = result.stdout + result.stderr
    assert "Traceback" not in text and str(value) not in text
    if column == "created_at":
        assert result.exit_code == 0, text
        return
    assert result.exit_code == 1, text
    finding = next(line for line in text.splitlines() if f"{table} id {record_id} " in line)
    assert "unaudited-update" in finding and column in finding.split("field(s)")[1], finding


def test_the_column_type_refuses_by_table_and_column_on_any_read(example_sqlite: str) -> None:
    """The lowest layer: a read that does not locate records (any Core or ORM select) is refused by the
    column's own type, never SQLAlchemy's ``ValueError`` quoting the value."""
    from sqlalchemy import create_engine, select

    from cartrial.errors import StoredValueError
    from cartrial.store.models import Infusion, Subject

    _plant(example_sqlite, "infusion", "infused_at", "zzzz")
    _plant(example_sqlite, "subject", "disposition_date", "2021-13-45")
    engine = create_engine(example_sqlite)
    try:
        for model, column in ((Infusion, "infused_at"), (Subject, "disposition_date")):
            with engine.connect() as connection, pytest.raises(StoredValueError) as caught:
                connection.execute(select(model.__table__)).all()  # type: ignore[attr-defined]
            text = str(caught.value)
            assert f"{model.__tablename__}, {column}: not a" in text, text
            assert "zzzz" not in text and "2021-13-45" not in text
    finally:
        engine.dispose()


def test_postgresql_refuses_the_text_at_the_write(postgres_url: str) -> None:
    """Why the refusal is SQLite's only: PostgreSQL's typed columns refuse the text (a timestamp and a date
    of a study's own rows here; the clinical columns in test_unreadable_stored_dates.py)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import DataError

    from cartrial import examples
    from cartrial.store import init_study

    from ..conftest import TEST_PASSWORD

    init_study(
        postgres_url, examples.path("ct103a-nmosd") / "protocol.yaml", "admin", admin_password=TEST_PASSWORD
    )
    engine = create_engine(postgres_url)
    try:
        for statement in (
            "UPDATE study SET created_at = 'zzzz'",
            "UPDATE app_user SET updated_at = '2021-13-45'",
        ):
            with pytest.raises(DataError), engine.begin() as connection:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def test_a_bulk_write_checked_against_the_record_is_refused_by_the_record(example_sqlite: str) -> None:
    """The edit checks of a written row read the subject's stored records: the planted infusion is named
    as itself under the one header, not as "adverse_event row 1: refused by 1 edit check(s)" (the user's
    row). Before: the refusal was wrapped as the row's own problem (review of D-19.556)."""
    from cartrial.errors import StoredValueError
    from cartrial.store import StudyService, connect

    service = StudyService(connect(example_sqlite))
    try:
        user = service.as_user("admin")
        stored = user.find_records("adverse_event")[0]
        record_id = _plant(
            example_sqlite, "infusion", "infused_at", "zzzz", where=f"subject_id = '{stored['subject_id']}'"
        )
        row = {k: v for k, v in stored.items() if k not in ("id", "version", "created_at", "updated_at")}
        row = {k: v for k, v in row.items() if not k.endswith("_by")} | {"term": "Changed in a bulk write"}
        with pytest.raises(StoredValueError) as raised, user.transaction("test", "a bulk write") as tx:
            service.upsert_rows(tx, "adverse_event", [row])
        text = str(raised.value)
        _assert_located(text, "infusion", record_id, "infused_at", "zzzz")
        assert "row 1" not in text and "edit check" not in text, text
    finally:
        service.engine.dispose()


def test_a_mass_change_is_listed_up_to_the_bound_then_counted(
    example_sqlite: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refusal lists at most `tamper.MAX_FINDINGS` records (audit verify's bound), then ``and N more``:
    a direct change of a whole table must not make a 409 body of every record (review of D-19.556)."""
    from cartrial.errors import StoredValueError
    from cartrial.store import StudyService, connect, tamper

    connection = sqlite3.connect(example_sqlite.removeprefix("sqlite:///"))
    with connection:
        planted = connection.execute("UPDATE lab_result SET updated_at = 'zzzz'").rowcount
    connection.close()
    bound = 3
    assert planted > bound + 1
    monkeypatch.setattr(tamper, "MAX_FINDINGS", bound)
    service = StudyService(connect(example_sqlite))
    try:
        with pytest.raises(StoredValueError) as raised:
            service.as_user("admin").find_records("lab_result")
    finally:
        service.engine.dispose()
    problems = raised.value.problems
    assert len(problems) == bound + 1, problems
    assert all(p.record and p.record.startswith("lab_result record ") for p in problems[:bound])
    assert problems[-1].message == f"and {planted - bound} more stored value(s) no reader reads"
    assert "zzzz" not in str(raised.value)


def test_db_edit_repairs_the_unreadable_date_and_verify_keeps_reporting_the_tamper(
    example_sqlite: str,
) -> None:
    """Before: `db edit` read the record first and refused it, so no data manager could correct the date
    through cartrial (D-19.556's "not done"). The edit setting every unreadable field repairs the record;
    its audit row records the text that was stored as the old value (never shown in a message), so `audit
    verify` goes on reporting the direct change: as a trail inconsistency of the audited update (D-19.560)."""
    record_id = _plant(example_sqlite, "infusion", "infused_at", "zzzz", where="1")
    before = run_cartrial("audit", "verify", "--url", example_sqlite)
    assert before.exit_code == 1 and "zzzz" not in before.stdout + before.stderr
    assert any(
        f"infusion id {record_id} " in line and "unaudited-update" in line and "infused_at" in line
        for line in before.stdout.splitlines()
    ), before.stdout
    result = run_cartrial(
        "db", "edit", "infusion", record_id, "--set", "infused_at=2021-04-27T02:00:00Z",
        "--reason", "corrected from the infusion record", "--expected-version", "1",
        "--user", "admin", "--url", example_sqlite,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "zzzz" not in result.stdout + result.stderr and "version 2" in result.stdout
    listed = run_cartrial("db", "records", "infusion", "--json", "--user", "admin", "--url", example_sqlite)
    assert listed.exit_code == 0, listed.stderr
    (row,) = [r for r in json.loads(listed.stdout) if r["id"] == record_id]
    assert row["infused_at"].startswith("2021-04-27") and row["version"] == 2
    connection = sqlite3.connect(example_sqlite.removeprefix("sqlite:///"))
    try:
        audited = connection.execute(
            "SELECT old_value, new_value, reason FROM audit_log WHERE action = 'update' "
            "AND table_name = 'infusion' AND record_id = ? AND field = 'infused_at'",
            (record_id,),
        ).fetchall()
    finally:
        connection.close()
    assert audited == [('"zzzz"', '"2021-04-27T02:00:00Z"', "corrected from the infusion record")]
    after = run_cartrial("audit", "verify", "--url", example_sqlite)
    text = after.stdout + after.stderr
    assert after.exit_code == 1 and "zzzz" not in text and "Traceback" not in text, text
    (finding,) = [line for line in after.stdout.splitlines() if f"infusion id {record_id} " in line]
    assert "trail-inconsistent" in finding and "infused_at" in finding, finding
    assert "changed outside the application" in finding, finding


def test_db_edit_setting_one_of_two_unreadable_dates_is_refused_naming_the_other(example_sqlite: str) -> None:
    """A repair sets every unreadable date of the record (D-19.560): else the refusal as before, by record
    and field, and nothing is written."""
    record_id = _plant(example_sqlite, "subject", "consent_date", "2021-13-45", where="subject_id = 'CT-001'")
    assert (
        _plant(example_sqlite, "subject", "disposition_date", "zzzz", where="subject_id = 'CT-001'")
        == record_id
    )
    before = _version(example_sqlite, "subject", record_id)
    result = run_cartrial(
        "db", "edit", "subject", record_id, "--set", "consent_date=2021-01-05", "--reason", "x",
        "--expected-version", "1", "--user", "admin", "--url", example_sqlite,
    )  # fmt: skip
    assert result.exit_code == 2, result.stderr
    _assert_located(result.stderr + result.stdout, "subject", record_id, "disposition_date", "zzzz")
    assert "2021-13-45" not in result.stderr + result.stdout
    assert _version(example_sqlite, "subject", record_id) == before


def _sql(url: str, statement: str, *params: object) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        with connection:
            return connection.execute(statement, params).fetchall()
    finally:
        connection.close()


def test_a_repair_changing_another_field_is_refused_naming_it(example_sqlite: str) -> None:
    """Before: the repair also changed `dose_level`, a field it had no reason to touch. A repair changes
    only the record's unreadable fields (D-19.561); anything else is refused by its field, nothing written."""
    record_id = _plant(example_sqlite, "infusion", "infused_at", "zzzz", where="1")
    before = _version(example_sqlite, "infusion", record_id)
    result = run_cartrial(
        "db", "edit", "infusion", record_id, "--set", "infused_at=2021-04-27T02:00:00Z",
        "--set", "dose_level=2", "--reason", "x", "--expected-version", "1",
        "--user", "admin", "--url", example_sqlite,
    )  # fmt: skip
    assert result.exit_code == 2, result.stdout + result.stderr
    text = result.stdout + result.stderr
    assert "infusion.dose_level" in text and "only" in text, text
    assert "zzzz" not in text and "Traceback" not in text
    assert _version(example_sqlite, "infusion", record_id) == before


def test_a_repair_of_the_clinical_date_under_a_lock_is_refused_naming_the_lock(example_sqlite: str) -> None:
    """Before: with a data lock active the repair of an infusion's planted date (which hid whether the
    record was frozen) set it past the cut-off and changed the dose level: a locked record changed. While a
    lock is active, a record whose clinical date is unreadable counts as locked (D-19.561)."""
    locked = run_cartrial(
        "db",
        "lock",
        "--cutoff",
        "2030-01-01",
        "--reason",
        "final",
        "--url",
        example_sqlite,
        "--user",
        "admin",
    )
    assert locked.exit_code == 0, locked.stderr
    record_id = _plant(example_sqlite, "infusion", "infused_at", "zzzz", where="1")
    before = _version(example_sqlite, "infusion", record_id)
    result = run_cartrial(
        "db", "edit", "infusion", record_id, "--set", "infused_at=2031-01-01T00:00:00Z",
        "--reason", "x", "--expected-version", "1", "--user", "admin", "--url", example_sqlite,
    )  # fmt: skip
    text = result.stdout + result.stderr
    assert result.exit_code != 0, text
    assert "data lock #" in text and "unlock" in text and f"infusion record {record_id}" in text, text
    assert "zzzz" not in text and "Traceback" not in text
    assert _version(example_sqlite, "infusion", record_id) == before


def test_two_unreadable_records_of_a_subject_are_repaired_one_after_the_other(example_sqlite: str) -> None:
    """Before: a subject's consent date and its infusion's date, both planted, refused each other's repair
    forever (the edit checks read the other record). During a repair the checks skip the subject's other
    unreadable records and the result names them (D-19.562)."""
    (subject_id,) = _sql(example_sqlite, "SELECT subject_id FROM infusion ORDER BY id LIMIT 1")[0]
    subject = _plant(
        example_sqlite, "subject", "consent_date", "2021-13-45", where=f"subject_id = '{subject_id}'"
    )
    infusion = _plant(example_sqlite, "infusion", "infused_at", "zzzz", where=f"subject_id = '{subject_id}'")
    first = run_cartrial(
        "db", "edit", "subject", subject, "--set", "consent_date=2021-01-05", "--reason", "x",
        "--expected-version", "1", "--user", "admin", "--url", example_sqlite,
    )  # fmt: skip
    text = first.stdout + first.stderr
    assert first.exit_code == 0, text
    assert f"infusion record {infusion}, infused_at" in first.stdout, text  # what the checks could not see
    assert "zzzz" not in text and "2021-13-45" not in text
    second = run_cartrial(
        "db", "edit", "infusion", infusion, "--set", "infused_at=2021-04-27T02:00:00Z", "--reason", "x",
        "--expected-version", "1", "--user", "admin", "--url", example_sqlite,
    )  # fmt: skip
    assert second.exit_code == 0, second.stdout + second.stderr
    assert "could not" not in second.stdout  # nothing left unseen
    assert _sql(example_sqlite, "SELECT version FROM infusion WHERE id = ?", infusion) == [(2,)]


def test_a_mass_change_of_a_subjects_adverse_events_is_repaired_one_by_one(example_sqlite: str) -> None:
    """Before: every AE start date of one subject planted: the repair of each was refused by the others."""
    (subject_id,) = _sql(
        example_sqlite,
        "SELECT subject_id FROM adverse_event GROUP BY subject_id HAVING count(*) > 1 ORDER BY subject_id",
    )[0]
    ids = [
        int(i)
        for (i,) in _sql(example_sqlite, "SELECT id FROM adverse_event WHERE subject_id = ?", subject_id)
    ]
    _sql(
        example_sqlite, "UPDATE adverse_event SET started_on = '2021-13-45' WHERE subject_id = ?", subject_id
    )
    result = run_cartrial(
        "db", "edit", "adverse_event", ids[0], "--set", "started_on=2021-05-01", "--reason", "x",
        "--expected-version", "1", "--user", "admin", "--url", example_sqlite,
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr
    for other in ids[1:]:
        assert f"adverse_event record {other}, started_on" in result.stdout, result.stdout
    assert "2021-13-45" not in result.stdout + result.stderr


def test_a_date_planted_as_a_blob_is_repaired_its_audit_row_keeping_the_bytes_as_hex(
    example_sqlite: str,
) -> None:
    """Before: a BLOB in a date column (``X'00ff7a7a'``) made the repair crash with a TypeError in the audit
    row's JSON (a traceback). The audit row keeps a text form of a non-text old value, the SQLite blob
    literal ``X'<hex>'`` (never in a message), and `audit verify` replays it as any repaired text
    (D-19.566)."""
    record_id = _plant(example_sqlite, "subject", "consent_date", b"\x00\xffzz", where="1")
    result = run_cartrial(
        "db", "edit", "subject", record_id, "--set", "consent_date=2021-01-05", "--reason", "corrected",
        "--expected-version", "1", "--user", "admin", "--url", example_sqlite,
    )  # fmt: skip
    text = result.stdout + result.stderr
    assert result.exit_code == 0, text
    assert "Traceback" not in text and "00ff7a7a" not in text
    audited = _sql(
        example_sqlite,
        "SELECT old_value, new_value FROM audit_log WHERE action = 'update' AND table_name = 'subject' "
        "AND record_id = ? AND field = 'consent_date'",
        record_id,
    )
    assert audited == [("\"X'00ff7a7a'\"", '"2021-01-05"')]
    after = run_cartrial("audit", "verify", "--url", example_sqlite)
    shown = after.stdout + after.stderr
    assert after.exit_code == 1 and "Traceback" not in shown and "00ff7a7a" not in shown, shown
    (finding,) = [line for line in after.stdout.splitlines() if f"subject id {record_id} " in line]
    assert "trail-inconsistent" in finding and "consent_date" in finding, finding


def test_a_no_op_edit_of_a_record_with_an_unreadable_updated_at_is_refused_a_change_repairs_it(
    example_sqlite: str,
) -> None:
    """Before: with only `updated_at` unreadable, an edit changing nothing reported success and left the
    record unreadable. It is refused naming the field; an edit changing a field rewrites it (D-19.566)."""
    record_id = _plant(example_sqlite, "infusion", "updated_at", "zzzz", where="1")
    ((level,),) = _sql(example_sqlite, "SELECT dose_level FROM infusion WHERE id = ?", record_id)
    same = run_cartrial(
        "db", "edit", "infusion", record_id, "--set", f"dose_level={level}", "--reason", "x",
        "--expected-version", "1", "--user", "admin", "--url", example_sqlite,
    )  # fmt: skip
    text = same.stdout + same.stderr
    assert same.exit_code == 2, text
    assert f"infusion record {record_id}, updated_at: not a readable date-time" in text and "zzzz" not in text
    changed = run_cartrial(
        "db", "edit", "infusion", record_id, "--set", f"dose_level={int(level) % 2 + 1}", "--reason", "x",
        "--expected-version", "1", "--user", "admin", "--url", example_sqlite,
    )  # fmt: skip
    assert changed.exit_code == 0, changed.stdout + changed.stderr
    listed = run_cartrial("db", "records", "infusion", "--user", "admin", "--url", example_sqlite)
    assert listed.exit_code == 0, listed.stderr


def test_db_edit_counts_the_records_its_checks_could_not_read_not_their_fields(example_sqlite: str) -> None:
    """Before: "could not read 2 other record(s)" for one subject record with two unreadable dates (one per
    field). The count is of records (D-19.562, amended); each field is still named."""
    (subject_id,) = _sql(example_sqlite, "SELECT subject_id FROM infusion ORDER BY id LIMIT 1")[0]
    where = f"subject_id = '{subject_id}'"
    subject = _plant(example_sqlite, "subject", "consent_date", "2021-13-45", where=where)
    assert _plant(example_sqlite, "subject", "disposition_date", "zzzz", where=where) == subject
    infusion = _plant(example_sqlite, "infusion", "infused_at", "zzzz", where=where)
    result = run_cartrial(
        "db", "edit", "infusion", infusion, "--set", "infused_at=2021-04-27T02:00:00Z", "--reason", "x",
        "--expected-version", "1", "--user", "admin", "--url", example_sqlite,
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "could not read 1 other record(s)" in result.stdout, result.stdout
    assert f"subject record {subject}, consent_date" in result.stdout
    assert f"subject record {subject}, disposition_date" in result.stdout
    assert "zzzz" not in result.stdout + result.stderr and "2021-13-45" not in result.stdout
