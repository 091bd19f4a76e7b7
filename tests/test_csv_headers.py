"""D-19.523: a CSV header name loses only space, tab, CR and LF at its edges, like a cell (D-19.445).
The header reader used Python's `str.strip()`, which removes every Unicode white space: a column named
``subject_id`` + U+00A0 (a spreadsheet's no-break space) was matched as ``subject_id`` silently, while the
same character at a cell's edge is kept and judged. Any other space, control or format character at a
name's edge is now refused, naming the character and the column's position."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import InputError
from cartrial.neuro.derive import as_frame
from cartrial.tabular import read_csv


def _write(tmp_path: Path, header: str) -> Path:
    path = tmp_path / "t.csv"
    path.write_text(f"{header}\nCT-001,TJH\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("header", "position", "named"),
    [
        ("subject_id\u00a0,site_id", 1, "U+00A0 NO-BREAK SPACE"),
        ("subject_id,\u3000site_id", 2, "U+3000 IDEOGRAPHIC SPACE"),
        ("subject_id\u200b,site_id", 1, "U+200B ZERO WIDTH SPACE"),
        ("subject_id,site_id\x0c", 2, "U+000C <control>"),
    ],
)
def test_a_header_name_with_another_character_at_its_edge_is_refused(
    tmp_path: Path, header: str, position: int, named: str
) -> None:
    with pytest.raises(InputError) as caught:
        read_csv(_write(tmp_path, header), required=("subject_id", "site_id"))
    (problem,) = caught.value.problems
    assert problem.row == 1 and problem.field == f"column {position}"
    assert problem.message == f"column name begins or ends with {named}"
    with pytest.raises(InputError):  # CSV text given to the neuro derivations: the same rule
        as_frame(f"{header}\nCT-001,TJH\n")


def test_space_and_tab_around_a_header_name_are_trimmed(tmp_path: Path) -> None:
    frame = read_csv(_write(tmp_path, " subject_id\t,  site_id "), required=("subject_id", "site_id"))
    assert list(frame.columns) == ["subject_id", "site_id"]
    assert list(as_frame(" subject_id\t,  site_id \nCT-001,TJH\n").columns) == ["subject_id", "site_id"]


def _edge_refused(character: str) -> bool:
    """Oracle from the Unicode data: a white-space, control or format character (general category Z*,
    Cc, Cf) other than space, tab, CR and LF."""
    return character not in " \t\r\n" and unicodedata.category(character) in {"Zs", "Zl", "Zp", "Cc", "Cf"}


@settings(
    max_examples=property_examples(200),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.characters(
        categories=["Zs", "Zl", "Zp", "Cc", "Cf", "Ll", "Nd", "Po"], exclude_characters='\x00\r\n,"'
    ),
    st.booleans(),
)
@example("\u00a0", True)
@example(" ", False)
def test_a_header_edge_is_refused_exactly_when_the_character_is_invisible(
    tmp_path: Path, character: str, at_start: bool
) -> None:
    name = f"{character}subject_id" if at_start else f"subject_id{character}"
    path = _write(tmp_path, f"{name},site_id")
    if _edge_refused(character):
        with pytest.raises(InputError) as caught:
            read_csv(path, required=("site_id",))
        assert caught.value.problems[0].field == "column 1"
    else:
        frame = read_csv(path, required=("site_id",))
        assert frame.columns[0] == name.strip(" \t")
