"""Partial re-import: byte-identical files are not read again, the changed ones take the full path
(issue 19 section 5: a set-based diff, so a re-import's cost follows what changed; decisions D-19.7).

Each test compares the partial path with the full path (`partial=False`: every file read and compared)
on two copies of the same database, on both backends: same counts, same stored rows, same data queries
from the edit checks, and the trail and the replay of the data verify.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from cartrial import examples as cartrial_examples
from cartrial.store.database import connect
from cartrial.store.importing import FORMS_BY_NAME, import_templates, pipeline
from cartrial.store.models import ImportManifest
from cartrial.store.service import StudyService
from cartrial.store.study_setup import init_study
from cartrial.store.tamper import verify_complete

STUDY = cartrial_examples.path("ct103a-nmosd") / "study"
PROTOCOL = cartrial_examples.path("ct103a-nmosd") / "protocol.yaml"


def _url(backend: str, request: pytest.FixtureRequest, tmp_path: Path, name: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / f'{name}.db'}"
    return str(request.getfixturevalue("postgres_url")) if name == "a" else _second_schema(request)


def _second_schema(request: pytest.FixtureRequest) -> str:
    """A second fresh PostgreSQL schema (the fixture gives one per test)."""
    import uuid

    base = str(request.getfixturevalue("postgres_server"))
    schema = f"partial_{uuid.uuid4().hex[:10]}"
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()

    request.addfinalizer(drop)
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def two(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """Two empty study databases of one backend and a copy of the example study's folder."""
    first = _url(request.param, request, tmp_path, "a")
    second = _url(request.param, request, tmp_path, "b")
    for url in (first, second):
        init_study(url, PROTOCOL, "admin")
    folder = tmp_path / "study"
    shutil.copytree(STUDY, folder)
    yield first, second, folder


def stored(url: str) -> dict[str, Any]:
    """Every data table's rows (without ids, versions or times) and the edit-check queries."""
    engine = create_engine(url)
    out: dict[str, Any] = {}
    with engine.connect() as connection:
        for spec in FORMS_BY_NAME.values():
            table = spec.model.__table__  # type: ignore[attr-defined]
            names = [
                c.name for c in table.columns if c.name not in ("id", "version", "created_at", "updated_at")
            ]
            out[spec.table] = sorted(
                repr(tuple(row)) for row in connection.execute(select(*(table.c[n] for n in names)))
            )
        out["queries"] = sorted(
            tuple(row)
            for row in connection.execute(
                text("SELECT table_name, field, text FROM data_query ORDER BY table_name, field, text")
            )
        )
    engine.dispose()
    return out


def edit(folder: Path, form: str, row: int, column: str, value: str) -> None:
    """Set one cell of `form`.csv (data row `row`, 0-based) with the csv module."""
    path = folder / f"{form}.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    rows[row + 1][rows[0].index(column)] = value
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


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


def test_a_new_infusion_rechecks_the_stored_assessments_it_makes_early(two: tuple[str, str, Path]) -> None:
    """The assessments of a subject whose infusion is added later are left out (byte-identical files), but
    the edit checks the full path would run on them (assessment long before the infusion) still run."""
    partial_url, full_url, folder = two
    infusions = folder / "infusions.csv"
    lines = infusions.read_text(encoding="utf-8").splitlines(keepends=True)
    (line,) = [x for x in lines if x.startswith("CT-004,")]
    infusions.write_text("".join(x for x in lines if x != line), encoding="utf-8")
    for url in (partial_url, full_url):
        import_templates(url, folder, "admin")
    infusions.write_text(
        "".join(lines).replace("CT-004,2,2021-07-13", "CT-004,2,2022-09-13"), encoding="utf-8"
    )
    partial = import_templates(partial_url, folder, "admin", reason="infusion added")
    full = import_templates(full_url, folder, "admin", reason="infusion added", partial=False)
    assert partial.totals == full.totals
    assert partial.totals["inserted"] == 1
    early = {f.check.id for f in full.edit_checks}
    assert "ASSESSMENT-LONG-BEFORE-INFUSION" in early  # the case is not vacuous
    assert sorted((f.check.id, f.record.table, f.field) for f in partial.edit_checks) == sorted(
        (f.check.id, f.record.table, f.field) for f in full.edit_checks
    )
    assert stored(partial_url) == stored(full_url)
    assert verify_complete(connect(partial_url)).ok


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


def test_the_partial_path_with_streamed_files(two: tuple[str, str, Path]) -> None:
    """Files streamed in chunks (`stream_bytes`) on the partial path: the changed one is streamed, the
    left-out ones get their manifests, and everything verifies."""
    partial_url, full_url, folder = two
    for url in (partial_url, full_url):
        import_templates(url, folder, "admin")
    edit(folder, "labs", 5, "value", "6.5")
    partial = import_templates(
        partial_url, folder, "admin", reason="lab corrected", stream_bytes=2_000, chunk_rows=40
    )
    full = import_templates(full_url, folder, "admin", reason="lab corrected", partial=False)
    assert partial.totals == full.totals
    assert partial.totals["updated"] == 1
    assert stored(partial_url) == stored(full_url)
    assert verify_complete(connect(partial_url)).ok
