"""A subject stored as withdrawn without its date by an earlier release (before dated ends of study, D-19.92):
the refusal of an undated end says how to add the date — in the file, or for a stored subject with
`cartrial db edit` (or its record page) — and that edit, like every other write of the subject, is
allowed (D-19.249). Before, the refusal said only "the end of study has no date", with nothing on how a
stored subject gets one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cartrial import examples
from cartrial.errors import InputError
from cartrial.store import StudyService, connect
from cartrial.store.bulk import upsert_rows  # as an earlier release wrote: no field rules
from cartrial.store.fields import validate_record
from cartrial.store.importing import import_templates

from ..conftest import TEST_PASSWORD, Cli, copy_sqlite_file

AE = {
    "subject_id": "CT-003",
    "term": "Headache",
    "started_on": "2021-07-10",
    "category": "non_hematologic",
    "grade": 1,
    "grading_scale": "CTCAE",
    "grading_scale_version": "5.0",
    "serious": False,
    "relatedness": "unlikely",
    "dlt": False,
    "outcome": "recovered",
}


@pytest.fixture
def legacy(example_sqlite_template: Path, tmp_path: Path) -> tuple[str, StudyService]:
    """The example study with CT-003 stored as `withdrawn` and no disposition_date, as release 0.x wrote
    it (an audited write that bypasses today's rules), and a data manager `dm`."""
    target = tmp_path / "legacy.db"
    copy_sqlite_file(example_sqlite_template, target)
    url = f"sqlite:///{target}"
    service = StudyService(connect(url))
    service.add_user("admin", "dm", "data_manager", password=TEST_PASSWORD)
    with service.transaction("admin", "import (release 0.x)", "legacy") as tx:
        upsert_rows(tx, "subject", [{"subject_id": "CT-003", "disposition": "withdrawn"}])
    (stored,) = service.find_records("admin", "subject", subject_id="CT-003")
    assert stored["disposition"] == "withdrawn" and stored["disposition_date"] is None
    return url, service


def test_the_refusal_of_an_undated_end_says_how_to_add_the_date() -> None:
    (problem,) = validate_record(
        "subject",
        {"subject_id": "CT-900", "site_id": "TJH", "consent_date": pd.Timestamp("2021-04-01").date()}
        | {"disposition": "withdrawn"},
        protocol=None,
    )
    assert problem.field == "disposition_date"
    text = f"{problem.message} {problem.allowed}"
    assert "cartrial db edit subject" in text and "--set disposition_date=" in text


def test_a_file_repeating_the_legacy_row_is_refused_with_the_way_through(
    legacy: tuple[str, StudyService], tmp_path: Path
) -> None:
    url, _ = legacy
    folder = tmp_path / "subjects"
    folder.mkdir()
    subjects = pd.read_csv(examples.path("ct103a-nmosd") / "study" / "subjects.csv", dtype=str)
    subjects["disposition"] = ["withdrawn" if s == "CT-003" else "" for s in subjects["subject_id"]]
    subjects["disposition_date"] = ""
    subjects.to_csv(folder / "subjects.csv", index=False)
    with pytest.raises(InputError) as refused:
        import_templates(url, folder, "admin")
    (problem,) = refused.value.problems
    assert problem.field == "disposition_date" and problem.row == 4
    assert "cartrial db edit subject" in f"{problem.message} {problem.allowed}"


def test_every_later_write_of_the_legacy_subject_is_allowed_and_db_edit_adds_the_date(
    legacy: tuple[str, StudyService], cli: Cli
) -> None:
    url, service = legacy
    # another form of the subject, another field of the subject row: written (the undated end is a problem
    # the record already had, not one the write makes)
    service.insert_record("dm", "adverse_event", AE, "entry")
    (subject,) = service.find_records("admin", "subject", subject_id="CT-003")
    service.update_record(
        "dm", "subject", int(subject["id"]), {"height_cm": 171}, int(subject["version"]), "fix"
    )
    (subject,) = service.find_records("admin", "subject", subject_id="CT-003")
    code, _out, err = cli(
        "db",
        "edit",
        "subject",
        str(subject["id"]),
        "--set",
        "disposition_date=2021-09-01",
        "--expected-version",
        str(subject["version"]),
        "--reason",
        "date of the withdrawal, stored before D-19.92",
        "--url",
        url,
        "--user",
        "dm",
    )
    assert code == 0, err
    (subject,) = service.find_records("admin", "subject", subject_id="CT-003")
    assert str(subject["disposition_date"]) == "2021-09-01" and subject["disposition"] == "withdrawn"
