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
