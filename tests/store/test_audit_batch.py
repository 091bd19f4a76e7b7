"""Decisions D-19.10: a bulk insert is sealed by one audit row per table, subject and run of new ids.

The batch row must lose nothing: `audit verify` replays it into the same per-record state as per-record
insert rows (a value changed outside the application is named by table, record and field), removing or
rewriting it breaks the chain (or, recomputed, the replay), and every reader of the trail (the record and
subject histories, `cartrial audit log`, the web record page) still finds each record's creation with its
values. Single-record writes keep one row per record, and both forms verify side by side.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from cartrial.store import StudyService, connect
from cartrial.store.audit import BATCH_ACTION, expand_batch
from cartrial.store.reads import record_audit
from cartrial.store.tamper import make_checkpoint, verify_complete

from .conftest import StudyDb
from .test_security_tamper import keyed_study, kinds, raw, recompute_chain

SECRET_VALUE = 987.125
"""A distinctive lab value: no finding may contain it."""
FORGED_VALUE = 3.5

LAB_ROWS = [
    {"subject_id": "CT-001", "analyte": "crp", "collected_at": f"2021-06-0{day}T08:00:00Z", "value": value}
    for day, value in ((1, 12.5), (2, SECRET_VALUE), (3, 40.0))
] + [{"subject_id": "CT-002", "analyte": "crp", "collected_at": "2021-06-01T08:00:00Z", "value": 1.0}]


def import_labs(db: StudyDb) -> list[dict[str, Any]]:
    """Three CT-001 labs (one batch row) and one CT-002 lab (a run of one: its own insert row)."""
    with db.service.transaction("admin", "import labs.csv sha256:test") as tx:
        db.service.upsert_rows(tx, "lab_result", LAB_ROWS)
    return db.service.find_records("admin", "lab_result")


def audit_of(db: StudyDb, where: str) -> list[dict[str, Any]]:
    engine = connect(db.url)
    with engine.connect() as connection:
        rows = [
            dict(r)
            for r in connection.execute(text(f"SELECT * FROM audit_log WHERE {where} ORDER BY id")).mappings()
        ]
    engine.dispose()
    return rows


def test_a_bulk_insert_is_sealed_per_subject_and_replays_to_the_stored_records(study: StudyDb) -> None:
    labs = import_labs(study)
    batches = audit_of(study, f"action = '{BATCH_ACTION}'")
    assert len(batches) == 1
    batch = batches[0]
    ct001 = [lab for lab in labs if lab["subject_id"] == "CT-001"]
    assert batch["subject_id"] == "CT-001" and batch["table_name"] == "lab_result"
    assert batch["record_id"] == ct001[0]["id"]
    assert batch["field"] == f"ids {ct001[0]['id']}..{ct001[-1]['id']}"
    assert batch["reason"] is None and batch["source"] == "import labs.csv sha256:test"
    sealed = expand_batch(batch["new_value"])
    assert [record_id for record_id, _ in sealed] == [lab["id"] for lab in ct001]
    assert [state["value"] for _, state in sealed] == [lab["value"] for lab in ct001]
    # the lone CT-002 record keeps its own insert row
    single = audit_of(study, "action = 'insert' AND table_name = 'lab_result'")
    assert [(r["subject_id"], json.loads(r["new_value"])["value"]) for r in single] == [("CT-002", 1.0)]
    result = verify_complete(study.service)
    assert result.ok, [f.message for f in result.findings]


def test_a_value_changed_outside_the_app_after_a_batch_import_is_named(study: StudyDb) -> None:
    labs = import_labs(study)
    target = next(lab for lab in labs if lab["value"] == SECRET_VALUE)
    with raw(study) as connection:
        connection.execute(
            text("UPDATE lab_result SET value = :v WHERE id = :i"), {"v": FORGED_VALUE, "i": target["id"]}
        )
    result = verify_complete(study.service)
    assert kinds(result) == {"unaudited-update"}
    (finding,) = result.findings
    assert (finding.table, finding.record_id, finding.fields) == ("lab_result", target["id"], ("value",))
    report = json.dumps(result.as_dict())
    assert str(SECRET_VALUE) not in report and str(FORGED_VALUE) not in report


def test_deleting_or_rewriting_a_batch_row_is_detected(study: StudyDb) -> None:
    import_labs(study)
    (batch,) = audit_of(study, f"action = '{BATCH_ACTION}'")
    # rewritten in place: its hash no longer matches
    document = orjson.loads(batch["new_value"])
    document["records"][1][document["columns"].index("value")] = FORGED_VALUE
    forged = orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()
    with raw(study) as connection:
        connection.execute(
            text("UPDATE audit_log SET new_value = :v WHERE id = :i"), {"v": forged, "i": batch["id"]}
        )
    assert "chain" in kinds(verify_complete(study.service))
    # ... and with every following hash recomputed (no key): the replay no longer matches the data
    with raw(study) as connection:
        recompute_chain(connection, batch["id"])
    result = verify_complete(study.service)
    assert "chain" not in kinds(result)
    assert [(f.kind, f.table, f.fields) for f in result.findings] == [
        ("unaudited-update", "lab_result", ("value",))
    ]


def test_deleting_a_batch_row_breaks_the_chain_and_unseals_its_records(study: StudyDb) -> None:
    labs = import_labs(study)
    (batch,) = audit_of(study, f"action = '{BATCH_ACTION}'")
    with raw(study) as connection:
        connection.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": batch["id"]})
    result = verify_complete(study.service)
    assert "chain" in kinds(result)
    unaudited = {f.record_id for f in result.findings if f.kind == "unaudited-insert"}
    assert unaudited == {lab["id"] for lab in labs if lab["subject_id"] == "CT-001"}


def test_a_batch_row_whose_range_disagrees_with_its_records_is_reported(study: StudyDb) -> None:
    import_labs(study)
    (batch,) = audit_of(study, f"action = '{BATCH_ACTION}'")
    first, last = (int(x) for x in batch["field"].removeprefix("ids ").split(".."))
    with raw(study) as connection:
        connection.execute(
            text("UPDATE audit_log SET field = :f WHERE id = :i"),
            {"f": f"ids {first}..{last + 1}", "i": batch["id"]},
        )
        recompute_chain(connection, batch["id"])
    result = verify_complete(study.service)
    assert "trail-inconsistent" in kinds(result)
    assert "unaudited-insert" in kinds(result)


def test_each_record_of_a_batch_has_its_creation_in_its_history(study: StudyDb) -> None:
    labs = import_labs(study)
    target = next(lab for lab in labs if lab["value"] == SECRET_VALUE)
    study.service.update_record("admin", "lab_result", target["id"], {"value": 900.0}, 1, "re-read")
    history = study.service.as_user("mon").record_audit("lab_result", target["id"])
    assert [(r["action"], r["field"]) for r in history] == [(BATCH_ACTION, "*"), ("update", "value")]
    created = json.loads(history[0]["new_value"])
    assert created["value"] == SECRET_VALUE and created["collected_at"] == "2021-06-02T08:00:00Z"
    assert history[0]["record_id"] == target["id"]
    assert json.loads(history[1]["old_value"]) == SECRET_VALUE
    # the subject's trail lists each record it created, the other subject's record not
    trail = study.service.audit_history("CT-001", actor="mon")
    lab_rows = [r for r in trail if r["table_name"] == "lab_result" and r["action"] == BATCH_ACTION]
    assert sorted(r["record_id"] for r in lab_rows) == [
        lab["id"] for lab in labs if lab["subject_id"] == "CT-001"
    ]
    # an id just outside the batch's range is not claimed by it
    engine = connect(study.url)
    with engine.connect() as connection:
        assert record_audit(connection, "lab_result", max(lab["id"] for lab in labs) + 1) == []
    engine.dispose()
    assert verify_complete(study.service).ok


def test_deleted_and_single_inserted_records_beside_batches_verify(study: StudyDb) -> None:
    """Both forms in one trail: batch rows, single-record insert rows (an edit form), updates, deletes."""
    labs = import_labs(study)
    study.service.delete_record("admin", "lab_result", labs[0]["id"], "entered in error")
    with study.service.transaction("admin", "web form") as tx:
        new_id = tx.insert_record(
            "lab_result",
            {"subject_id": "CT-101", "analyte": "crp", "collected_at": "2021-07-01T08:00:00Z", "value": 2.0},
        )
    inserted = audit_of(study, f"table_name = 'lab_result' AND record_id = {new_id}")
    assert [r["action"] for r in inserted] == ["insert"]
    result = verify_complete(study.service)
    assert result.ok, [f.message for f in result.findings]
    deleted = study.service.as_user("admin").record_audit("lab_result", labs[0]["id"])
    assert [r["action"] for r in deleted] == [BATCH_ACTION, "delete"]


def test_audit_log_cli_finds_a_batch_inserted_record(study: StudyDb, cli: Any) -> None:
    labs = import_labs(study)
    target = next(lab for lab in labs if lab["value"] == SECRET_VALUE)
    env = {"CARTRIAL_USER": "mon"}
    code, out, err = cli(
        "audit",
        "log",
        "--table",
        "lab_result",
        "--record",
        str(target["id"]),
        "--json",
        "--url",
        study.url,
        env=env,
    )
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["action"] == BATCH_ACTION and json.loads(row["new_value"])["value"] == SECRET_VALUE
    code, out, err = cli("audit", "log", "--subject", "CT-001", "--json", "--url", study.url, env=env)
    assert code == 0, err
    ids = {r["record_id"] for r in json.loads(out) if r["table_name"] == "lab_result"}
    assert target["id"] in ids
    code, _, err = cli("audit", "log", "--table", "lab_result", "--url", study.url, env=env)
    assert code == 2 and "--record" in err
    StudyService(study.url).engine.dispose()


def test_keyed_batch_rows_are_sealed_and_a_recomputed_batch_fails_its_seal(
    study: StudyDb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = keyed_study(tmp_path, monkeypatch)
    with connect(study.url).connect() as connection:
        before = make_checkpoint(connection, key=key)
    import_labs(study)  # written keyed, after the checkpoint
    (batch,) = audit_of(study, f"action = '{BATCH_ACTION}'")
    assert batch["row_mac"] is not None
    assert verify_complete(study.service, key=key, checkpoint=before).ok
    document = orjson.loads(batch["new_value"])
    document["records"][0][document["columns"].index("value")] = FORGED_VALUE
    with raw(study) as connection:
        connection.execute(
            text("UPDATE audit_log SET new_value = :v WHERE id = :i"),
            {"v": orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode(), "i": batch["id"]},
        )
        recompute_chain(connection, batch["id"])
    assert verify_complete(study.service, checkpoint=before).ok is False  # the replay sees the forged value
    result = verify_complete(study.service, key=key, checkpoint=before)
    assert "seal" in kinds(result) and "chain" not in kinds(result)


def test_a_batch_range_in_other_digits_is_no_range() -> None:
    """`batch_ids` reads only ASCII digits: ``²`` is a digit to `str.isdigit` but `int` refuses it (a
    ValueError), and ``١`` (Arabic-Indic one) `int` would read as 1."""
    from cartrial.store.audit import BATCH_ACTION, batch_ids

    assert batch_ids({"action": BATCH_ACTION, "record_id": 2, "field": "ids 2..²"}) is None
    assert batch_ids({"action": BATCH_ACTION, "record_id": 1, "field": "ids \u0661..3"}) is None
    assert batch_ids({"action": BATCH_ACTION, "record_id": 2, "field": "ids 2..3"}) == (2, 3)
