"""Review of D-19.1062, finding 1: a NaN or an infinity in a JSON field is refused where it is given.

Before D-19.1046 the rule "cartrial never stores a NaN or an infinity" was false for JSON fields: `import
templates` with a `subjects.csv` treatment history `[{"drug": "rituximab", "cycles": NaN}]` exited 0 on SQLite
and stored the NaN (PostgreSQL ended in a raw psycopg DataError), and so did `update_record` with a Python
``nan`` inside a document. The study was then reported as tampered by `audit verify` (D-19.1062) although
no one touched the database. RFC 8259 §6: "Numeric values that cannot be represented in the grammar below
(such as Infinity and NaN) are not permitted".
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from cartrial import templates
from cartrial.errors import InputError
from cartrial.store import StudyService, connect

from ..conftest import Cli
from .conftest import StudyDb

HEADER = "subject_id,site_id,consent_date,sex,treatment_history"


def folder_with(tmp_path: Path, history_cell: str) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(Path(templates.__file__).parent / "sites.csv", folder / "sites.csv")
    (folder / "subjects.csv").write_text(
        f"{HEADER}\nCT-001,TJH,2021-05-06,F,{history_cell}\n", encoding="utf-8"
    )
    return folder


@pytest.mark.parametrize(
    "cell",
    [
        '"[{""drug"": ""rituximab"", ""cycles"": NaN}]"',
        '"[{""drug"": ""rituximab"", ""cycles"": -Infinity}]"',
        '"[{""drug"": ""rituximab"", ""cycles"": 1e400}]"',
    ],
)
def test_an_import_cell_with_a_non_finite_number_is_refused_with_its_field(
    cli: Cli, password_study_url: str, tmp_path: Path, cell: str
) -> None:
    result = cli(
        "import", "templates", folder_with(tmp_path, cell), "--url", password_study_url, "--user", "admin"
    )
    assert result.exit_code == 2, result.output
    assert "subjects.csv" in result.stderr and "treatment_history" in result.stderr
    assert "Traceback" not in result.output and "DataError" not in result.output
    service = StudyService(connect(password_study_url))
    try:
        assert service.find_records("admin", "subject") == []  # nothing was written
    finally:
        service.engine.dispose()


def test_a_legitimate_import_then_audit_verify_is_ok(
    cli: Cli, password_study_url: str, tmp_path: Path
) -> None:
    cell = '"[{""drug"": ""rituximab"", ""cycles"": 4, ""dose_g"": 0.375}]"'
    imported = cli(
        "import", "templates", folder_with(tmp_path, cell), "--url", password_study_url, "--user", "admin"
    )
    assert imported.exit_code == 0, imported.output
    verified = cli("audit", "verify", "--url", password_study_url)
    assert verified.exit_code == 0, verified.output


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_update_record_refuses_a_non_finite_number_inside_a_document(study: StudyDb, number: float) -> None:
    subject = next(r for r in study.service.find_records("admin", "subject") if r["subject_id"] == "CT-001")
    with pytest.raises(InputError) as caught:
        study.service.update_record(
            "admin",
            "subject",
            subject["id"],
            {"treatment_history": [{"drug": "x", "line": number}]},
            subject["version"],
            "edit",
        )
    assert [p.field for p in caught.value.problems] == ["subject.treatment_history"]
    stored = study.service.get_record("admin", "subject", subject["id"])
    assert stored["version"] == subject["version"] and stored["treatment_history"] is None


def test_a_record_stored_with_nan_before_d_19_1046_is_flagged_until_corrected(study: StudyDb) -> None:
    """A SQLite study imported before D-19.1046 could hold ``NaN`` in a JSON field while its trail (canonical
    JSON, orjson) recorded ``null`` there: `audit verify` reports the field (D-19.1062), and correcting the
    record through the application (an audited update) clears the finding. The stored text of such a study
    is made here with SQL, since cartrial no longer writes it."""
    if study.backend != "sqlite":
        pytest.skip("PostgreSQL's json type never stored NaN: the import ended in a DataError")
    from sqlalchemy import text

    from cartrial.errors import StoredValueError
    from cartrial.store.tamper import verify_complete

    subject = next(r for r in study.service.find_records("admin", "subject") if r["subject_id"] == "CT-001")
    study.service.update_record(
        "admin",
        "subject",
        subject["id"],
        {"treatment_history": [{"drug": "x", "line": None}]},
        subject["version"],
        "old import",
    )
    engine = connect(study.url)
    try:
        with engine.begin() as connection:  # what the pre-D-19.1046 import stored for `"line": NaN`
            connection.execute(
                text("UPDATE subject SET treatment_history = :d WHERE id = :i"),
                {"d": '[{"drug": "x", "line": NaN}]', "i": subject["id"]},
            )
    finally:
        engine.dispose()
    flagged = verify_complete(study.service)
    assert [(f.kind, f.table, f.fields) for f in flagged.findings] == [
        ("unaudited-update", "subject", ("treatment_history",))
    ]
    # D-19.1098 (changed by design: the record was read with get_record here): every read now refuses
    # the record by its field, so the correction takes the version of the update above
    with pytest.raises(StoredValueError):
        study.service.get_record("admin", "subject", subject["id"])
    study.service.update_record(
        "admin",
        "subject",
        subject["id"],
        {"treatment_history": [{"drug": "x", "line": 2}]},
        subject["version"] + 1,
        "correct",
    )
    assert verify_complete(study.service).ok
