"""A stored date or date-time the store never writes is refused by its record, never a traceback quoting
it (D-12.2, issue 19, D-19.543).

Before: SQLite keeps any text in a date column; ``zzzz`` (put in with SQL) crashed `analyse`, `report` and
`export cdisc` with SQLAlchemy's uncaught ``ValueError: Invalid isoformat string: 'zzzz'``, and
``2021-13-45`` (the shape of a date) went on to ``ValueError: month must be in 1..12`` in the
populations' end of study. PostgreSQL refuses both in its ``date`` and ``timestamptz`` columns.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from cartrial.errors import InputError

from ..conftest import run_cartrial
from .conftest import empty_study_copy

CUTOFF = dt.date(2022, 3, 20)


def _plant(url: str, table: str, column: str, value: object) -> int:
    """`value` in `column` of the last record of `table` (a direct change); returns that record's id."""
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        with connection:
            (record_id,) = connection.execute(f"SELECT max(id) FROM {table}").fetchone()
            connection.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", (value, record_id))
    finally:
        connection.close()
    return int(record_id)


PLANTED = [
    ("infusion", "infused_at", "zzzz"),  # a date-time column, not even the shape of one
    ("edss_assessment", "assessed_at", "2021-13-45 10:00:00"),  # the shape, month 13
    ("subject", "disposition_date", "2021-13-45"),  # a date column: the shape, month 13
    ("subject", "birth_date", 20210101.5),  # not text at all
]


@pytest.mark.parametrize(("table", "column", "value"), PLANTED, ids=[f"{t}.{c}" for t, c, _ in PLANTED])
def test_the_snapshot_refuses_an_unreadable_stored_date_by_its_record(
    table: str, column: str, value: object, example_sqlite: str
) -> None:
    from cartrial.store.snapshot import read_snapshot

    record_id = _plant(example_sqlite, table, column, value)
    with pytest.raises(InputError) as caught:
        read_snapshot(example_sqlite, CUTOFF)
    text = str(caught.value)
    assert f"{table} record {record_id}, {column}: not a" in text, text
    assert "allowed: a" in text and "YYYY-MM-DD" in text
    assert "cartrial audit verify" in text  # a value the store never writes: a direct change
    assert str(value) not in text and "got" not in text
    (problem,) = caught.value.problems
    assert problem.value is None and problem.row is None


@pytest.mark.parametrize(
    ("command", "table", "column", "value"),
    [
        (("analyse",), "infusion", "infused_at", "zzzz"),
        (("report", "--no-pdf"), "edss_assessment", "assessed_at", "zzzz"),
        (("export", "cdisc"), "subject", "disposition_date", "2021-13-45"),
    ],
    ids=["analyse", "report", "cdisc"],
)
def test_the_commands_print_the_record_never_a_traceback(
    command: tuple[str, ...], table: str, column: str, value: str, example_sqlite: str, tmp_path: Path
) -> None:
    record_id = _plant(example_sqlite, table, column, value)
    result = run_cartrial(
        *command, "--url", example_sqlite, "--user", "admin", "--cutoff", str(CUTOFF), "--out", str(tmp_path)
    )
    assert result.exit_code == 2, result.stderr
    assert f"{table} record {record_id}, {column}" in result.stderr
    assert "Traceback" not in result.stderr and value not in result.stderr + result.stdout


def test_a_readable_date_time_in_another_spelling_is_read_as_its_type_reads_it(example_sqlite: str) -> None:
    """The one text path reads what SQLAlchemy's reader reads (``fromisoformat``): an offset is UTC."""
    from cartrial.store.snapshot import read_snapshot

    record_id = _plant(example_sqlite, "infusion", "infused_at", "2021-12-07T10:30:00+02:00")
    infusions = read_snapshot(example_sqlite, CUTOFF).tables["infusions"]
    (cell,) = infusions.loc[infusions["record_id"] == str(record_id), "infused_at"]
    assert cell == "2021-12-07T08:30:00Z"


def _plant_for(url: str, table: str, column: str, value: object, subject_id: str) -> int:
    """`value` in `column` of the last record of `subject_id` in `table`; returns that record's id."""
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        with connection:
            (record_id,) = connection.execute(
                f"SELECT max(id) FROM {table} WHERE subject_id = ?", (subject_id,)
            ).fetchone()
            connection.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", (value, record_id))
    finally:
        connection.close()
    assert record_id is not None
    return int(record_id)


def test_every_unreadable_date_of_every_table_is_refused_at_once(example_sqlite: str) -> None:
    """One refusal lists them all (no fix-and-rerun loop, one table at a time)."""
    from cartrial.store.snapshot import read_snapshot
    from cartrial.store.stored_dates import UNREADABLE_DATE_HEADER

    planted = [
        ("subject", "disposition_date", _plant(example_sqlite, "subject", "disposition_date", "2021-13-45")),
        ("infusion", "infused_at", _plant(example_sqlite, "infusion", "infused_at", "zzzz")),
        ("edss_assessment", "assessed_at", _plant(example_sqlite, "edss_assessment", "assessed_at", "zzzz")),
    ]
    with pytest.raises(InputError) as caught:
        read_snapshot(example_sqlite, CUTOFF)
    assert caught.value.header == UNREADABLE_DATE_HEADER
    named = {(p.record, p.field) for p in caught.value.problems}
    assert named == {(f"{table} record {record_id}", column) for table, column, record_id in planted}


def test_the_list_of_unreadable_dates_is_bounded(
    example_sqlite: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cartrial.store import tamper
    from cartrial.store.snapshot import read_snapshot

    monkeypatch.setattr(tamper, "MAX_FINDINGS", 2)
    for subject_id in ("CT-001", "CT-002", "CT-003"):
        _plant_for(example_sqlite, "infusion", "infused_at", "zzzz", subject_id)
    with pytest.raises(InputError) as caught:
        read_snapshot(example_sqlite, CUTOFF)
    problems = caught.value.problems
    assert [p.field for p in problems] == ["infused_at", "infused_at", None]
    assert problems[-1].message == "and 1 more stored value(s) no reader reads"


def test_a_site_view_is_refused_for_its_own_records_only(example_sqlite: str) -> None:
    """Only a record the view reads is refused (its id is no business of another site's reader): CT-012
    moved to a second site, with unreadable dates in its records; the first site's view reads fine."""
    from cartrial.store.snapshot import read_snapshot

    connection = sqlite3.connect(example_sqlite.removeprefix("sqlite:///"))
    try:
        with connection:
            connection.execute(
                "INSERT INTO site (site_id, name, country, created_at, updated_at, version, time_zone) "
                "SELECT 'SITE2', 'Second site', country, created_at, updated_at, 1, time_zone FROM site "
                "WHERE site_id = 'TJH'"
            )
            moved = connection.execute(
                "UPDATE subject SET site_id = 'SITE2' WHERE subject_id = 'CT-012'"
            ).rowcount
            sites = dict(
                connection.execute("SELECT site_id, count(*) FROM subject GROUP BY site_id").fetchall()
            )
    finally:
        connection.close()
    assert moved == 1 and sites == {"TJH": 11, "SITE2": 1}
    infusion = _plant_for(example_sqlite, "infusion", "infused_at", "zzzz", "CT-012")
    edss = _plant_for(example_sqlite, "edss_assessment", "assessed_at", "2021-13-45 10:00:00", "CT-012")

    first = read_snapshot(example_sqlite, CUTOFF, sites=["TJH"])
    assert len(first.tables["infusions"]) == 11
    assert "CT-012" not in set(first.tables["subjects"]["subject_id"])
    assert len(first.tables["edss"]) > 0

    with pytest.raises(InputError) as caught:
        read_snapshot(example_sqlite, CUTOFF, sites=["SITE2"])
    named = {(p.record, p.field) for p in caught.value.problems}
    assert named == {
        (f"infusion record {infusion}", "infused_at"),
        (f"edss_assessment record {edss}", "assessed_at"),
    }


def test_postgresql_refuses_an_unreadable_date_in_its_columns(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Why the refusal is SQLite's only: PostgreSQL's ``date`` and ``timestamptz`` refuse such text. On this
    test's own copy of the session's imported example study (tests/store/conftest.py), not a new import."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import DataError

    url = empty_study_copy(request, "postgresql", tmp_path, imported=True)
    engine = create_engine(url)
    try:
        for statement in (
            "UPDATE infusion SET infused_at = 'zzzz'",
            "UPDATE subject SET disposition_date = '2021-13-45'",
        ):
            with pytest.raises(DataError), engine.begin() as connection:
                connection.execute(text(statement))
    finally:
        engine.dispose()
