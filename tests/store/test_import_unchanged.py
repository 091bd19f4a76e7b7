"""Re-import of unchanged files: the file-level diff against the audit trail (issue 19 section 5).

`unchanged_since_import` lets a re-import of byte-identical files record its manifests without reading a
row, but only when nothing was written since the import that stored those files (the trail ends in
``import`` rows). These tests check the outcome is what a row-by-row re-import gives (counts taken from
the CSV files with the csv module), that the trail and the replay of the data still verify, and that any
audited change since, or any changed byte, sends the import down the full path (the change is seen).
Both backends.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from cartrial import examples as cartrial_examples
from cartrial.store.database import connect
from cartrial.store.importing import FORMS_BY_NAME, import_templates
from cartrial.store.models import AuditLog, ImportManifest
from cartrial.store.service import StudyService
from cartrial.store.tamper import verify_complete

from .conftest import empty_study_copy

STUDY = cartrial_examples.path("ct103a-nmosd") / "study"
PROTOCOL = cartrial_examples.path("ct103a-nmosd") / "protocol.yaml"


@pytest.fixture(params=["sqlite", "postgresql"])
def imported(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A study database on each backend with the example study imported once, and its folder."""
    url = empty_study_copy(request, request.param, tmp_path)  # `init_empty_study`, copied
    folder = tmp_path / "study"
    shutil.copytree(STUDY, folder)
    import_templates(url, folder, "admin")
    yield url, folder


def csv_counts(folder: Path) -> dict[str, int]:
    """Table -> data rows of each CSV of `folder` (csv module, independent of the importer)."""
    counts: dict[str, int] = {}
    for file in folder.glob("*.csv"):
        with file.open(newline="", encoding="utf-8") as handle:
            counts[FORMS_BY_NAME[file.stem].table] = sum(1 for _ in csv.DictReader(handle))
    return counts


def audit_tail(url: str, n: int) -> list[tuple[str, str | None]]:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(AuditLog.action, AuditLog.table_name).order_by(AuditLog.id.desc()).limit(n)
        ).all()
    engine.dispose()
    return [(r.action, r.table_name) for r in rows]


def test_unchanged_reimport_records_manifests_only_and_everything_verifies(
    imported: tuple[str, Path],
) -> None:
    url, folder = imported
    expected = csv_counts(folder)
    data_before = StudyService(url).table_counts()
    for _ in range(2):  # the second re-import follows a re-import: the trail still ends in imports
        report = import_templates(url, folder, "admin")
        assert report.totals == {
            "read": sum(expected.values()),
            "inserted": 0,
            "updated": 0,
            "unchanged": sum(expected.values()),
            "kept": 0,  # every stored record is in the files (decisions D-19.86)
        }
        assert {c.table: c.read for c in report.forms} == expected
        assert all(c.reconciled for c in report.forms)
    after = StudyService(url).table_counts()
    n_files = len(expected)
    assert after["import_manifest"] == data_before["import_manifest"] + 2 * n_files
    assert after["audit_log"] == data_before["audit_log"] + 2 * n_files
    assert {k: v for k, v in after.items() if k not in ("import_manifest", "audit_log")} == {
        k: v for k, v in data_before.items() if k not in ("import_manifest", "audit_log")
    }
    assert audit_tail(url, 2 * n_files) == [("import", "import_manifest")] * (2 * n_files)
    engine = create_engine(url)
    with engine.connect() as connection:
        last = connection.execute(
            select(ImportManifest).order_by(ImportManifest.id.desc()).limit(n_files)
        ).all()
    engine.dispose()
    for row in last:
        table = FORMS_BY_NAME[Path(row.file_name).stem].table
        n = expected[table]
        assert row.row_counts == {table: {"read": n, "inserted": 0, "updated": 0, "unchanged": n}}
    verification = verify_complete(connect(url))
    assert verification.ok, verification


def test_an_audited_edit_since_the_import_is_seen_and_restored(imported: tuple[str, Path]) -> None:
    url, folder = imported
    service = StudyService(url)
    (record,) = service.find_records("admin", "infusion", subject_id="CT-004")
    service.update_record(
        "admin", "infusion", record["id"], {"weight_kg": 80.0}, record["version"], "test: edited"
    )
    report = import_templates(url, folder, "admin")
    assert (report.totals["updated"], report.totals["inserted"]) == (1, 0)
    (restored,) = service.find_records("admin", "infusion", subject_id="CT-004")
    assert restored["weight_kg"] == record["weight_kg"]
    assert verify_complete(connect(url)).ok


def test_a_changed_byte_or_another_file_set_is_not_taken_as_unchanged(imported: tuple[str, Path]) -> None:
    url, folder = imported
    infusions = folder / "infusions.csv"
    text = infusions.read_text(encoding="utf-8")
    old = "CT-004,2,2021-07-13T02:00:00Z,73.0,"
    assert old in text
    infusions.write_text(text.replace(old, old.replace("73.0", "74.5")), encoding="utf-8")
    changed = import_templates(url, folder, "admin", reason="weight corrected")
    assert changed.totals["updated"] == 1
    # the import just made wrote data: the same files again are unchanged (full or file-level path)
    again = import_templates(url, folder, "admin")
    assert again.totals["updated"] == again.totals["inserted"] == 0
    # a subset of the files (labs only) after an unchanged re-import: each row is stored as given
    only_labs = folder.parent / "labs_only"
    only_labs.mkdir()
    shutil.copy(folder / "labs.csv", only_labs / "labs.csv")
    labs = import_templates(url, only_labs, "admin")
    assert (labs.totals["read"], labs.totals["unchanged"]) == (csv_counts(only_labs)["lab_result"],) * 2
    assert verify_complete(connect(url)).ok
