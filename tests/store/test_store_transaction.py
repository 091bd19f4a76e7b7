"""`cartrial.store.transaction`: the write transaction binds the acting user once and is the write handle;
data and audit rows commit or roll back together."""

from __future__ import annotations

import pytest

from cartrial.errors import PermissionDeniedError
from cartrial.store.permissions import Action
from cartrial.store.transaction import open_transaction

LAB_VALUES = {"value": 3.9, "unit": "10^9/L", "lln": 4.0}
"""A complete lab result: single-record writes run the import's field rules (value, unit and LLN required)."""


def test_the_transaction_binds_the_user_and_writes_through_itself(study) -> None:
    service = study.service
    with open_transaction(service.engine, "inv", "test", "why") as tx:
        assert (tx.actor.username, tx.actor.role, tx.actor.site_id) == ("inv", "investigator", "TJH")
        assert tx.backend == study.backend and tx.reason == "why" and tx.lock is None
        record_id = tx.insert_record(
            "lab_result",
            {
                "subject_id": "CT-001",
                "analyte": "wbc",
                "collected_at": "2021-06-02T00:00:00Z",
                **LAB_VALUES,
            },
        )
        tx.update_record("lab_result", record_id, {"value": 4.2}, 1, "entered late")
    row = service.as_user("mon").get_record("lab_result", record_id)
    assert row["value"] == 4.2 and row["version"] == 2
    history = service.as_user("mon").audit_history("CT-001")
    assert [(r["username"], r["action"]) for r in history[-2:]] == [("inv", "insert"), ("inv", "update")]


def test_an_error_rolls_back_data_and_audit_rows(study) -> None:
    service = study.service
    before = service.table_counts()
    with pytest.raises(RuntimeError), service.as_user("dm").transaction("test") as tx:
        tx.insert_record(
            "lab_result",
            {
                "subject_id": "CT-001",
                "analyte": "wbc",
                "collected_at": "2021-06-02T00:00:00Z",
                **LAB_VALUES,
            },
        )
        raise RuntimeError("crash before commit")
    assert service.table_counts() == before


def test_the_bound_user_is_checked(study) -> None:
    with (
        pytest.raises(PermissionDeniedError, match="unknown user 'nobody'"),
        study.service.as_user("nobody").transaction("test"),
    ):
        pass
    with study.service.as_user("mon").transaction("test") as tx:
        tx.require(Action.READ)
        with pytest.raises(PermissionDeniedError, match="may not edit"):
            tx.update_record("subject", 1, {"sex": "M"}, 1, "test")
        with pytest.raises(PermissionDeniedError, match="may not enter"):
            tx.upsert_rows(
                "lab_result",
                [{"subject_id": "CT-001", "analyte": "wbc", "collected_at": "2021-06-02T00:00:00Z"}],
            )
