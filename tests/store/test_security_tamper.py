"""Decisions §19: every tamper the independent test performed is detected, on SQLite and PostgreSQL.

Each test plays an attacker with direct database access (SQL, the triggers dropped or disabled as the
file's owner or a superuser could) and checks that `cartrial.store.tamper.verify_complete` names the change
by table, id and field — and never prints the values involved.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text
from tests.conftest import record_decision

from cartrial.cli import main
from cartrial.errors import ConfigurationError
from cartrial.store import StudyService, connect
from cartrial.store.audit import AUDIT_COLUMNS, GENESIS_HASH, row_digest
from cartrial.store.tamper import make_checkpoint, verify_complete

from .conftest import StudyDb

SECRET_VIABILITY = 92.25
"""A distinctive stored value: no message may contain it."""
FORGED_VIABILITY = 61.75


def add_infusion(db: StudyDb) -> int:
    with db.service.transaction("admin", "test data") as tx:
        db.service.upsert_rows(
            tx,
            "infusion",
            [
                {
                    "subject_id": "CT-001",
                    "infused_at": "2021-06-01T02:00:00Z",
                    "dose_level": 1,
                    "viability_pct": SECRET_VIABILITY,
                }
            ],
        )
    return int(db.service.find_records("admin", "infusion")[0]["id"])


@contextmanager
def raw(db: StudyDb) -> Iterator[Connection]:
    """A connection with the append-only audit triggers out of the way (what a file owner or superuser can
    do), restored afterwards."""
    engine = connect(db.url)
    with engine.begin() as connection:
        if db.backend == "postgresql":
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        else:
            connection.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            connection.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        yield connection
        if db.backend == "postgresql":
            connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
    engine.dispose()


def recompute_chain(connection: Connection, from_id: int, *, with_mac: str | None = "keep") -> None:
    """Recompute `row_hash` and `prev_hash` of every row from `from_id` on (an attacker without the key:
    seals are left as they are, or nulled with `with_mac=None`)."""
    rows = [dict(r) for r in connection.execute(text("SELECT * FROM audit_log ORDER BY id")).mappings()]
    previous = GENESIS_HASH
    for row in rows:
        if row["id"] >= from_id:
            row["prev_hash"] = previous
            if isinstance(row["recorded_at"], str):  # SQLite text storage
                row["recorded_at"] = dt.datetime.fromisoformat(row["recorded_at"]).replace(tzinfo=dt.UTC)
            row["row_hash"] = row_digest(row)
            mac_sql = "" if with_mac == "keep" else ", row_mac = NULL"
            connection.execute(
                text(f"UPDATE audit_log SET prev_hash = :p, row_hash = :h{mac_sql} WHERE id = :i"),
                {"p": row["prev_hash"], "h": row["row_hash"], "i": row["id"]},
            )
        previous = row["row_hash"]


def forge_value(connection: Connection, record_id: int) -> None:
    connection.execute(
        text("UPDATE infusion SET viability_pct = :v WHERE id = :i"), {"v": FORGED_VIABILITY, "i": record_id}
    )


def assert_no_values(result: Any) -> None:
    text_ = json.dumps(result.as_dict())
    for value in (SECRET_VIABILITY, FORGED_VIABILITY):
        assert str(value) not in text_


def kinds(result: Any) -> set[str]:
    return {f.kind for f in result.findings}


def test_untouched_study_verifies_completely(study: StudyDb) -> None:
    """Imports, audited edits, deletes, locks, queries and password changes replay to exactly the stored
    state: no finding (the check has no false alarms)."""
    record_id = add_infusion(study)
    service = study.service
    service.update_record("admin", "infusion", record_id, {"viability_pct": 90.0}, 1, "re-read")
    service.lock("stat", dt.date(2021, 5, 31), "interim")
    code = service.raise_query("mon", "infusion", record_id, "check lot")
    service.answer_query("admin", code, "lot checked")
    service.unlock("admin", "interim done")
    service.delete_record("admin", "infusion", record_id, "entered in error")
    service.set_password("admin", "dm", "a new password 1")
    result = verify_complete(service)
    assert result.ok, [f.message for f in result.findings]
    assert result.rows_checked > 10


def test_direct_update_of_a_value_is_reported_by_table_id_and_field(study: StudyDb) -> None:
    record_id = add_infusion(study)
    with raw(study) as connection:
        forge_value(connection, record_id)
    result = verify_complete(study.service)
    assert not result.ok and kinds(result) == {"unaudited-update"}
    (finding,) = result.findings
    assert (finding.table, finding.record_id, finding.fields) == ("infusion", record_id, ("viability_pct",))
    assert "subject_id, infused_at" in finding.message
    assert_no_values(result)


def test_direct_delete_and_insert_of_data_rows_are_reported(study: StudyDb) -> None:
    record_id = add_infusion(study)
    with raw(study) as connection:
        connection.execute(text(f"DELETE FROM infusion WHERE id = {record_id}"))
        connection.execute(
            text(
                "INSERT INTO subject (id, subject_id, site_id, consent_date, created_at, updated_at, "
                "version) VALUES (999, 'CT-999', 'TJH', '2021-01-01', '2021-01-01 00:00:00', "
                "'2021-01-01 00:00:00', 1)"
            )
        )
    result = verify_complete(study.service)
    found = {(f.kind, f.table, f.record_id) for f in result.findings}
    assert found == {("unaudited-delete", "infusion", record_id), ("unaudited-insert", "subject", 999)}
    assert_no_values(result)


def test_direct_change_hidden_by_a_later_audited_edit_is_still_reported(study: StudyDb) -> None:
    """The stored value agrees with the trail's last word, but the audited edit's old value reveals the
    unaudited change before it."""
    record_id = add_infusion(study)
    with raw(study) as connection:
        forge_value(connection, record_id)
    study.service.update_record("admin", "infusion", record_id, {"viability_pct": 80.0}, 1, "re-read")
    result = verify_complete(study.service)
    assert kinds(result) == {"trail-inconsistent"}
    assert result.findings[0].fields == ("viability_pct",)
    assert_no_values(result)


def test_direct_change_of_a_lock_is_reported(study: StudyDb) -> None:
    study.service.lock("stat", dt.date(2021, 5, 31), "interim")
    with raw(study) as connection:
        connection.execute(text("UPDATE data_lock SET cutoff = '2020-01-01'"))
    result = verify_complete(study.service)
    assert [(f.kind, f.table, f.fields) for f in result.findings] == [
        ("unaudited-update", "data_lock", ("cutoff",))
    ]


def test_removing_the_newest_audit_rows_is_caught_by_the_checkpoint(study: StudyDb, tmp_path: Path) -> None:
    """Truncation leaves a valid chain: only a head kept outside the database reveals it (CLI end to end)."""
    add_infusion(study)
    checkpoint = tmp_path / "head.json"
    assert main(["audit", "checkpoint", "--url", study.url, "--out", str(checkpoint)]) == 0
    saved = json.loads(checkpoint.read_text())
    with raw(study) as connection:
        connection.execute(text("DELETE FROM infusion"))  # the row and its audit record both go
        connection.execute(text(f"DELETE FROM audit_log WHERE id = {saved['head_id']}"))
    assert verify_complete(study.service).ok  # without the checkpoint: undetectable
    assert main(["audit", "verify", "--url", study.url]) == 0
    assert main(["audit", "verify", "--url", study.url, "--checkpoint", str(checkpoint)]) == 1
    result = verify_complete(study.service, checkpoint=saved)
    assert kinds(result) == {"checkpoint"} and "truncation" in result.findings[0].message


def test_rewrite_with_recomputed_hashes_before_the_checkpoint_is_caught(study: StudyDb) -> None:
    """Rewriting a value and its audit row, then recomputing every later hash, passes the chain and the
    replay; the checkpoint and the lock that recorded the head both catch it."""
    record_id = add_infusion(study)
    study.service.lock("stat", dt.date(2021, 5, 6), "anchor")  # freezes a consent, not the infusion
    with connect(study.url).connect() as connection:
        saved = make_checkpoint(connection)
    audit_id = rewrite_value_and_audit(study, record_id)
    result = verify_complete(study.service)
    assert kinds(result) == {"lock-anchor"}, [f.message for f in result.findings]
    result = verify_complete(study.service, checkpoint=saved)
    assert kinds(result) == {"lock-anchor", "checkpoint"}
    assert audit_id <= saved["head_id"]
    assert_no_values(result)


def rewrite_value_and_audit(study: StudyDb, record_id: int, *, strip_macs: bool = False) -> int:
    """Change the infusion's value AND the new_value of its insert audit row, recompute the chain."""
    with raw(study) as connection:
        audit_id, document = connection.execute(
            text(
                "SELECT id, new_value FROM audit_log WHERE table_name = 'infusion' AND record_id = :r "
                "AND action = 'insert'"
            ),
            {"r": record_id},
        ).one()
        record = json.loads(document)
        record["viability_pct"] = FORGED_VIABILITY
        forged = json.dumps(record, sort_keys=True, separators=(",", ":"))
        connection.execute(
            text("UPDATE audit_log SET new_value = :v WHERE id = :i"), {"v": forged, "i": audit_id}
        )
        forge_value(connection, record_id)
        recompute_chain(connection, audit_id, with_mac=None if strip_macs else "keep")
    return int(audit_id)


def keyed_study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    key_file = tmp_path / "audit.key"
    assert main(["audit", "keygen", "--out", str(key_file)]) == 0
    assert key_file.stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("CARTRIAL_AUDIT_KEY_FILE", str(key_file))
    return key_file.read_bytes().strip()


@pytest.mark.parametrize("strip_macs", [False, True], ids=["seals-kept", "seals-stripped"])
def test_keyed_chain_catches_a_recomputed_rewrite_after_any_checkpoint(
    study: StudyDb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strip_macs: bool
) -> None:
    """With the key outside the database, a rewrite after the last checkpoint (which the checkpoint cannot
    see) still fails: the attacker can recompute the hashes but not the seals."""
    key = keyed_study(tmp_path, monkeypatch)
    with connect(study.url).connect() as connection:
        before = make_checkpoint(connection, key=key)
    record_id = add_infusion(study)  # written keyed, after the checkpoint
    assert verify_complete(study.service, key=key, checkpoint=before).ok
    rewrite_value_and_audit(study, record_id, strip_macs=strip_macs)
    assert verify_complete(study.service, checkpoint=before).ok  # unkeyed checks cannot tell
    result = verify_complete(study.service, key=key, checkpoint=before)
    assert kinds(result) == {"seal"}
    assert main(["audit", "verify", "--url", study.url]) == 1  # the key file is in the environment


def test_a_chain_recomputed_without_seals_from_the_start_fails_when_keyed_from_creation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A study keyed from its creation: an attacker who strips every seal and recomputes the whole chain
    produces an unkeyed chain, which verification with the key refuses."""
    url = f"sqlite:///{tmp_path / 'keyed.db'}"
    key = keyed_study(tmp_path, monkeypatch)
    from .conftest import make_study

    keyed = make_study(url)
    record_id = add_infusion(keyed)
    assert verify_complete(keyed.service, key=key).ok
    rewrite_value_and_audit(keyed, record_id, strip_macs=True)
    with raw(keyed) as connection:
        connection.execute(text("UPDATE audit_log SET row_mac = NULL"))
    result = verify_complete(keyed.service, key=key)
    assert kinds(result) == {"seal"} and result.findings[0].audit_row_id == 1
    keyed.service.engine.dispose()


def test_a_keyed_chain_refuses_writes_without_its_key_or_with_another(
    study: StudyDb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyed_study(tmp_path, monkeypatch)
    add_infusion(study)
    monkeypatch.delenv("CARTRIAL_AUDIT_KEY_FILE")
    with pytest.raises(ConfigurationError, match="keyed"):
        study.service.add_site("admin", "NEW", "New site")
    other = tmp_path / "other.key"
    other.write_text("f" * 64)
    monkeypatch.setenv("CARTRIAL_AUDIT_KEY_FILE", str(other))
    with pytest.raises(ConfigurationError, match="not the key"):
        study.service.add_site("admin", "NEW", "New site")
    short = tmp_path / "short.key"
    short.write_text("too short")
    monkeypatch.setenv("CARTRIAL_AUDIT_KEY_FILE", str(short))
    with pytest.raises(ConfigurationError, match="at least 32"):
        study.service.add_site("admin", "NEW", "New site")


def test_every_lock_records_the_audit_head(study: StudyDb) -> None:
    service: StudyService = study.service
    with service.engine.connect() as connection:
        head_id, head_hash = connection.execute(
            text("SELECT id, row_hash FROM audit_log ORDER BY id DESC LIMIT 1")
        ).one()
    service.lock("stat", dt.date(2021, 5, 31), "interim")
    with service.engine.connect() as connection:
        recorded = connection.execute(text("SELECT audit_head_id, audit_head_hash FROM data_lock")).one()
    assert tuple(recorded) == (head_id, head_hash)
    assert len(AUDIT_COLUMNS) == 16  # the hashed row format is unchanged by the keyed seal


@pytest.mark.parametrize(
    "edit",
    [
        "move the head to the truncated trail",
        "raise keyed_from",
        "blank key_id",
        "drop the seal",
        "move the head and drop the seal",
    ],
)
def test_a_keyed_checkpoint_edited_by_hand_is_caught(
    study: StudyDb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: str
) -> None:
    """D-19.361: whoever removes the newest audit rows (and the data they record) and then moves the
    checkpoint's head to the new head of the trail passes every check of the trail; with the key the
    checkpoint's own seal catches the edit (an unsealed checkpoint is reported)."""
    key = keyed_study(tmp_path, monkeypatch)
    record_id = add_infusion(study)
    out = tmp_path / "head.json"
    assert main(["audit", "checkpoint", "--url", study.url, "--out", str(out)]) == 0
    saved = json.loads(out.read_text())
    assert verify_complete(study.service, key=key, checkpoint=saved).ok
    edited = dict(saved)
    if edit == "move the head to the truncated trail":
        with raw(study) as connection:
            connection.execute(text(f"DELETE FROM infusion WHERE id = {record_id}"))
            connection.execute(text(f"DELETE FROM audit_log WHERE id = {saved['head_id']}"))
            now = make_checkpoint(connection)
        edited.update(rows=now["rows"], head_id=now["head_id"], head_hash=now["head_hash"])
    elif edit == "raise keyed_from":
        edited["keyed_from"] = saved["head_id"] + 1
    elif edit == "blank key_id":
        edited["key_id"] = None
    elif edit == "drop the seal":
        edited.pop("seal", None)
    else:  # D-19.377: deleting the seal of a keyed checkpoint does not turn the finding into a warning
        edited.update(head_id=saved["head_id"] - 1, rows=saved["rows"] - 1)
        edited.pop("seal", None)
    result = verify_complete(study.service, key=key, checkpoint=edited)
    assert "checkpoint" in kinds(result) and any("seal" in f.message for f in result.findings)
    out.write_text(json.dumps(edited))
    assert main(["audit", "verify", "--url", study.url, "--checkpoint", str(out)]) == 1


def test_a_checkpoint_written_without_the_key_is_only_warned_about(
    study: StudyDb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkpoint written without the audit key (no key id, no seal) cannot be checked for edits: a
    warning, not a finding (D-19.361); one written with the key must carry its seal (D-19.377)."""
    key = keyed_study(tmp_path, monkeypatch)
    add_infusion(study)
    with raw(study) as connection:
        unkeyed = make_checkpoint(connection)
    assert unkeyed["key_id"] is None and "seal" not in unkeyed
    result = verify_complete(study.service, key=key, checkpoint=unkeyed)
    assert result.ok and any("no keyed seal" in w for w in result.warnings)


def test_escalation_decisions_written_by_a_role_without_record_escalation_are_listed(
    study: StudyDb, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    """Decisions an investigator recorded before D-19.410 are flagged for review (D-19.419): `audit verify`
    warns (the trail is intact, so not a finding) naming each such audit row by id and role only."""
    from cartrial.store import PERMISSIONS, Action

    # the matrix before D-19.410: the investigator recorded the committee's decisions
    monkeypatch.setitem(PERMISSIONS, "investigator", PERMISSIONS["investigator"] | {Action.RECORD_ESCALATION})
    record_id = record_decision(study.service, "inv")
    monkeypatch.undo()
    record_decision(study.service, cohort=2)
    with study.service.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id FROM audit_log WHERE table_name = 'escalation_decision' AND record_id = :r"),
            {"r": record_id},
        ).scalars()
        ids = sorted(int(i) for i in rows)
    result = verify_complete(study.service)
    assert result.ok, result.findings
    flagged = [w for w in result.warnings if "record_escalation" in w]
    assert len(flagged) == 1, result.warnings
    assert f"{ids[0]} (investigator)" in flagged[0] and "(data_manager)" not in flagged[0]
    assert "safety review committee" not in flagged[0] and "escalate" not in flagged[0]
    answer = cli("audit", "verify", "--url", study.url)
    assert answer.exit_code == 0 and f"{ids[0]} (investigator)" in answer.stdout, answer.stdout
