"""A NUL byte in the header row is refused at row 1 by every reader (the streamed import too), and
`read_csv` parses exactly the bytes it checked (D-19.1164, D-19.1165)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cartrial.errors import InputError
from cartrial.store.importing.streaming import plain_layout, read_chunks
from cartrial.tabular import read_csv

NUL = "the file contains a NUL byte (binary data)"


def test_a_nul_byte_in_the_header_is_refused_at_row_1_by_the_streamed_reader(tmp_path: Path) -> None:
    """Before: `plain_layout` skipped the header line and passed the file; `read_chunks` then named a column
    holding the NUL byte. Now the file is read whole (`read_csv`'s refusal, with the other files' problems)
    and `read_chunks`, given it anyway (changed after the check), refuses it at row 1."""
    file = tmp_path / "labs.csv"
    file.write_bytes(b"a,b\x00c\n1,2\n3,4\n")
    assert not plain_layout(file)
    with pytest.raises(InputError) as caught:
        list(read_chunks(file, "", chunk_rows=10))
    assert [(p.file, p.row, p.message) for p in caught.value.problems] == [(str(file), 1, NUL)]


def test_a_nul_byte_in_the_header_is_refused_at_row_1_by_read_csv(tmp_path: Path) -> None:
    file = tmp_path / "form.csv"
    file.write_bytes(b"a,b\x00c\n1,2\n")
    with pytest.raises(InputError) as caught:
        read_csv(file, required=["a"])
    assert [(p.file, p.row, p.message) for p in caught.value.problems] == [(str(file), 1, NUL)]


def test_read_csv_parses_the_bytes_it_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: `read_csv` checked the file for NUL bytes, then pandas opened it again: a file changed in
    between (here: a NUL written into a cell) was parsed unchecked, the cell silently cut at the NUL."""
    file = tmp_path / "form.csv"
    file.write_bytes(b"a,b\n1,head-tail\n")
    parse = pd.read_csv

    def changed_then_parsed(source: object, *args: object, **kwargs: object) -> pd.DataFrame:
        file.write_bytes(b"a,b\n1,head\x00tail\n")  # the file changes after it was checked
        return parse(source, *args, **kwargs)  # type: ignore[call-overload,no-any-return]

    monkeypatch.setattr("cartrial.tabular.pd.read_csv", changed_then_parsed)
    frame = read_csv(file, required=["a", "b"])
    assert frame.to_dict("records") == [{"a": "1", "b": "head-tail"}]
