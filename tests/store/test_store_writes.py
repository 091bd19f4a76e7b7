"""`cartrial.store.writes`: single-record insert, update (optimistic concurrency) and delete."""

from __future__ import annotations

import pytest

from cartrial.errors import ConflictError, InputError
from cartrial.store import writes

LAB = {"subject_id": "CT-001", "analyte": "crp", "collected_at": "2021-06-03T06:00:00Z", "value": 12.0}


def test_insert_update_delete_each_audited(study) -> None:
    user = study.service.as_user("dm")
    with user.transaction("test", "entry") as tx:
        record_id = writes.insert_record(tx, "lab_result", LAB)
        with pytest.raises(ConflictError, match="already has this"):
            writes.insert_record(tx, "lab_result", LAB)
        assert writes.update_record(tx, "lab_result", record_id, {"value": 12.0}, 1, "same") == 1  # no change
        assert writes.update_record(tx, "lab_result", record_id, {"value": 13.0}, 1, "typo") == 2
        with pytest.raises(ConflictError, match="is at version 2, not 1"):
            writes.update_record(tx, "lab_result", record_id, {"value": 14.0}, 1, "stale")
    with user.transaction("test", "duplicate") as tx:
        writes.delete_record(tx, "lab_result", record_id, "duplicate")
        with pytest.raises(InputError, match="no lab_result record with this id"):
            writes.current_record(tx.connection, writes.model_of("lab_result"), "lab_result", record_id)
    actions = [r["action"] for r in user.audit_history("CT-001") if r["table_name"] == "lab_result"]
    assert actions == ["insert", "update", "delete"]
