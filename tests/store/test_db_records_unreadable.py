"""`cartrial db records` with one record holding an unreadable stored date (D-19.795).

Before: the whole list was refused (exit 2, `StoredValueError`) when one infusion's `infused_at` held text
cartrial never writes (`zzzz`, a direct database change): the data manager could not list the table to find
the other records, nor see the record to repair. Now the readable records are listed (stdout, as before;
`--json` the same list), the unreadable one is named on stderr by table, id and field under the refusal's
header (never its value), and the exit code is 1: a finding in the stored data, as `audit verify` reports a
broken trail (exit 2 stays the refusal of bad input). Only SQLite keeps such text: PostgreSQL's `timestamptz`
column refuses it at the write, so the case cannot be planted there.
"""

from __future__ import annotations

import json
import sqlite3

from ..conftest import Cli


def _plant(url: str) -> tuple[int, list[int]]:
    """`infused_at` = 'zzzz' on the last infusion; returns its id and the ids of the other infusions."""
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        with connection:
            ids = [int(i) for (i,) in connection.execute("SELECT id FROM infusion ORDER BY id")]
            connection.execute("UPDATE infusion SET infused_at = 'zzzz' WHERE id = ?", (ids[-1],))
    finally:
        connection.close()
    return ids[-1], ids[:-1]


def test_the_readable_records_are_listed_and_the_unreadable_one_named(cli: Cli, example_sqlite: str) -> None:
    bad, good = _plant(example_sqlite)
    assert good  # the example study has several infusions
    result = cli("db", "records", "infusion", "--user", "admin", "--url", example_sqlite, "--json")
    assert result.exit_code == 1, result.stderr
    listed = json.loads(result.stdout)
    assert [row["id"] for row in listed] == good
    assert f"infusion record {bad}, infused_at: not a readable date-time" in result.stderr
    assert "zzzz" not in result.stderr + result.stdout  # never the stored value (D-12.2)
    assert f"{len(good)} record(s) listed" in result.stderr


def test_the_table_view_lists_the_readable_records_too(cli: Cli, example_sqlite: str) -> None:
    bad, good = _plant(example_sqlite)
    result = cli("db", "records", "infusion", "--user", "admin", "--url", example_sqlite)
    assert result.exit_code == 1, result.stderr
    assert f"infusion ({len(good)} records)" in result.stdout
    assert f"infusion record {bad}, infused_at" in result.stderr
    assert "zzzz" not in result.stderr + result.stdout


def test_a_readable_table_exits_0(cli: Cli, example_sqlite: str) -> None:
    result = cli("db", "records", "infusion", "--user", "admin", "--url", example_sqlite, "--json")
    assert result.exit_code == 0 and result.stderr == ""
    assert len(json.loads(result.stdout)) > 1
