"""The `cartrial db` and `cartrial audit` commands end to end, on SQLite and PostgreSQL.

Requirements: decisions §7 (`cartrial db init --url URL --protocol FILE --admin NAME`, `cartrial db upgrade`,
`cartrial db lock --cutoff DATE --reason …`, unlock audited, `cartrial audit verify` names the first broken
row, `cartrial audit log --subject S` shows a record's history); README rule "bad input ... the CLI exits 2".
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from cartrial.store import StudyService, connect

from ..conftest import Cli
from .conftest import PROTOCOL


def test_cli_tour(db_url: str, cli: Cli) -> None:
    """init → users → data → reasoned edit → lock → refused edit → unlock → verify → history."""
    url = ["--url", db_url]
    code, out, _ = cli(
        "db", "init", *url, "--protocol", str(PROTOCOL), "--admin", "alice", "--admin-site", "TJH"
    )
    assert code == 0 and "created" in out
    code, out, _ = cli("db", "init", *url, "--protocol", str(PROTOCOL), "--admin", "alice")
    assert code == 0 and "nothing changed" in out
    assert cli("db", "upgrade", *url)[0] == 0
    assert cli("db", "upgrade", *url)[0] == 0
    add = ("db", "user", "add", "--password", *url, "--user", "alice")  # passwords: tests/conftest.py
    assert cli(*add, "bob", "--role", "data_manager")[0] == 0
    assert cli(*add, "sue", "--role", "statistician")[0] == 0
    service = StudyService(connect(db_url))
    with service.transaction("bob", "test data") as tx:
        service.upsert_rows(
            tx, "subject", [{"subject_id": "CT-001", "site_id": "TJH", "consent_date": "2021-05-06"}]
        )
        service.upsert_rows(
            tx,
            "infusion",
            [
                {
                    "subject_id": "CT-001",
                    "infused_at": "2021-06-01T02:00:00Z",
                    "dose_level": 1,
                    "viability_pct": 92.0,
                }
            ],
        )
    code, out, _ = cli("db", "records", "infusion", "--subject", "CT-001", *url, "--user", "bob", "--json")
    record = json.loads(out)[0]
    code, out, err = cli(
        "db",
        "edit",
        "infusion",
        str(record["id"]),
        "--set",
        "viability_pct=91.5",
        "--expected-version",
        "1",
        "--reason",
        "re-read certificate",
        *url,
        "--user",
        "bob",
    )
    assert code == 0, err
    code, out, err = cli(
        "db",
        "edit",
        "infusion",
        str(record["id"]),
        "--set",
        "viability_pct=91",
        "--expected-version",
        "1",
        "--reason",
        "stale",
        *url,
        "--user",
        "bob",
    )
    assert code == 2 and "version 2, not 1" in err
    code, out, err = cli("db", "lock", "--cutoff", "2022-03-20", "--reason", "cut-off", *url, "--user", "bob")
    assert code == 2 and "may not lock" in err
    code, out, err = cli("db", "lock", "--cutoff", "2022-03-20", "--reason", "cut-off", *url, "--user", "sue")
    assert code == 0 and "locked 2 records" in out
    code, out, err = cli(
        "db",
        "edit",
        "infusion",
        str(record["id"]),
        "--set",
        "viability_pct=90",
        "--expected-version",
        "2",
        "--reason",
        "late",
        *url,
        "--user",
        "bob",
    )
    assert code == 2 and "frozen by data lock" in err and "2022-03-20" in err
    code, out, err = cli("db", "unlock", "--reason", "reopen", *url, "--user", "sue")
    assert code == 2 and "may not unlock" in err
    assert cli("db", "unlock", "--reason", "query follow-up", *url, "--user", "alice")[0] == 0
    code, out, _ = cli("db", "summary", *url, "--json")
    summary = json.loads(out)
    assert summary["tables"]["infusion"] == 1 and summary["lock"] is None
    code, out, _ = cli("audit", "verify", *url, "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    code, out, _ = cli("audit", "log", "--subject", "CT-001", *url, "--user", "bob", "--json")
    history = json.loads(out)
    assert [(h["action"], h["table_name"], h["field"]) for h in history] == [
        ("insert", "subject", "*"),
        ("insert", "infusion", "*"),
        ("update", "infusion", "viability_pct"),
    ]
    assert history[2]["old_value"] == "92.0" and history[2]["new_value"] == "91.5"
    assert history[2]["reason"] == "re-read certificate" and history[2]["username"] == "bob"
    service.engine.dispose()


def test_audit_verify_exits_1_and_names_the_broken_row(db_url: str, cli: Cli) -> None:
    """After the trigger is removed and a row edited, `audit verify` names that row and fails."""
    assert (
        cli(
            "db",
            "init",
            "--url",
            db_url,
            "--protocol",
            str(PROTOCOL),
            "--admin",
            "alice",
            "--admin-site",
            "TJH",
        )[0]
        == 0
    )
    engine = connect(db_url)
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER audit_log_no_update"))
        else:
            connection.execute(text("DROP TRIGGER audit_log_no_update_delete ON audit_log"))
        connection.execute(text("UPDATE audit_log SET username = 'mallory' WHERE id = 2"))
    engine.dispose()
    code, out, _ = cli("audit", "verify", "--url", db_url)
    assert code == 1 and "BROKEN" in out and "audit row 2" in out


def test_bad_input_exits_2(tmp_path, cli: Cli) -> None:
    """User errors: clear message, exit 2, no traceback."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    code, _, err = cli("db", "summary", "--url", url)
    assert code == 2 and "cartrial db init" in err
    assert cli("db", "init", "--url", url, "--protocol", str(PROTOCOL), "--admin", "alice")[0] == 0
    code, _, err = cli(
        "db", "lock", "--cutoff", "20-03-2022", "--reason", "x", "--url", url, "--user", "alice"
    )
    assert code == 2 and "YYYY-MM-DD" in err
    code, _, err = cli("db", "user", "add", "x", "--role", "boss", "--url", url, "--user", "alice")
    assert code == 2 and "unknown role" in err
    code, _, err = cli(
        "db",
        "edit",
        "infusion",
        "1",
        "--set",
        "weight=1",
        "--expected-version",
        "1",
        "--reason",
        "r",
        "--url",
        url,
        "--user",
        "alice",
    )
    assert code == 2 and "FIELD=VALUE" in err
    # the allowed fields are those an edit may set: never the read-only id, version or timestamps, which
    # were listed as allowed and then refused by the store in other words (D-19.149)
    allowed = err.split("allowed: ", 1)[1]
    assert "viability_pct" in allowed and "| version" not in allowed and "| id |" not in allowed, err
    assert "created_at" not in allowed, err
    for read_only in ("version=5", "id=7", "updated_at=2021-01-01"):
        code, _, err = cli(
            *("db", "edit", "infusion", "1", "--set", read_only, "--expected-version", "1"),
            *("--reason", "r", "--url", url, "--user", "alice"),
        )
        assert code == 2 and "--set: expected FIELD=VALUE with a field an edit may set" in err, err
    code, _, err = cli("db", "summary", "--url", "sqlite:///no/such/folder/x.db")
    assert code == 2 and "folder" in err


def test_blank_names_unknown_status_and_bad_limit_are_refused(tmp_path, cli: Cli) -> None:
    """Sweep findings: a blank site or user name was stored (and could never be referred to again), an
    unknown `--status` listed every query, and a negative `--limit` listed the whole trail; each is exit 2."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    assert cli("db", "init", "--url", url, "--protocol", str(PROTOCOL), "--admin", "alice")[0] == 0
    as_alice = ("--url", url, "--user", "alice")
    code, _, err = cli("db", "site", "add", "", *as_alice)
    assert code == 2 and "site" in err
    code, _, err = cli("db", "user", "add", " bob", "--role", "monitor", *as_alice)
    assert code == 2 and "username" in err
    code, _, err = cli("db", "query", "list", "--status", "bogus", *as_alice)
    assert code == 2 and "open | answered | closed" in err
    code, _, err = cli("audit", "log", "--limit", "-3", *as_alice)
    assert code == 2 and "--limit" in err
    assert cli("audit", "log", "--limit", "1", *as_alice)[0] == 0


@pytest.mark.parametrize("version", ["\u0661", "1_0", "0", "1000000001", "+1"])
def test_db_edit_reads_expected_version_with_the_declared_rule(sqlite_study, cli, version) -> None:
    """`--expected-version` is the version range of the API and the record page (`allowed.record_version`,
    ASCII digits, D-19.413): Typer's int() took `١` (as 1) and `1_0` (as 10)."""
    (record,) = sqlite_study.service.find_records("admin", "site", site_id="TJH")
    args = ["db", "edit", "site", str(record["id"]), "--set", "name=Renamed", "--reason", "typo"]
    answer = cli(*args, "--expected-version", version, "--url", sqlite_study.url, "--user", "admin")
    assert answer.exit_code == 2, answer.stdout
    assert "--expected-version" in answer.stderr and "1 to 1000000000" in answer.stderr, answer.stderr
    assert sqlite_study.service.find_records("admin", "site", site_id="TJH") == [record]
    ok = cli(
        *args, "--expected-version", str(record["version"]), "--url", sqlite_study.url, "--user", "admin"
    )
    assert ok.exit_code == 0, ok.stderr
