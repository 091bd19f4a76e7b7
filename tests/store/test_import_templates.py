"""Template import into the study database: complete, idempotent, audited, validated first, atomic.

Requirements: decisions §7 ("Import": every import atomic, validated before writing with per-row errors,
idempotent, a changed value is an update with the import's reason in the audit trail); data-standards.md
§6.3 rule 6 (import manifest with the source file hash) and §8.1 (ICH E6(R3) 4.2.5: validated transfer with
reconciliation). Expected counts are the rows of the shipped CSV files, counted here with the csv module.
Both backends: SQLite file and PostgreSQL (`CARTRIAL_TEST_POSTGRES_URL`, a fresh schema per test).
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from cartrial import examples as cartrial_examples
from cartrial import templates as cartrial_templates
from cartrial.errors import ConflictError, InputError, PermissionDeniedError
from cartrial.store.importing import FORMS_BY_NAME, import_templates
from cartrial.store.models import AuditLog, ImportManifest
from cartrial.store.service import StudyService
from cartrial.store.study_setup import init_study

from ..conftest import run_cartrial
from .conftest import empty_sqlite_copy, empty_study_copy

REPO = Path(__file__).resolve().parents[2]
STUDY = cartrial_examples.path("ct103a-nmosd") / "study"
PROTOCOL = cartrial_examples.path("ct103a-nmosd") / "protocol.yaml"


@pytest.fixture(params=["sqlite", "postgresql"])
def study_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An initialised, empty study database (admin user `admin`) on each backend: a copy of the session's
    `init_empty_study` template."""
    return empty_study_copy(request, request.param, tmp_path)


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def data_counts(url: str) -> dict[str, int]:
    counts = StudyService(url).table_counts()
    return {k: v for k, v in counts.items() if k not in ("import_manifest", "audit_log")}


def test_example_study_imports_completely_then_idempotently_then_as_an_audited_update(
    study_url: str, tmp_path: Path
) -> None:
    """One database per backend, three imports of the example study:

    1. every row of every form lands in its table; one manifest row per file with the file's SHA-256
       (data-standards.md §6.3 rule 6) and its per-table counts (reconciliation, ICH E6(R3) 4.2.5);
    2. re-importing the same files inserts and updates nothing and adds no data audit rows, only the
       manifest's "import" rows (decisions §7: idempotent);
    3. a changed value is an update (not a duplicate) whose audit row keeps the old and new value and whose
       reason names the import, the file and its SHA-256 (decisions §7; 21 CFR 11.10(e): changes do not
       obscure
       earlier values). The audit chain verifies after each step (data-standards.md §8.2).
    """
    folder = tmp_path / "study"
    shutil.copytree(STUDY, folder)
    files = sorted(folder.glob("*.csv"))
    expected = {FORMS_BY_NAME[f.stem].table: len(csv_rows(f)) for f in files}

    report = import_templates(study_url, folder, "admin")
    counts = StudyService(study_url).table_counts()
    for table, rows in expected.items():
        assert counts[table] == rows, table
    assert report.totals["read"] == report.totals["inserted"] == sum(expected.values())
    assert all(c.reconciled for c in report.forms)
    engine = create_engine(study_url)
    with engine.connect() as connection:
        manifest = {row.file_name: row for row in connection.execute(select(ImportManifest))}
    assert len(manifest) == len(files)
    for file in files:
        row = manifest[str(file)]
        assert row.sha256 == hashlib.sha256(file.read_bytes()).hexdigest()
        assert row.imported_by == "admin"
        table = FORMS_BY_NAME[file.stem].table
        assert row.row_counts[table]["read"] == expected[table]
    assert StudyService(study_url).verify_audit().ok

    before = data_counts(study_url)
    audit_before = StudyService(study_url).table_counts()["audit_log"]
    again = import_templates(study_url, folder, "admin")
    assert again.totals["inserted"] == again.totals["updated"] == 0
    assert again.totals["unchanged"] == again.totals["read"]
    assert data_counts(study_url) == before
    audit_after = StudyService(study_url).table_counts()["audit_log"]
    assert audit_after - audit_before == len(files)  # one "import" audit row per manifest entry

    infusions = folder / "infusions.csv"
    text_ = infusions.read_text(encoding="utf-8")
    old = (
        "CT-004,2,2021-07-13T02:00:00Z,73.0,"  # CT-004's row (decisions §12: cohort 2 moved 21 days earlier)
    )
    assert old in text_
    infusions.write_text(text_.replace(old, old.replace("73.0", "74.5")))
    new_hash = hashlib.sha256(infusions.read_bytes()).hexdigest()
    changed = import_templates(study_url, folder, "admin", reason="weight corrected from source")
    by_form = {c.form: c for c in changed.forms}
    assert (by_form["infusions"].updated, by_form["infusions"].inserted, by_form["infusions"].unchanged) == (
        1,
        0,
        11,
    )
    assert sum(c.updated for c in changed.forms) == 1
    with engine.connect() as connection:
        rows = connection.execute(
            select(AuditLog).where(AuditLog.action == "update", AuditLog.table_name == "infusion")
        ).all()
        count = connection.execute(text("SELECT count(*) FROM infusion WHERE subject_id = 'CT-004'")).scalar()
    engine.dispose()
    assert count == 1
    assert len(rows) == 1
    row = rows[0]
    assert (row.field, json.loads(row.old_value), json.loads(row.new_value)) == ("weight_kg", 73.0, 74.5)
    assert row.subject_id == "CT-004"
    assert row.username == "admin"
    assert "weight corrected from source" in row.reason
    assert "infusions.csv" in row.reason and row.source.endswith(f"infusions.csv sha256:{new_hash}")
    assert StudyService(study_url).verify_audit().ok


def test_bad_rows_in_several_files_are_all_reported_and_nothing_is_written(
    study_url: str, tmp_path: Path
) -> None:
    """Validated before writing (decisions §7): problems in several files (bad date, value out of range,
    unknown category, unknown subject, duplicate natural key) are all reported with file, row, column and
    value, and the database is unchanged."""
    folder = tmp_path / "study"
    shutil.copytree(STUDY, folder)

    def edit(name: str, row: int, column: str, value: str) -> None:
        path = folder / name
        rows = csv_rows(path)
        rows[row - 2][column] = value
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)

    edit("subjects.csv", 3, "consent_date", "2021-02-30")
    edit("adverse_events.csv", 5, "grade", "7")
    edit("adverse_events.csv", 6, "relatedness", "maybe")
    edit("infusions.csv", 4, "subject_id", "CT-099")
    lymph = csv_rows(folder / "lymphodepletion.csv")
    edit("lymphodepletion.csv", 3, "administered_on", lymph[0]["administered_on"])
    edit("lymphodepletion.csv", 3, "drug", lymph[0]["drug"])
    before = StudyService(study_url).table_counts()
    with pytest.raises(InputError) as caught:
        import_templates(study_url, folder, "admin")
    found = {(Path(p.file or "").name, p.row, p.field) for p in caught.value.problems}
    assert ("subjects.csv", 3, "consent_date") in found
    assert ("adverse_events.csv", 5, "grade") in found
    assert ("adverse_events.csv", 6, "relatedness") in found
    assert ("infusions.csv", 4, "subject_id") in found
    assert any(name == "lymphodepletion.csv" and row == 3 for name, row, _ in found)
    values = {p.value for p in caught.value.problems}
    assert {"2021-02-30", "7", "maybe", "CT-099"} <= values
    assert StudyService(study_url).table_counts() == before


def test_a_write_refused_midway_rolls_back_every_form(study_url: str, tmp_path: Path) -> None:
    """Atomicity (decisions §7: all rows or none): with a data lock at 2021-01-01, the forms dated after it
    are
    written first in the import's transaction, then relapses.csv (relapse history before 2021) is refused
    by the lock; nothing of the import remains."""
    folder = tmp_path / "study"
    folder.mkdir()
    for name in ("sites", "subjects", "lymphodepletion", "infusions", "adverse_events", "relapses"):
        shutil.copy(STUDY / f"{name}.csv", folder)
    service = StudyService(study_url)
    service.lock("admin", datetime.date(2021, 1, 1), "interim cut-off for the test")
    before = service.table_counts()
    with pytest.raises(ConflictError):
        import_templates(study_url, folder, "admin")
    assert service.table_counts() == before
    assert service.verify_audit().ok


def test_a_role_without_import_permission_writes_nothing(study_url: str) -> None:
    """Roles (decisions §7): a monitor may read and raise queries, not import: refused, nothing written."""
    service = StudyService(study_url)
    service.add_user("admin", "monica", "monitor")
    before = service.table_counts()
    with pytest.raises(PermissionDeniedError):
        import_templates(study_url, STUDY, "monica")
    with pytest.raises(PermissionDeniedError):
        import_templates(study_url, STUDY, "monica", dry_run=True)
    assert service.table_counts() == before


def test_dry_run_validates_and_writes_nothing(study_url: str) -> None:
    """--dry-run: the report counts the rows read; the database is unchanged."""
    before = StudyService(study_url).table_counts()
    report = import_templates(study_url, STUDY, "admin", dry_run=True)
    assert report.dry_run and report.totals["read"] > 0 and report.totals["inserted"] == 0
    assert StudyService(study_url).table_counts() == before


def test_the_grading_labs_flag_life_threatening_anemia_is_imported(study_url: str, tmp_path: Path) -> None:
    """The grading template's optional `life_threatening_anemia` (CTCAE anaemia grade 4 is clinical;
    toxicity-grading.md section 4) is stored since migration 0002; before, a filled cell refused the import
    because the table had no column for it (decisions §7: templates consistent with the grading templates)."""
    folder = tmp_path / "study"
    folder.mkdir()
    rows = csv_rows(STUDY / "labs.csv")
    with (folder / "labs.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, [*rows[0], "life_threatening_anemia"], lineterminator="\n")
        writer.writeheader()
        for row in rows:
            flag = "true" if row is rows[2] else ""  # a haemoglobin result of CT-001
            writer.writerow({**row, "life_threatening_anemia": flag})
    shutil.copy(STUDY / "sites.csv", folder)
    shutil.copy(STUDY / "subjects.csv", folder)
    import_templates(study_url, folder, "admin")
    stored = StudyService(study_url).find_records("admin", "lab_result", life_threatening_anemia=True)
    assert [(r["subject_id"], r["analyte"]) for r in stored] == [(rows[2]["subject_id"], "hemoglobin")]


def test_unknown_csv_and_unknown_column_are_errors(tmp_path: Path, empty_sqlite_template: Path) -> None:
    """Nothing is silently skipped: a CSV that is not a form, and a column a form does not have, are errors
    naming the allowed values."""
    url = empty_sqlite_copy(empty_sqlite_template, tmp_path / "s.db")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "vital_signs.csv").write_text("subject_id,pulse\nCT-001,80\n")
    with pytest.raises(InputError) as caught:
        import_templates(url, folder, "admin")
    assert "vital_signs.csv" in str(caught.value) and "subjects.csv" in str(caught.value)
    (folder / "vital_signs.csv").unlink()
    (folder / "sites.csv").write_text("site_id,name,country,phone\nTJH,Tongji,China,123\n")
    with pytest.raises(InputError) as caught:
        import_templates(url, folder, "admin")
    assert caught.value.problems[0].field == "phone"


def test_cli_exit_codes_and_json_report(tmp_path: Path) -> None:
    """CLI: exit 0 with a JSON reconciliation report; exit 2 with every problem and nothing written on bad
    input (briefing: bad input never produces a traceback)."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    # the admin's password is the one the CLI reads from CARTRIAL_PASSWORD_FILE (tests/conftest.py)
    password = Path(os.environ["CARTRIAL_PASSWORD_FILE"]).read_text().strip()
    init_study(url, PROTOCOL, "admin", admin_password=password)
    small = tmp_path / "small"
    small.mkdir()
    for name in ("sites", "subjects"):
        shutil.copy(STUDY / f"{name}.csv", small)
    arguments = ["import", "templates", str(small), "--user", "admin", "--url", url, "--json"]
    result = run_cartrial(*arguments)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["totals"]["inserted"] == payload["totals"]["read"] > 0
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "sites.csv").write_text("site_id,name,country\n,Nowhere,X\n")
    assert run_cartrial("import", "templates", folder, "--user", "admin", "--url", url).exit_code == 2


@pytest.mark.parametrize("form", sorted(FORMS_BY_NAME))
def test_every_form_template_is_accepted_exactly_and_validates(form: str) -> None:
    """The import accepts exactly each form's template in docs/templates/ (decisions §7: templates consistent
    with the grading, neuro and kinetics templates): every header column has a place in the database, the
    required columns are there, and the illustrative rows pass the form's validation."""
    from cartrial.store.importing.validation import FormData, validate_form
    from cartrial.tabular import read_csv

    path = cartrial_templates.path() / f"{form}.csv"
    assert path.is_file(), f"no template {path}"
    spec = FORMS_BY_NAME[form]
    frame = read_csv(path)
    accepted = {c.name for c in spec.columns() if c.table_column is not None}
    assert set(frame.columns) <= accepted, set(frame.columns) - accepted
    assert {c.name for c in spec.columns() if c.required} <= set(frame.columns)
    validated, problems = validate_form(FormData(spec, frame, str(path), "0" * 64))
    assert problems == [] and validated is not None and validated.n_rows == len(frame) > 0
