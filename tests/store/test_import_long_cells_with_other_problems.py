"""A cell over the reader's limit (1,000,000 characters, D-19.581) is one problem among the file's others
(D-19.793): the import reported the over-long cells of a file and stopped there, so a bad date or a text
over its field's length in the same file was only found by the next import. Both the whole-file reader
and the streamed one now report every problem of the file, each at its file, row and field with the
allowed length, never the over-long cell's text. Expected problems are read off the file written here by
hand: the limit is 1,000,000 characters per cell (docs/store.md), `analyte` at most 80 characters
(FIELDS.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cartrial.errors import InputError
from cartrial.store.importing import import_templates

from .conftest import StudyDb

HEADER = "subject_id,collected_at,analyte,value,unit,lln"
LONG = "x" * 1_000_001
ROWS = [
    f"CT-001,2021-09-08T07:00:00Z,{LONG},0.45,10^9/L,1.8",  # row 2: over the cell limit
    "CT-001,2021-09-09T07:00:00Z,neutrophils,0.45,10^9/L,1.8",  # row 3: good
    "CT-001,not-a-date,neutrophils,0.45,10^9/L,1.8",  # row 4: a bad date-time
    f"CT-002,2021-09-08T07:00:00Z,neutrophils,0.45,{LONG},1.8",  # row 5: over the cell limit
    f"CT-002,2021-09-09T07:00:00Z,{'y' * 81},0.45,10^9/L,1.8",  # row 6: over the field's 80 characters
]


@pytest.mark.parametrize("stream_bytes", [None, 1_000], ids=["whole", "streamed"])
def test_every_problem_of_a_file_with_an_over_long_cell_is_reported(
    study: StudyDb, tmp_path: Path, stream_bytes: int | None
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "labs.csv").write_text("\n".join([HEADER, *ROWS]) + "\n", "utf-8")
    before = study.service.table_counts()
    with pytest.raises(InputError) as refused:
        import_templates(study.url, folder, "admin", stream_bytes=stream_bytes, chunk_rows=2)
    assert study.service.table_counts() == before  # nothing written
    found = sorted((p.row or 0, str(p.field), p.allowed) for p in refused.value.problems)
    assert [(row, field) for row, field, _ in found] == [
        (2, "analyte"),
        (4, "collected_at"),
        (5, "unit"),
        (6, "analyte"),
    ], found
    assert found[0][2] == found[2][2] == "at most 1,000,000 characters per cell"
    assert found[3][2] == "at most 80 characters"
    for problem in refused.value.problems:
        assert Path(str(problem.file)).name == "labs.csv"
        assert "xxxxxxxx" not in str(problem)  # never the over-long cell, only its length
    # a text over its field's length is a cell error as any other: its input text shown shortened
    (over_field,) = [p for p in refused.value.problems if p.row == 6]
    assert len(str(over_field)) < 400


def test_a_long_cell_is_kept_when_the_reader_stops_at_a_short_row(study: StudyDb, tmp_path: Path) -> None:
    """Review of D-19.793: a file the whole reader refuses later (a short row, row 3) lost its long-cell
    problem (row 2): both are reported."""
    folder = tmp_path / "in"
    folder.mkdir()
    rows = [ROWS[0], "CT-001,2021-09-09T07:00:00Z,neutrophils"]
    (folder / "labs.csv").write_text("\n".join([HEADER, *rows]) + "\n", "utf-8")
    with pytest.raises(InputError) as refused:
        import_templates(study.url, folder, "admin")
    found = {(p.row, p.allowed) for p in refused.value.problems}
    assert (2, "at most 1,000,000 characters per cell") in found
    assert 3 in {p.row for p in refused.value.problems}


@pytest.mark.parametrize("stream_bytes", [None, 1_000], ids=["whole", "streamed"])
def test_a_row_whose_only_cell_is_too_long_is_not_an_empty_row(
    study: StudyDb, tmp_path: Path, stream_bytes: int | None
) -> None:
    """Review of D-19.793: row 2 holds one cell, over the limit; emptied by the reader it read as an
    "empty row between data rows" when the file was read whole, not when streamed. It is a row: its long
    cell is reported, and its blank required cells (subject_id, collected_at, value, unit; FIELDS.md) as
    any row's, alike on both paths."""
    folder = tmp_path / "in"
    folder.mkdir()
    rows = [f",,{LONG},,,", ROWS[1]]
    (folder / "labs.csv").write_text("\n".join([HEADER, *rows]) + "\n", "utf-8")
    with pytest.raises(InputError) as refused:
        import_templates(study.url, folder, "admin", stream_bytes=stream_bytes, chunk_rows=2)
    assert not [p for p in refused.value.problems if "empty row" in p.message]
    (long,) = [p for p in refused.value.problems if p.allowed == "at most 1,000,000 characters per cell"]
    assert (long.row, long.field) == (2, "analyte")
    assert {p.row for p in refused.value.problems} == {2}


@pytest.mark.parametrize("stream_bytes", [None, 1_000], ids=["whole", "streamed"])
def test_past_fifty_long_cells_a_column_counts_the_rest(
    study: StudyDb, tmp_path: Path, stream_bytes: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review of D-19.793: 55 analytes over the limit (lowered to 30 characters here to keep the file
    small): the 50 listed are long cells, the 5 past them read as "value is required (got '')". Now 50
    listed and one problem counting the 5 more, nothing about a blank analyte."""
    monkeypatch.setattr("cartrial.tabular.MAX_CELL_CHARACTERS", 30)
    folder = tmp_path / "in"
    folder.mkdir()
    rows = [
        f"CT-001,2021-09-{1 + n // 24:02d}T{n % 24:02d}:00:00Z,{'x' * 31},0.45,10^9/L,1.8" for n in range(55)
    ]
    (folder / "labs.csv").write_text("\n".join([HEADER, *rows]) + "\n", "utf-8")
    with pytest.raises(InputError) as refused:
        import_templates(study.url, folder, "admin", stream_bytes=stream_bytes, chunk_rows=100)
    problems = refused.value.problems
    assert not [p for p in problems if "required" in p.message]
    listed = [p for p in problems if p.row is not None]
    assert len(listed) == 50 and {p.field for p in listed} == {"analyte"}
    (more,) = [p for p in problems if p.row is None]
    assert "5 more" in more.message and more.field == "analyte"
