"""`cartrial.store.bulk`: the bulk upsert, including the SQLite fast path (storage-form comparison) and
the tracking of keys inserted into a table that was empty (no SELECT for later chunks)."""

from __future__ import annotations

import pytest

from cartrial.errors import InputError
from cartrial.store import bulk
from cartrial.store.bulk import UpsertResult


def labs(n: int, value: float = 4.0) -> list[dict[str, object]]:
    return [
        {
            "subject_id": "CT-001",
            "analyte": "wbc",
            "collected_at": f"2021-06-{1 + i // 24:02d}T{i % 24:02d}:00:00Z",
            "value": value,
        }
        for i in range(n)
    ]


def test_chunks_into_an_empty_table_then_a_changed_reimport(study) -> None:
    user = study.service.as_user("dm")
    with user.transaction("first import") as tx:
        first = bulk.upsert_rows(tx, "lab_result", labs(30)[:20])
        second = bulk.upsert_rows(tx, "lab_result", labs(30))  # same transaction: keys tracked, 10 new
        assert "lab_result" in tx._new_table_keys
    assert first == UpsertResult(20, 0, 0) and second == UpsertResult(10, 0, 20)
    changed = labs(30)
    changed[3]["value"] = 5.0
    changed[7] = {k: v for k, v in changed[7].items() if k != "value"}  # other column set: value kept
    with user.transaction("second import", "corrected") as tx:
        assert bulk.upsert_rows(tx, "lab_result", changed) == UpsertResult(0, 1, 29)
    with user.transaction("third import") as tx:
        assert bulk.upsert_rows(tx, "lab_result", changed) == UpsertResult(0, 0, 30)
    stored = {r["collected_at"].isoformat(): r["value"] for r in user.find_records("lab_result")}
    assert sorted(stored.values()).count(5.0) == 1 and len(stored) == 30


def test_a_change_without_a_reason_and_bad_rows_are_refused(study) -> None:
    user = study.service.as_user("dm")
    with user.transaction("import") as tx:
        bulk.upsert_rows(tx, "lab_result", labs(2))
    with pytest.raises(InputError, match="a reason is required"), user.transaction("import") as tx:
        bulk.upsert_rows(tx, "lab_result", labs(2, value=9.0))
    with pytest.raises(InputError, match="duplicate natural key"), user.transaction("import") as tx:
        bulk.upsert_rows(tx, "lab_result", labs(1) + labs(1))
    with pytest.raises(InputError, match="unknown or read-only column"), user.transaction("import") as tx:
        bulk.upsert_rows(tx, "lab_result", [{**labs(1)[0], "version": 7}])
    with pytest.raises(InputError, match="unknown subject"), user.transaction("import") as tx:
        bulk.upsert_rows(tx, "lab_result", [{**labs(1)[0], "subject_id": "CT-999"}])
