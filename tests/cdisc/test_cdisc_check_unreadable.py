"""`export cdisc --check FOLDER` reads files the user gives: a dataset it cannot read is a finding naming the
file, never a traceback (issue 19 §4; cli-sweep, D-19.342). A garbage `dm.xpt` ended in pyreadstat's
ReadstatError traceback and a Dataset-JSON whose `columns` is not a list in a TypeError traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

CASES = {
    "dm.xpt": b"garbage, not SAS XPORT\n",
    "dm.json": b'{"columns": "x"}',
    "ae.json": b'{"columns": [{"name": "AETERM", "dataType": 5}], "rows": {"a": 1}}',
    "lb.json": b"[" * 100000 + b"]" * 100000,
    "vs.json": "{}".encode("utf-16"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_unreadable_dataset_is_a_finding(cli: Any, tmp_path: Path, name: str) -> None:
    folder = tmp_path / "export" / "sdtm"
    folder.mkdir(parents=True)
    (folder / name).write_bytes(CASES[name])
    result = cli("export", "cdisc", "--check", str(tmp_path / "export"))
    shown = result.stdout + result.stderr
    assert "Traceback" not in shown and "Error:" not in shown, shown[-1500:]
    assert result.exit_code == 1, (result.exit_code, shown[-1500:])  # findings: the check failed
    assert "unreadable" in shown and f"sdtm/{name}" in " ".join(shown.split()), shown


DATASET_JSON = (
    '{"columns": [{"name": "USUBJID", "dataType": "string"}, {"name": "AGE", "dataType": "integer"}],\n'
    ' "rows": [["S1", 40],\n'
    '  ["S2", %s]]}'
)


@pytest.mark.parametrize("number", ["NaN", "-Infinity", "1e400"])
def test_a_non_json_number_in_a_dataset_json_row_is_a_located_finding(
    cli: Any, tmp_path: Path, number: str
) -> None:
    """D-19.1046: `--check` read the user's Dataset-JSON with `json.loads`, so NaN, Infinity and 1e400 in a
    numeric row were read as NaN and inf without a word (the AGE of S2 simply "missing"). They are not JSON
    numbers (RFC 8259 §6): an unreadable finding at the line and column of the token (line 3, column 9 of
    the text above: `  ["S2", ` is 9 characters)."""
    folder = tmp_path / "export" / "sdtm"
    folder.mkdir(parents=True)
    (folder / "dm.json").write_text(DATASET_JSON % number, encoding="utf-8")
    result = cli("export", "cdisc", "--check", str(tmp_path / "export"))
    shown = " ".join((result.stdout + result.stderr).split())
    assert "Traceback" not in shown and result.exit_code == 1, (result.exit_code, shown[-1500:])
    assert "unreadable" in shown and "sdtm/dm.json" in shown, shown
    assert "not JSON" in shown and "line 3, column 10" in shown, shown


def test_an_integer_beyond_the_double_range_in_a_dataset_json_row_is_a_finding(
    cli: Any, tmp_path: Path
) -> None:
    """A 401-digit integer is JSON (read as an integer, D-19.1046), but no numeric column can hold it: the
    conversion to float ended `--check` in an OverflowError traceback. An unreadable finding naming the
    column, without the value."""
    folder = tmp_path / "export" / "sdtm"
    folder.mkdir(parents=True)
    (folder / "dm.json").write_text(DATASET_JSON % ("1" + "0" * 400), encoding="utf-8")
    result = cli("export", "cdisc", "--check", str(tmp_path / "export"))
    shown = " ".join((result.stdout + result.stderr).split())
    assert "Traceback" not in shown and result.exit_code == 1, (result.exit_code, shown[-1500:])
    assert "unreadable" in shown and "'AGE'" in shown and "1000" not in shown, shown
