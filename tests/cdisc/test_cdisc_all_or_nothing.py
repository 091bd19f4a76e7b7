"""`export cdisc` writes all of its datasets or none: an error after the first files are written leaves the
output folder as it was, earlier files included (cli-audit, D-19.501)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from cartrial.errors import InputError, Problem

from .conftest import CUTOFF


def _fail_on_ex(real: Any) -> Any:
    def write_xpt(frame: Any, spec: Any, path: Path, **kwargs: Any) -> None:
        if spec.name == "EX":  # after DM and other SDTM datasets were written
            raise InputError(
                Problem("a number outside the range SAS XPORT can hold", file=str(path), field="EXDOSE")
            )
        real(frame, spec, path, **kwargs)

    return write_xpt


def test_an_error_midway_leaves_the_output_folder_as_it_was(
    example_sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cartrial.analysis import analyse
    from cartrial.cdisc import transport
    from cartrial.cdisc.export import export_cdisc
    from cartrial.store.snapshot import read_snapshot

    db = tmp_path / "study.db"
    shutil.copyfile(example_sqlite_template, db)
    snapshot = read_snapshot(f"sqlite:///{db}", CUTOFF)
    out = tmp_path / "out"
    (out / "sdtm").mkdir(parents=True)
    (out / "sdtm" / "dm.xpt").write_bytes(b"the user's earlier DM")
    (out / "notes.txt").write_text("kept", encoding="utf-8")
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    monkeypatch.setattr(transport, "write_xpt", _fail_on_ex(transport.write_xpt))
    with pytest.raises(InputError) as caught:
        export_cdisc(snapshot, analyse(snapshot), out, formats="both")
    (problem,) = caught.value.problems
    assert problem.file == str(out / "sdtm" / "ex.xpt")  # named where the user looks, not in the stage
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "study.db"]  # no staging folder left
    monkeypatch.undo()
    export_cdisc(snapshot, analyse(snapshot), out, formats="both")
    assert (out / "sdtm" / "ex.xpt").is_file() and (out / "notes.txt").read_text(encoding="utf-8") == "kept"
    assert (out / "sdtm" / "dm.xpt").read_bytes() != b"the user's earlier DM"
