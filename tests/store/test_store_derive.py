"""Derived values: grades computed by the grading engine from stored inputs, stored with engine, version
and options; idempotent; inputs that cannot be graded are stored with the reason (never skipped).

Requirement: decisions §7 ("Derived values (grades, EDSS, NCA) are computed by the engines from stored inputs,
and stored with the engine version when persisted"). Expected grades are the illustrative examples of
toxicity-grading.md section 1.5 (ASTCT 2019 CRS) and section 2.2 (ICANS), worked by hand.
"""

from __future__ import annotations

import pytest

from cartrial import __version__
from cartrial.errors import PermissionDeniedError
from cartrial.store import StudyService
from cartrial.store.bulk import upsert_rows
from cartrial.store.derive import CRS_ENGINE, derive_crs_grades, derive_icans_grades

CRS_ROWS = [
    # T 38.9 °C, normotensive, 4 L/min nasal cannula: hypoxia grade 2 -> CRS grade 2 (section 1.5)
    {
        "subject_id": "CT-001",
        "assessed_at": "2021-06-02T08:00:00Z",
        "temperature_c": 38.9,
        "fever_masked": False,
        "hypotension": False,
        "vasopressors": 0,
        "vasopressin": False,
        "oxygen": "nasal_cannula",
        "oxygen_l_min": 4.0,
    },
    # afebrile after paracetamol (fever masked), non-rebreather: grade 3 whatever the flow (section 1.5)
    {
        "subject_id": "CT-001",
        "assessed_at": "2021-06-03T08:00:00Z",
        "temperature_c": 37.0,
        "fever_masked": True,
        "hypotension": False,
        "vasopressors": 0,
        "vasopressin": False,
        "oxygen": "non_rebreather",
    },
    # no temperature recorded: stored as not gradable
    {"subject_id": "CT-002", "assessed_at": "2021-06-23T08:00:00Z", "hypotension": False, "oxygen": "none"},
]


def test_crs_grades_are_stored_with_engine_version_and_options(study) -> None:
    """Grades 2 and 3 for the two worked examples; the ungradable row has no value and says why."""
    service: StudyService = study.service
    with service.transaction("dm", "test") as tx:
        service.upsert_rows(tx, "crs_assessment", CRS_ROWS[:2])
        # a row without a temperature (refused by today's field rules; stored by an earlier release)
        upsert_rows(tx, "crs_assessment", CRS_ROWS[2:])
    with pytest.raises(PermissionDeniedError):
        derive_crs_grades(service, "dm")
    first = derive_crs_grades(service, "stat")
    assert first.inserted == 3
    rows = sorted(service.find_records("stat", "derived_value"), key=lambda r: r["source_record_id"])
    assert [r["value_number"] for r in rows] == [2.0, 3.0, None]
    assert "temperature" in rows[2]["rule"] and "not gradable" in rows[2]["rule"]
    assert all(r["engine"] == CRS_ENGINE and r["engine_version"] == __version__ for r in rows)
    assert rows[0]["options"]["vasopressin_alone_grade"] == 3
    assert "ASTCT" in rows[0]["rule"]
    assert derive_crs_grades(service, "stat").unchanged == 3
    assert service.verify_audit().ok


def test_icans_grade_from_ice_items(study) -> None:
    """ICE 6/10 (items summed), awakens spontaneously, no other finding: ICANS grade 2 (section 2.2)."""
    service: StudyService = study.service
    with service.transaction("dm", "test") as tx:
        service.upsert_rows(
            tx,
            "icans_assessment",
            [
                {
                    "subject_id": "CT-001",
                    "assessed_at": "2021-06-02T08:00:00Z",
                    "consciousness": "awakens_spontaneously",
                    "seizure": "none",
                    "motor": "none",
                    "cerebral_edema": "none",
                    "ice_orientation": 3,
                    "ice_naming": 2,
                    "ice_command": 1,
                    "ice_writing": 0,
                    "ice_attention": 0,
                }
            ],
        )
    assert derive_icans_grades(service, "admin").inserted == 1
    assert service.find_records("admin", "derived_value")[0]["value_number"] == 2.0


def test_a_re_derive_removes_the_crs_grades_stored_under_the_old_name(study) -> None:
    """A store derived before D-19.1358 holds the CRS engine's grades under ``astct_2019_crs_grade``; after
    ``db derive crs`` writes ``astct_2019_crs_grade_flag_as_recorded``, the old-name rows of the CRS engine
    are deleted, audited, and counted (D-19.1373); other derived values are left alone."""
    service: StudyService = study.service
    with service.transaction("dm", "test") as tx:
        service.upsert_rows(tx, "crs_assessment", CRS_ROWS[:2])
    first = derive_crs_grades(service, "stat")
    rows = service.find_records("stat", "derived_value")
    # what an older release stored: the same grades under the old parameter name, and one other engine's value
    columns = ("subject_id", "engine", "engine_version", "options", "source_table", "source_record_id")
    columns += ("parameter", "value_number", "rule", "clinical_date", "computed_at")
    old = [{k: r[k] for k in columns} for r in rows]
    for r in old:
        r["parameter"] = "astct_2019_crs_grade"
    other = {**old[0], "engine": "cartrial.some_other_engine"}
    with service.transaction("stat", "an older release") as tx:
        upsert_rows(tx, "derived_value", [*old, other])
    assert len(service.find_records("stat", "derived_value")) == 5
    again = derive_crs_grades(service, "stat")
    assert (again.unchanged, again.deleted) == (first.inserted, 2)
    kept = service.find_records("stat", "derived_value")
    assert sorted((r["engine"], r["parameter"]) for r in kept) == sorted(
        [(CRS_ENGINE, "astct_2019_crs_grade_flag_as_recorded")] * 2
        + [("cartrial.some_other_engine", "astct_2019_crs_grade")]
    )
    assert derive_crs_grades(service, "stat").deleted == 0
    deletes = [
        a
        for a in service.audit_rows(actor="admin")
        if a["action"] == "delete" and a["table_name"] == "derived_value"
    ]
    assert len(deletes) == 2
    assert service.verify_audit().ok
