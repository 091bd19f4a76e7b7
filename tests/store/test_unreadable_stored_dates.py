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

from ..conftest import build_example, run_cartrial

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


def test_a_site_view_is_not_refused_for_another_sites_record(example_sqlite: str) -> None:
    """Only a record the view reads is refused (its id is no business of another site's reader)."""
    from cartrial.store.snapshot import read_snapshot

    _plant(example_sqlite, "infusion", "infused_at", "zzzz")
    snapshot = read_snapshot(example_sqlite, CUTOFF, sites=["ZZZ"], before_first_infusion=True)  # all at TJH
    assert len(snapshot.tables["infusions"]) == 0


def test_postgresql_refuses_an_unreadable_date_in_its_columns(postgres_url: str) -> None:
    """Why the refusal is SQLite's only: PostgreSQL's ``date`` and ``timestamptz`` refuse such text."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import DataError

    build_example(postgres_url)
    engine = create_engine(postgres_url)
    try:
        for statement in (
            "UPDATE infusion SET infused_at = 'zzzz'",
            "UPDATE subject SET disposition_date = '2021-13-45'",
        ):
            with pytest.raises(DataError), engine.begin() as connection:
                connection.execute(text(statement))
    finally:
        engine.dispose()
