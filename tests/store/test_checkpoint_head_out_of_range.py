"""Issue 19 §3: a checkpoint file whose head is not a row of this trail (D-19.1063).

A checkpoint is a file kept outside the database; `audit verify --checkpoint FILE` must answer every file
with a finding or a located refusal, never a driver error. Before D-19.1063:
- a head beyond the range of the audit id column (``2**63`` on SQLite, ``2**31`` on PostgreSQL's
  INTEGER) was looked up and the driver's OverflowError / NumericValueOutOfRange came out as a traceback,
  although a head beyond the last row is simply truncation;
- a JSON ``true`` head was taken as row 1 (``isinstance(True, int)``), and the report said "head row True";
- the checkpoint of another, longer study was reported as truncation only: the genesis row (which
  identifies the study) was compared only when the head row still existed.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from cartrial.cli import main
from cartrial.errors import InputError
from cartrial.store import StudyService, connect
from cartrial.store.tamper import load_checkpoint, make_checkpoint, verify_complete

from .conftest import StudyDb, make_study


def checkpoint_of(db: StudyDb) -> dict[str, object]:
    with db.service.engine.connect() as connection:
        return make_checkpoint(connection)


def write(path: Path, data: dict[str, object]) -> Path:
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("head_id", [2**31, 2**63, 2**64 - 1])
def test_a_head_beyond_the_id_range_is_truncation_not_a_driver_error(
    study: StudyDb, tmp_path: Path, head_id: int
) -> None:
    saved = checkpoint_of(study)
    rows = int(str(saved["head_id"]))
    edited = write(tmp_path / "cp.json", {**saved, "head_id": head_id})
    assert main(["audit", "verify", "--url", study.url, "--checkpoint", str(edited)]) == 1
    result = verify_complete(study.service, checkpoint=load_checkpoint(edited))
    assert [(f.kind, f.audit_row_id) for f in result.findings] == [("checkpoint", rows + 1)]
    assert "truncation" in result.findings[0].message


@pytest.mark.parametrize("head_id", [True, False, 1.0, "3", -1, None])
def test_a_head_that_is_not_a_row_number_is_refused_with_its_field(
    study: StudyDb, tmp_path: Path, head_id: object
) -> None:
    saved = checkpoint_of(study)
    edited = write(tmp_path / "cp.json", {**saved, "head_id": head_id})
    with pytest.raises(InputError) as caught:
        load_checkpoint(edited)
    assert caught.value.problems[0].field == "head_id"
    assert main(["audit", "verify", "--url", study.url, "--checkpoint", str(edited)]) == 2


def test_another_longer_studys_checkpoint_is_named_as_another_study(study: StudyDb, tmp_path: Path) -> None:
    if study.backend != "sqlite":
        pytest.skip("the second study is a SQLite file; the comparison does not depend on the backend")
    other = make_study(f"sqlite:///{tmp_path / 'other.db'}")
    for name in ("a", "b", "c", "d", "e"):  # make its trail longer than the study's
        other.service.add_user("admin", f"extra-{name}", "monitor", password="test-password-0123")
    foreign = checkpoint_of(other)
    other.service.engine.dispose()
    assert int(str(foreign["head_id"])) > int(str(checkpoint_of(study)["head_id"]))
    result = verify_complete(StudyService(connect(study.url)), checkpoint=foreign)
    assert ("checkpoint", 1) in [(f.kind, f.audit_row_id) for f in result.findings]
    assert any("another study database" in f.message for f in result.findings)


def test_a_checkpoint_that_is_a_fifo_is_refused_by_the_python_api_too(tmp_path: Path) -> None:
    """The command line refuses a FIFO as `--checkpoint` before the command runs; `load_checkpoint` (the
    Python API) opened it and waited for a writer for ever. A writer thread that writes nothing keeps the
    old code from hanging here: it then read an empty file ("not a JSON checkpoint file")."""
    fifo = tmp_path / "checkpoint.fifo"
    os.mkfifo(fifo)

    def empty_writer() -> None:
        with open(fifo, "wb"):  # blocks until a reader opens the FIFO
            pass

    writer = threading.Thread(target=empty_writer, daemon=True)
    writer.start()
    try:
        with pytest.raises(InputError) as caught:
            load_checkpoint(fifo)
        assert "FIFO" in str(caught.value)
        assert caught.value.problems[0].field == "checkpoint"
    finally:
        # release the writer: a reader that does not wait, opened again until the writer has passed its open
        # (a reader opened and closed before the writer thread reaches its open would leave it waiting)
        while writer.is_alive():
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
            writer.join(timeout=0.05)
