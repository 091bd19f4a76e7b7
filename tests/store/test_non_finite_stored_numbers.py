"""A number cartrial never writes, put in a number column by SQL, is refused by every read, by its record,
never handed out (issue 19 §3, D-19.1096).

Before: `audit verify` reported a NaN or an infinity in a ``FLOAT`` column (D-19.1062), but `get_record`,
``cartrial db records`` and the snapshot behind `analyse`, `report` and `export cdisc` read it as data:
``cells_per_kg`` NaN or ``inf`` (PostgreSQL ``'NaN'``/``'Infinity'``; SQLite ``9e999``, which it stores as
+Inf) went on into the analysis, and SQLite text in the column (``'abc'``) came out as a string. Run on a
real SQLite file and on PostgreSQL (``db_url``'s schema isolation).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ..conftest import EXAMPLE_CUTOFF, build_example, copy_sqlite_file, run_cartrial

HEADER_START = "The study database holds a number that cartrial never stores"

PLANTED = {
    # SQLite: 9e999 and -9e999 are stored as REAL ±Inf (SQLite "Floating point literals"); 'NaN' and 'abc'
    # are no REAL literal, so the REAL column keeps them as text (SQLite datatypes, type affinity)
    "sqlite": ["9e999", "-9e999", "'NaN'", "'abc'"],
    # PostgreSQL double precision: the special values 'NaN', 'Infinity', '-Infinity' (numeric types §8.1.3)
    "postgresql": ["'NaN'", "'Infinity'", "'-Infinity'"],
}


@pytest.fixture(params=["sqlite", "postgresql"])
def study(request: pytest.FixtureRequest, example_sqlite_template: Path, tmp_path: Path) -> str:
    """The example study on a real SQLite file (a copy) or in a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        target = tmp_path / "study.db"
        copy_sqlite_file(example_sqlite_template, target)
        return f"sqlite:///{target}"
    url = str(request.getfixturevalue("postgres_url"))
    build_example(url)
    return url


def _plant(url: str, literal: str, column: str = "cells_per_kg") -> int:
    """SQL literal `literal` in `column` of the last infusion, as a direct change puts it; its id."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            record_id = int(connection.execute(text("SELECT max(id) FROM infusion")).scalar_one())
            connection.execute(text(f"UPDATE infusion SET {column} = {literal} WHERE id = {record_id}"))
    finally:
        engine.dispose()
    return record_id


def _assert_located(text: str, record_id: int, literal: str, column: str = "cells_per_kg") -> None:
    assert HEADER_START in text and "cartrial audit verify" in text, text
    assert f"infusion record {record_id}, {column}: not a finite number" in text, text
    assert "Traceback" not in text, text
    assert literal.strip("'").lower() not in text.lower(), text  # never the value
    assert not {"9e999", "nan", "infinity", "abc"} & set(text.lower().replace(",", " ").split()), text


def _backend(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def test_every_read_refuses_the_planted_number_by_its_record(study: str) -> None:
    """`get_record`, `db records` (the readable records listed, the other named: exit 1, as D-19.795 does
    for a date), the snapshot and `analyse` (exit 2) each refuse each planted value by record and column."""
    from cartrial.errors import StoredValueError
    from cartrial.store import StudyService
    from cartrial.store.snapshot import read_snapshot

    for literal in PLANTED[_backend(study)]:
        record_id = _plant(study, literal)
        service = StudyService(study)
        try:
            with pytest.raises(StoredValueError) as caught:
                service.get_record("admin", "infusion", record_id)
        finally:
            service.engine.dispose()
        _assert_located(str(caught.value), record_id, literal)

        listed = run_cartrial("db", "records", "infusion", "--json", "--user", "admin", "--url", study)
        assert listed.exit_code == 1, listed.stderr
        _assert_located(listed.stderr, record_id, literal)
        rows = json.loads(listed.stdout)
        assert rows and record_id not in [row["id"] for row in rows]
        assert all(row["cells_per_kg"] is None or math.isfinite(row["cells_per_kg"]) for row in rows)

        with pytest.raises(StoredValueError) as caught:
            read_snapshot(study, dt.date.fromisoformat(EXAMPLE_CUTOFF))
        _assert_located(str(caught.value), record_id, literal)

    result = run_cartrial("analyse", "--url", study, "--user", "admin", "--cutoff", EXAMPLE_CUTOFF)
    assert result.exit_code == 2, result.stdout + result.stderr
    _assert_located(result.stderr, record_id, PLANTED[_backend(study)][-1])


def test_the_snapshot_names_every_planted_number_of_every_table(study: str) -> None:
    """All at once (no fix-and-rerun loop, as for dates, D-19.543): two columns of two records."""
    from sqlalchemy import create_engine, text

    from cartrial.errors import StoredValueError
    from cartrial.store.snapshot import read_snapshot

    literal = PLANTED[_backend(study)][0]
    last = _plant(study, literal)
    engine = create_engine(study)
    try:
        with engine.begin() as connection:
            first = int(connection.execute(text("SELECT min(id) FROM infusion")).scalar_one())
            connection.execute(text(f"UPDATE infusion SET weight_kg = {literal} WHERE id = {first}"))
    finally:
        engine.dispose()
    assert first != last
    with pytest.raises(StoredValueError) as caught:
        read_snapshot(study, dt.date.fromisoformat(EXAMPLE_CUTOFF))
    named = {(p.record, p.field) for p in caught.value.problems}
    assert named == {(f"infusion record {last}", "cells_per_kg"), (f"infusion record {first}", "weight_kg")}


def test_audit_verify_still_reports_it_as_a_finding(study: str) -> None:
    """The rule `audit verify` applies (D-19.1062) is the one the reads apply: a finding, not a refusal."""
    literal = PLANTED[_backend(study)][0]
    record_id = _plant(study, literal)
    result = run_cartrial("audit", "verify", "--url", study)
    text = result.stdout + result.stderr
    assert result.exit_code == 1, text
    finding = next(line for line in text.splitlines() if f"infusion id {record_id} " in line)
    assert "unaudited-update" in finding and "cells_per_kg" in finding.split("field(s)")[1], finding


def test_db_edit_setting_the_number_repairs_the_record(study: str) -> None:
    """The data manager's correction (D-19.1062 amended): an audited edit setting the field, with a reason
    (`writes.record_to_repair`, as for a date, D-19.560)."""
    from cartrial.store import StudyService

    literal = PLANTED[_backend(study)][1]
    record_id = _plant(study, literal)
    result = run_cartrial(
        "db", "edit", "infusion", record_id, "--set", "cells_per_kg=1500000", "--reason", "source checked",
        "--expected-version", "1", "--user", "admin", "--url", study,
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr
    service = StudyService(study)
    try:
        assert service.get_record("admin", "infusion", record_id)["cells_per_kg"] == 1_500_000.0
    finally:
        service.engine.dispose()


def test_sqlite_text_in_a_number_column_is_refused_by_the_column_type(example_sqlite: str) -> None:
    """The lowest layer: a read that locates no record (any Core select) is refused by the column's type,
    by table and column, never the text handed out as a number."""
    from sqlalchemy import create_engine, select

    from cartrial.errors import StoredValueError
    from cartrial.store.models import Infusion

    connection = sqlite3.connect(example_sqlite.removeprefix("sqlite:///"))
    with connection:
        connection.execute("UPDATE infusion SET viability_pct = 'ninety' WHERE id = 1")
    connection.close()
    engine = create_engine(example_sqlite)
    try:
        with engine.connect() as db, pytest.raises(StoredValueError) as caught:
            db.execute(select(Infusion.__table__)).all()  # type: ignore[attr-defined]
    finally:
        engine.dispose()
    assert "infusion, viability_pct: not a finite number" in str(caught.value)
    assert "ninety" not in str(caught.value)


HAND_CASES = [
    ((1.0, None, 2.5), [False, False, False]),
    ((math.inf, None, -math.inf, math.nan, 0.0), [True, False, True, True, False]),
    (("abc", 1.0, None, b"\x00"), [True, False, False, True]),
    ((None, None), [False, False]),
    ((), []),
]


@pytest.mark.parametrize(("values", "expected"), HAND_CASES)
def test_the_vectorised_rule_by_hand(values: tuple[object, ...], expected: list[bool]) -> None:
    from cartrial.store.stored_dates import non_finite_cells

    assert non_finite_cells(values).tolist() == expected


@given(st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)), max_size=50))
def test_the_vectorised_rule_is_the_per_value_rule(values: list[float | None]) -> None:
    """`non_finite_cells` (the snapshot's, in C) says of each value what `readable_number` (the column
    type's, and `audit verify`'s `non_finite`) says."""
    from cartrial.store.stored_dates import non_finite_cells, readable_number

    expected = [v is not None and not math.isfinite(v) for v in values]
    assert non_finite_cells(values).tolist() == expected
    assert [not readable_number(v) for v in values] == expected


INTEGER_PLANTED = ["'abc'", "2147483648", "9223372036854775808", "2.5"]
"""SQLite keeps text, a 64-bit integer beyond PostgreSQL's INTEGER (the bound of the field rule,
`fields.INTEGER_BOUNDS`), a REAL (2**63 does not fit 64 bits: stored as REAL) and a fraction in an INTEGER
column (SQLite datatypes, type affinity); cartrial writes none of them."""


@pytest.mark.parametrize("literal", INTEGER_PLANTED)
def test_sqlite_whole_number_cartrial_never_writes_is_refused_by_its_record(
    literal: str, example_sqlite: str
) -> None:
    """Before: `get_record` gave ``'abc'`` or ``9.223372036854776e+18`` as the dose level, and the snapshot
    refused the study quoting them ("infusions at dose level(s) 9.223372036854776e+18, abc that the protocol
    does not define"), unlocated. D-19.1097."""
    from cartrial.errors import StoredValueError
    from cartrial.store import StudyService
    from cartrial.store.snapshot import read_snapshot

    record_id = _plant(example_sqlite, literal, column="dose_level")
    service = StudyService(example_sqlite)
    try:
        with pytest.raises(StoredValueError) as caught:
            service.get_record("admin", "infusion", record_id)
    finally:
        service.engine.dispose()
    expected = f"infusion record {record_id}, dose_level: not a whole number cartrial stores"
    for text in (str(caught.value), run_cartrial("db", "records", "infusion", "--user", "admin",
                                                  "--url", example_sqlite).stderr):  # fmt: skip
        assert expected in text and "cartrial audit verify" in text, text
        shown = text.replace("from -2147483648 to", "")  # the bound allowed, not the value
        assert literal.strip("'") not in shown and "9.22" not in shown, text
    with pytest.raises(StoredValueError) as caught:
        read_snapshot(example_sqlite, dt.date.fromisoformat(EXAMPLE_CUTOFF))
    assert [(p.record, p.field) for p in caught.value.problems] == [
        (f"infusion record {record_id}", "dose_level")
    ]
    assert literal.strip("'") not in str(caught.value).replace("from -2147483648 to", "")
    repaired = run_cartrial(
        "db", "edit", "infusion", record_id, "--set", "dose_level=1", "--reason", "source checked",
        "--expected-version", "1", "--user", "admin", "--url", example_sqlite,
    )  # fmt: skip
    assert repaired.exit_code == 0, repaired.stdout + repaired.stderr


def test_postgresql_refuses_such_whole_numbers_at_the_write(postgres_url: str) -> None:
    """Why the whole-number rule is SQLite's only in practice: PostgreSQL's INTEGER refuses each at the
    write (text, beyond 32 bits; a fraction is rounded by the cast, a whole number cartrial could write)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import DataError

    build_example(postgres_url)
    engine = create_engine(postgres_url)
    try:
        for literal in INTEGER_PLANTED[:3]:
            with pytest.raises(DataError), engine.begin() as connection:
                connection.execute(text(f"UPDATE infusion SET dose_level = {literal}"))
    finally:
        engine.dispose()


def test_a_json_document_holding_nan_is_refused_and_the_json_null_text_reads_blank(
    example_sqlite: str,
) -> None:
    """SQLite keeps the text ``[{"drug": "x", "cycles": NaN}]`` in a JSON column and Python's reader reads
    it: before, `get_record` handed out ``nan`` (D-19.1098). The text ``null`` is the JSON value null: the
    same blank as SQL NULL (what `audit verify` compares, D-19.358), read as None, never refused."""
    from cartrial.errors import StoredValueError
    from cartrial.store import StudyService
    from cartrial.store.snapshot import read_snapshot

    connection = sqlite3.connect(example_sqlite.removeprefix("sqlite:///"))
    with connection:
        first, second = (row[0] for row in connection.execute("SELECT id FROM subject ORDER BY id LIMIT 2"))
        connection.execute(
            "UPDATE subject SET treatment_history = ? WHERE id = ?", ('[{"drug": "x", "cycles": NaN}]', first)
        )
        connection.execute("UPDATE subject SET relapse_history = 'null' WHERE id = ?", (second,))
    connection.close()
    service = StudyService(example_sqlite)
    try:
        with pytest.raises(StoredValueError) as caught:
            service.get_record("admin", "subject", first)
        assert service.get_record("admin", "subject", second)["relapse_history"] is None
    finally:
        service.engine.dispose()
    text = str(caught.value)
    assert f"subject record {first}, treatment_history: not a finite number" in text, text
    assert "NaN" not in text and "cycles" not in text
    with pytest.raises(StoredValueError) as caught:
        read_snapshot(example_sqlite, dt.date.fromisoformat(EXAMPLE_CUTOFF))
    assert [(p.record, p.field) for p in caught.value.problems] == [
        (f"subject record {first}", "treatment_history")
    ]
