"""`cartrial.tabular.read_csv` on the bad files a data manager produces (review sweep of the shared CSV
reader): UTF-8 byte-order mark, non-UTF-8 bytes, repeated column, a row longer than the header, the
wrong delimiter, header only. House rule: a located message (file, row, column), never a silent misread.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import InputError
from cartrial.tabular import read_csv, trim_cells


def _file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "form.csv"
    path.write_bytes(data)
    return path


def test_utf8_bom_header_is_read_as_the_column_name(tmp_path: Path) -> None:
    """Excel's "CSV UTF-8" starts with a BOM; the first column must still be called `a`."""
    frame = read_csv(_file(tmp_path, b"\xef\xbb\xbfa,b\n1,2\n"), required=["a", "b"])
    assert list(frame.columns) == ["a", "b"] and frame.to_numpy().tolist() == [["1", "2"]]


def test_non_utf8_byte_is_reported_with_its_row(tmp_path: Path) -> None:
    """A Latin-1 'é' (0xe9) in the second data row is spreadsheet row 3."""
    with pytest.raises(InputError) as caught:
        read_csv(_file(tmp_path, b"a,b\n1,2\n3,caf\xe9\n"), required=["a"])
    problem = caught.value.problems[0]
    assert problem.row == 3 and "0xe9" in problem.message and "UTF-8" in (problem.allowed or "")


@pytest.mark.parametrize("block_bytes", [1 << 24, 3])
def test_nul_byte_is_refused_at_its_row(tmp_path: Path, block_bytes: int) -> None:
    """A NUL is valid UTF-8 but binary data; pandas' parser would end the cell there and drop "tail"
    silently (issue 19: never a silent wrong value). Blocks of 3 bytes test the row count across blocks."""
    from cartrial.tabular import refuse_nul_bytes

    file = _file(tmp_path, b"a,b\n1,2\n3,head\x00tail\n")
    with pytest.raises(InputError) as caught:
        refuse_nul_bytes(file, block_bytes)
    assert caught.value.problems[0].row == 3
    with pytest.raises(InputError) as caught:
        read_csv(file, required=["a"])
    problem = caught.value.problems[0]
    assert problem.row == 3 and "NUL" in problem.message and "tail" not in str(caught.value)


def test_repeated_column_is_reported(tmp_path: Path) -> None:
    """pandas renames a repeated header `a` to `a.1`; the repetition is reported, not hidden."""
    with pytest.raises(InputError) as caught:
        read_csv(_file(tmp_path, b"a,a\n1,2\n"), required=["a"])
    assert [(p.field, p.message) for p in caught.value.problems] == [("a", "column appears more than once")]


@pytest.mark.parametrize(("data", "row"), [(b"a,b\n1,2,3\n4,5\n", 2), (b"a,b\n1,2\n3,4,5\n", 3)])
def test_row_longer_than_the_header_is_an_error(tmp_path: Path, data: bytes, row: int) -> None:
    """Unquoted comma in a value: pandas would silently use the first column as the index (first row) or
    stop with a C-parser message; both become an error at the spreadsheet row."""
    with pytest.raises(InputError) as caught:
        read_csv(_file(tmp_path, data), required=["a", "b"])
    problem = caught.value.problems[0]
    assert problem.row == row and "3 cells" in problem.message


def test_semicolon_delimiter_gets_a_hint(tmp_path: Path) -> None:
    """A European-locale export `a;b` is one column; the missing-column message says why."""
    with pytest.raises(InputError) as caught:
        read_csv(_file(tmp_path, b"a;b\n1;2\n"), required=["a", "b"])
    problems = caught.value.problems
    assert len(problems) == 1 and "';' as delimiter" in problems[0].message and problems[0].row == 1


@pytest.mark.parametrize("text", [b"a,b\n", b"a,b\n,\n\n"])
def test_header_only_is_refused_unless_the_reader_allows_it(tmp_path: Path, text: bytes) -> None:
    """A header without data rows (empty rows at the end do not count) gave every engine command an empty
    result with exit 0; it is refused naming the file, unless the reader passes `header_only` (a form with
    no records yet, a therapies file of a study without any; D-19.41)."""
    path = _file(tmp_path, text)
    with pytest.raises(InputError) as caught:
        read_csv(path, required=["a", "b"])
    assert str(caught.value) == f"{path}: no data rows (header only); allowed: at least one data row"
    frame = read_csv(path, required=["a", "b"], header_only=True)
    assert len(frame) == 0 and list(frame.columns) == ["a", "b"]


def test_empty_row_between_data_rows_is_an_error_at_its_row(tmp_path: Path) -> None:
    """pandas skips blank lines by default, which shifted every later row number in our messages; an empty
    line (or a row of empty cells) between data rows is now reported at its own spreadsheet row."""
    with pytest.raises(InputError) as caught:
        read_csv(_file(tmp_path, b"a,b\n1,2\n\n3,4\n,\n5,6\n"), required=["a", "b"])
    assert [p.row for p in caught.value.problems] == [3, 5]


def test_empty_rows_at_the_end_are_dropped_and_rows_keep_their_numbers(tmp_path: Path) -> None:
    """Trailing empty lines (common after editing in a spreadsheet) are not data; the frame position of a
    data row plus 2 is its spreadsheet row."""
    frame = read_csv(_file(tmp_path, b"a,b\n1,2\n3,4\n\n,\n\n"), required=["a", "b"])
    assert frame.to_numpy().tolist() == [["1", "2"], ["3", "4"]]


@settings(max_examples=property_examples(300), deadline=None)
@given(
    cells=st.lists(
        st.text(alphabet=st.sampled_from(["a", " ", "\t", "\r", "\n", "\xa0", "\x1f", "\x00", "\u2028"]))
    )
)
def test_the_reader_trims_exactly_the_blanks_at_a_cell_edge(cells: list[str]) -> None:
    """Property: every cell loses the space, tab, CR and LF at its edges (the fast whole-column check never
    misses one) and keeps every other character, a no-break space or a unit separator at its edge included
    (D-19.445: the field's rule refuses or keeps it; the reader never alters it)."""
    frame = pd.DataFrame({"c": pd.Series(cells, dtype=object)})
    trim_cells(frame)
    assert frame["c"].tolist() == [c.strip(" \t\r\n") for c in cells]


@pytest.mark.parametrize(
    ("data", "row", "line"),
    [
        (b'a,b\n1,2\n"3,4\n5,6\n', 3, None),  # the quote opened on row 3 runs to the end of the file
        (b'a,b\n1,"two\nlines"\n3,"4\n5,6\n', 3, 4),  # after a closed two-line cell (row 2, lines 2-3)
    ],
)
def test_an_unclosed_quote_is_located_at_the_row_it_opens(
    tmp_path: Path, data: bytes, row: int, line: int | None
) -> None:
    """A quote never closed swallows every later row into one cell; pandas stops, and the message said only
    "not a readable CSV file" (D-19.200). It now names the row (and the line) where the quoted cell opens."""
    with pytest.raises(InputError) as caught:
        read_csv(_file(tmp_path, data), required=["a", "b"])
    (problem,) = caught.value.problems
    assert (problem.row, problem.line) == (row, line) and "quote" in problem.message
    assert problem.value is None


def test_the_long_cell_check_skips_columns_of_numbers_and_blank_cells() -> None:
    """`refuse_long_cells` took `.str.len()` of every column: slow on a large file (review2 L3: +1.68 s on a
    1M-row file, the read ×2.7) and an AttributeError on a column of numbers; it measures each text column
    in one pass and locates only when some cell is over the limit (D-19.581, amended)."""
    import numpy as np
    import pandas as pd

    from cartrial.errors import InputError
    from cartrial.tabular import MAX_CELL_CHARACTERS, refuse_long_cells

    frame = pd.DataFrame(
        {
            "n": [1, 2, 3],
            "when": pd.to_datetime(["2021-01-01"] * 3),
            "note": ["a", np.nan, "x" * (MAX_CELL_CHARACTERS + 1)],
            "ok": ["b", None, "x" * MAX_CELL_CHARACTERS],
        }
    )
    with pytest.raises(InputError) as caught:
        refuse_long_cells("form.csv", frame)
    assert [str(p) for p in caught.value.problems] == [
        "form.csv, row 4, note: the cell is too long (1,000,001 characters); "
        "allowed: at most 1,000,000 characters per cell"
    ]
    refuse_long_cells("form.csv", frame.drop(columns=["note"]))  # nothing over the limit: no error
