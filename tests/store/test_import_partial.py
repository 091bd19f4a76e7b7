"""Partial re-import: byte-identical files are not read again, the changed ones take the full path
(issue 19 section 5: a set-based diff, so a re-import's cost follows what changed; decisions D-19.7).

Each test compares the partial path with the full path (`partial=False`: every file read and compared)
on two copies of the same database, on both backends: same counts, same stored rows, same data queries
from the edit checks, and the trail and the replay of the data verify.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from cartrial.store.database import connect
from cartrial.store.importing import import_templates, pipeline
from cartrial.store.models import ImportManifest
from cartrial.store.service import StudyService
from cartrial.store.tamper import verify_complete

sys.path.insert(0, str(Path(__file__).parent))
from partial_import_support import edit, stored, two_databases  # noqa: F401 - fixture `two`


def test_one_changed_lab_value_reads_only_labs_and_matches_the_full_path(
    two: tuple[str, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    partial_url, full_url, folder = two
    for url in (partial_url, full_url):
        import_templates(url, folder, "admin")
    edit(folder, "labs", 3, "value", "7.25")
    read: list[str] = []
    original = pipeline.read_template_dir

    def spy(directory: Any, entries: Any = None) -> Any:
        read.extend(Path(e.file).name for e in entries or [])
        return original(directory, entries)

    monkeypatch.setattr(pipeline, "read_template_dir", spy)
    partial = import_templates(partial_url, folder, "admin", reason="lab value corrected")
    assert "labs.csv" in read
    assert not (set(read) - {"labs.csv"} - {f"{name}.csv" for name in pipeline.READ_ON_REIMPORT})
    read.clear()
    full = import_templates(full_url, folder, "admin", reason="lab value corrected", partial=False)
    assert len(read) == len(list(folder.glob("*.csv")))
    assert partial.totals == full.totals
    assert partial.totals["updated"] == 1
    assert {(c.form, c.read, c.unchanged) for c in partial.forms} == {
        (c.form, c.read, c.unchanged) for c in full.forms
    }
    assert stored(partial_url) == stored(full_url)
    engine = create_engine(partial_url)
    with engine.connect() as connection:
        manifests = connection.execute(
            select(ImportManifest.file_name).order_by(ImportManifest.id.desc()).limit(len(read))
        ).scalars()
        assert {Path(m).name for m in manifests} == {f.name for f in folder.glob("*.csv")}
    engine.dispose()
    for url in (partial_url, full_url):
        verification = verify_complete(connect(url))
        assert verification.ok, verification
    # the next re-import of the same files changes nothing (file-level shortcut after a partial import)
    again = import_templates(partial_url, folder, "admin")
    assert again.totals["updated"] == again.totals["inserted"] == 0


def test_a_write_between_the_look_and_the_lock_sends_the_import_down_the_full_path(
    two: tuple[str, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _, folder = two
    import_templates(url, folder, "admin")
    edit(folder, "infusions", 0, "product_lot", "L21-CHANGED")
    engine = connect(url)
    with engine.connect() as connection:
        stale = pipeline.UnchangedFiles.find(connection, pipeline.template_files(folder), "templates")
    assert stale is not None and any(e.file.endswith("labs.csv") for e in stale.entries())
    service = StudyService(url)
    record = service.find_records("admin", "lab_result", subject_id="CT-004")[0]
    service.update_record(
        "admin", "lab_result", record["id"], {"value": 999.0}, record["version"], "test: edited"
    )
    monkeypatch.setattr(pipeline.UnchangedFiles, "find", classmethod(lambda cls, *a: stale))
    report = import_templates(url, folder, "admin", reason="lot corrected")
    assert report.totals["updated"] == 2  # the lot, and the edited lab value restored from labs.csv
    (restored,) = [
        r for r in service.find_records("admin", "lab_result", subject_id="CT-004") if r["id"] == record["id"]
    ]
    assert restored["value"] == record["value"]
    assert verify_complete(connect(url)).ok
