"""`cartrial.store.provenance`: import manifests and derived values."""

from __future__ import annotations

import datetime as dt

from cartrial.store import provenance
from cartrial.store.bulk import UpsertResult


def test_manifest_and_derived_values(study) -> None:
    with study.service.as_user("dm").transaction("import", "first load") as tx:
        manifest_id = provenance.record_import(tx, "labs.csv", "ab" * 32, "templates", {"lab_result": 0})
    manifest = study.service.as_user("mon").get_record("import_manifest", manifest_id)
    assert (manifest["imported_by"], manifest["reason"], manifest["sha256"]) == (
        "dm",
        "first load",
        "ab" * 32,
    )
    assert study.service.as_user("mon").audit_rows()[-1]["action"] == "import"
    row = {
        "subject_id": "CT-001",
        "engine": "cartrial.grading.crs",
        "engine_version": "test",
        "options": {"scale": "astct"},
        "source_table": "crs_assessment",
        "source_record_id": 1,
        "parameter": "crs_grade",
        "value_number": 1.0,
        "clinical_date": dt.date(2021, 6, 2),
    }
    with study.service.as_user("stat").transaction("derive", "re-derived") as tx:
        assert provenance.store_derived(tx, [row]) == UpsertResult(1, 0, 0)
    with study.service.as_user("stat").transaction("derive", "re-derived") as tx:
        assert provenance.store_derived(tx, [row]) == UpsertResult(0, 0, 1)
