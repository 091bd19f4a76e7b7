"""The header row of a CSV file is parsed from its first record only, never from the whole file decoded
(review of storeweb, finding 1: read_csv's peak memory for a 112 MB CSV with a quoted header went from
247 MB to 687 MB, a decoded copy of the file and a StringIO of it, to read one row)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest


def _big_csv(tmp_path: Path) -> tuple[Path, bytes]:
    header = '\ufeff"subject_id","note\nsecond line",weight_kg\r\n'
    rows = "".join(f"CT-{i:06d},some free text of the row,{60 + i % 40}.5\r\n" for i in range(120_000))
    data = (header + rows).encode("utf-8")
    path = tmp_path / "big.csv"
    path.write_bytes(data)
    return path, data


def test_the_header_of_a_big_file_is_read_without_a_copy_of_the_file(tmp_path: Path) -> None:
    from cartrial.tabular import _header_of

    path, data = _big_csv(tmp_path)
    assert len(data) > 4_000_000
    tracemalloc.start()
    try:
        header = _header_of(path, data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert header == [
        "subject_id",
        "note\nsecond line",
        "weight_kg",
    ]  # the BOM dropped, the quoted newline kept
    assert peak < 2 * len(data), f"peak {peak} bytes for a file of {len(data)} bytes"


def test_a_bad_byte_in_the_header_is_still_refused_at_its_row(tmp_path: Path) -> None:
    from cartrial.errors import InputError
    from cartrial.tabular import _header_of

    data = b'"subject_id","we\xffight"\r\nCT-001,70\r\n'
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    with pytest.raises(InputError) as caught:
        _header_of(path, data)
    assert [(p.file, p.row) for p in caught.value.problems] == [(str(path), 1)]
