"""Round-2 review of D-19.796: an imported row that restates the unreadable stored record ITSELF was taken
as a new row. The stored records were read leaving the unreadable one out, so the row's key matched none.
With one infusion's `infused_at` set to `zzzz` directly, the example folder imported again (its labs.csv
changed, so a partial re-import; infusions.csv and subjects.csv are always read) was refused at
infusions.csv with "[INFUSION-ONCE, hard] … compare this infusion row with infusion record N", though
that row IS record N. With a subject's `consent_date` set to `zzzz`, the dry run passed with no finding
and the write was refused with a problem naming no record ("subject, consent_date"). Now both the dry
run and the write refuse such a row at its file and row, naming the record it restates (or may restate,
when the unreadable date is part of its natural key), never a value. Only SQLite keeps such text."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from cartrial.errors import InputError
from cartrial.store.importing import import_templates

EXAMPLE = Path(__file__).resolve().parents[2] / "src/cartrial/examples/ct103a-nmosd/study"


def _plant(url: str, table: str, field: str) -> tuple[str, int]:
    """`field` of the last record of `table` set to 'zzzz' (a direct change); its subject and id."""
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        with connection:
            record_id, subject = connection.execute(
                f"SELECT id, subject_id FROM {table} ORDER BY id DESC LIMIT 1"
            ).fetchone()
            connection.execute(f"UPDATE {table} SET {field} = 'zzzz' WHERE id = ?", (record_id,))
    finally:
        connection.close()
    return str(subject), int(record_id)


def _folder(tmp_path: Path) -> Path:
    """The example folder without escalation_decisions.csv, one new lab row of CT-001 in labs.csv."""
    folder = tmp_path / "in"
    shutil.copytree(EXAMPLE, folder)
    (folder / "escalation_decisions.csv").unlink()
    with (folder / "labs.csv").open("a", encoding="utf-8") as labs:
        labs.write("CT-001,2021-09-08T07:00:00Z,neutrophils,3.1,10^9/L,1.8\n")
    return folder


def _row_of(file: Path, subject: str) -> int:
    """The spreadsheet row (header = 1) of `subject`'s last row in `file`, read off the file."""
    lines = file.read_text("utf-8").splitlines()
    rows = [n + 1 for n, line in enumerate(lines) if line.startswith(f"{subject},")]
    return rows[-1]


@pytest.mark.parametrize("stream_bytes", [None, 100], ids=["whole", "streamed"])
@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "write"])
@pytest.mark.parametrize(
    ("table", "field", "file"),
    [("infusion", "infused_at", "infusions.csv"), ("subject", "consent_date", "subjects.csv")],
)
def test_a_row_restating_the_unreadable_record_is_refused_at_its_row_naming_it(
    example_sqlite: str,
    tmp_path: Path,
    table: str,
    field: str,
    file: str,
    dry_run: bool,
    stream_bytes: int | None,
) -> None:
    subject, record_id = _plant(example_sqlite, table, field)
    folder = _folder(tmp_path)
    with pytest.raises(InputError) as refused:
        import_templates(example_sqlite, folder, "admin", dry_run=dry_run, stream_bytes=stream_bytes)
    row = _row_of(folder / file, subject)
    problems = [p for p in refused.value.problems if Path(str(p.file)).name == file and p.row == row]
    assert problems, [str(p) for p in refused.value.problems]
    text = " ".join(str(p) for p in problems)
    assert f"{table} record {record_id}" in text
    assert "restate" in text
    assert "INFUSION-ONCE" not in text  # not a second infusion: the row is the record
    assert "zzzz" not in str(refused.value)  # never the stored value (D-12.2)
    for problem in refused.value.problems:
        assert problem.file is not None or problem.record is not None, str(problem)  # every one located
