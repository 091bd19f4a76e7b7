"""Every field of an audit checkpoint file is checked when it is read (issue 19 §3, §4; decision D-19.1422).

`load_checkpoint` checked the head (``head_id``, ``head_hash``) only. A damaged or hand-edited checkpoint
whose ``genesis_hash`` was not text (null, a number, a list) verified OK with the genesis check skipped
without a word (exit 0: a silently skipped check); a ``recorded_at`` of any JSON type was shown in the report
as it came (``head row 201 of {}``); ``rows`` of any type passed; a ``head_hash`` that is no hash was
refused naming the ``head_id`` field. Now each field is checked against what `make_checkpoint` writes —
hashes are 64 hexadecimal digits (SHA-256), the time is the audit trail's canonical UTC text, ``rows`` a
count — and a bad one is refused naming its field, exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cartrial.cli import main
from cartrial.errors import InputError
from cartrial.store.tamper import load_checkpoint, make_checkpoint

from .conftest import StudyDb


def _saved(db: StudyDb) -> dict[str, Any]:
    with db.service.engine.connect() as connection:
        return make_checkpoint(connection)


BAD_FIELDS: list[tuple[str, Any]] = [
    ("genesis_hash", None),
    ("genesis_hash", 1),
    ("genesis_hash", []),
    ("genesis_hash", "not-a-hash"),
    ("head_hash", "zz"),
    ("head_hash", 5),
    ("rows", None),
    ("rows", -1),
    ("rows", "201"),
    ("rows", True),
    ("recorded_at", {}),
    ("recorded_at", 17),
    ("recorded_at", "yesterday"),
    ("recorded_at", "２026-01-01T00:00:00.000000Z"),  # fullwidth digits (review of D-19.1422)
    ("recorded_at", "2026-13-01T00:00:00.000000Z"),  # month 13
    ("recorded_at", "2026-02-30T00:00:00.000000Z"),  # 30 February
    ("recorded_at", "2026-01-01T24:00:00.000000Z"),  # hour 24
    ("keyed_from", "1"),
    ("keyed_from", 0),
    ("keyed_from", True),
    ("key_id", 7),
    ("key_id", []),
    ("seal", 7),
]


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS, ids=[f"{f}={v!r}" for f, v in BAD_FIELDS])
def test_a_bad_field_is_refused_naming_it(study: StudyDb, tmp_path: Path, field: str, value: Any) -> None:
    saved = _saved(study)
    edited = tmp_path / "cp.json"
    edited.write_text(json.dumps({**saved, field: value}))
    with pytest.raises(InputError) as caught:
        load_checkpoint(edited)
    problem = caught.value.problems[0]
    assert (problem.file, problem.field) == (str(edited), field), caught.value
    assert main(["audit", "verify", "--url", study.url, "--checkpoint", str(edited)]) == 2


def test_the_checkpoint_as_written_is_read_back(study: StudyDb, tmp_path: Path) -> None:
    saved = _saved(study)
    written = tmp_path / "cp.json"
    written.write_text(json.dumps(saved))
    assert load_checkpoint(written) == saved
    assert main(["audit", "verify", "--url", study.url, "--checkpoint", str(written)]) == 0


def test_an_empty_trails_checkpoint_has_no_hashes(tmp_path: Path) -> None:
    """The checkpoint of a trail with no rows: head 0, no head hash, no genesis hash (as written)."""
    empty = {
        "format": "cartrial-audit-checkpoint/1",
        "rows": 0,
        "head_id": 0,
        "head_hash": None,
        "genesis_hash": None,
        "recorded_at": "2026-01-01T00:00:00.000000Z",
        "keyed_from": None,
        "key_id": None,
        "cartrial_version": "0.1.0",
    }
    path = tmp_path / "cp.json"
    path.write_text(json.dumps(empty))
    assert load_checkpoint(path) == empty
