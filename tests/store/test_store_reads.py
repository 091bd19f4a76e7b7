"""`cartrial.store.reads`: records, counts and audit rows."""

from __future__ import annotations

import pytest

from cartrial.errors import InputError
from cartrial.store import reads


def test_find_get_count_and_audit_rows(study) -> None:
    with study.service.read() as connection:
        subjects = reads.find_records(connection, "subject", {"site_id": "TJH"})
        assert [s["subject_id"] for s in subjects] == ["CT-001", "CT-002"]
        by_date = reads.find_records(connection, "subject", {"consent_date": "2021-06-10"})
        assert [s["subject_id"] for s in by_date] == ["CT-101"]
        assert reads.get_record(connection, "subject", subjects[0]["id"])["subject_id"] == "CT-001"
        with pytest.raises(InputError, match="unknown column"):
            reads.find_records(connection, "subject", {"colour": "red"})
        counts = reads.table_counts(connection)
        assert counts["subject"] == 3 and counts["site"] == 2 and counts["app_user"] == 6
        assert len(reads.audit_rows(connection, limit=4)) == 4
        total = counts["audit_log"]
        assert [r["id"] for r in reads.audit_rows(connection, since_id=total - 2)] == [total - 1, total]
        assert {r["subject_id"] for r in reads.audit_history(connection, "CT-101")} == {"CT-101"}
