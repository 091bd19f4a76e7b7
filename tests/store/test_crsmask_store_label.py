"""The stored per-row CRS grade (`cartrial db derive crs`) takes ``fever_masked`` as recorded — the store's
derivation grades each assessment on its own — and says so in its stored rule when the flag alone met the
ASTCT fever requirement: the episode grade counts the flag only after a recorded CRS fever (D-19.1308,
D-19.1355)."""

from __future__ import annotations

from cartrial.store import StudyService
from cartrial.store.derive import derive_crs_grades

ROW = {
    "subject_id": "CT-001",
    "assessed_at": "2021-06-02T08:00:00Z",
    "temperature_c": 37.0,
    "fever_masked": True,
    "hypotension": True,
    "vasopressors": 0,
    "vasopressin": False,
    "oxygen": "none",
}


def test_a_stored_grade_met_by_the_flag_alone_is_labelled(study) -> None:  # type: ignore[no-untyped-def]
    service: StudyService = study.service
    with service.transaction("dm", "test") as tx:
        service.upsert_rows(tx, "crs_assessment", [ROW])
    derive_crs_grades(service, "stat")
    (row,) = service.find_records("stat", "derived_value")
    assert row["value_number"] == 2.0  # hypotension without vasopressor, fever requirement met by the flag
    assert "fever_masked as recorded" in row["rule"] and "D-19.1355" in row["rule"]
    # stored under a name that says the masking flag was taken as recorded, never as the ASTCT grade of
    # the assessment's episode (D-19.1358)
    assert row["parameter"] == "astct_2019_crs_grade_flag_as_recorded"
