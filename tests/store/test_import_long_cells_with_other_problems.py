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
