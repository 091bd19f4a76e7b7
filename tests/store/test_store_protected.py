"""Records that define the study are not generic rows (decisions §19): the study row, import manifests and the
audit trail cannot be edited or deleted record by record; a password changes only through the password
command; the last active admin cannot be deleted, deactivated or demoted; user names are unique whatever
their case (migration 0005); site codes keep the import's length limit; an empty query text is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from cartrial.errors import ConflictError, InputError, PermissionDeniedError

from ..conftest import Cli


def record_id(study, table: str) -> int:
    with study.service.read() as connection:
        return int(connection.execute(text(f"SELECT min(id) FROM {table}")).scalar_one())


@pytest.mark.parametrize("table", ["study", "import_manifest"])
def test_study_row_and_manifests_cannot_be_edited_or_deleted(study, table: str, cli: Cli) -> None:
    if table == "import_manifest":
        with study.service.as_user("dm").transaction("import", "load") as tx:
            tx.record_import("labs.csv", "ab" * 32, "templates", {})
    target = record_id(study, table)
    column = "protocol_sha256" if table == "study" else "sha256"
    admin = study.service.as_user("admin")
    before = admin.get_record(table, target)
    with pytest.raises(PermissionDeniedError, match=f"{table} records cannot be edited"):
        admin.update_record(table, target, {column: "0" * 64}, int(before["version"]), "tamper")
    with pytest.raises(PermissionDeniedError, match=f"{table} records cannot be deleted"):
        admin.delete_record(table, target, "tamper")
    edit = cli(
        *(
            "db",
            "edit",
            table,
            target,
            "--set",
            f"{column}={'0' * 64}",
            "--expected-version",
            before["version"],
        ),
        *("--reason", "tamper", "--url", study.url, "--user", "admin"),
    )
    assert edit.exit_code == 2 and "cannot be edited" in edit.stderr
    delete = cli("db", "delete", table, target, "--reason", "x", "--url", study.url, "--user", "admin")
    assert delete.exit_code == 2 and "cannot be deleted" in delete.stderr
    assert admin.get_record(table, target) == before


@pytest.mark.parametrize("command", ["edit", "delete"])
@pytest.mark.parametrize("table", ["audit_log", "data_lock"])
def test_audit_trail_and_locks_are_not_record_tables(study, table: str, command: str, cli: Cli) -> None:
    extra = ("--set", "reason=x", "--expected-version", "1") if command == "edit" else ()
    result = cli("db", command, table, "1", *extra, "--reason", "x", "--url", study.url, "--user", "admin")
    assert result.exit_code == 2 and "unknown table" in result.stderr
    assert study.service.verify_audit().ok


def test_a_password_changes_only_through_the_password_command(study, cli: Cli, monkeypatch, tmp_path) -> None:
    admin = study.service.as_user("admin")
    mon = admin.find_records("app_user", username="mon")[0]
    with pytest.raises(PermissionDeniedError, match="password changes only through the password command"):
        admin.update_record("app_user", mon["id"], {"password_hash": "$argon2id$forged"}, mon["version"], "x")
    edit = cli(
        *("db", "edit", "app_user", mon["id"], "--set", "password_hash=$argon2id$forged"),
        *("--expected-version", mon["version"], "--reason", "x", "--url", study.url, "--user", "admin"),
    )
    assert edit.exit_code == 2 and "password command" in edit.stderr
    secret = tmp_path / "new-password"
    secret.write_text("new-secret-phrase-1\n")
    monkeypatch.setenv("CARTRIAL_NEW_PASSWORD_FILE", str(secret))
    result = cli("db", "user", "password", "mon", "--url", study.url, "--user", "admin")
    assert result.exit_code == 0, result.stderr
    assert study.service.verify_password("mon", "new-secret-phrase-1")
    # mon now signs in with the new password (a password file, as a non-interactive job would)
    denied = cli(
        *("db", "user", "password", "dm", "--url", study.url, "--user", "mon"),
        env={"CARTRIAL_PASSWORD_FILE": str(secret)},
    )
    assert denied.exit_code == 2 and "may not manage users" in denied.stderr
    assert "new-secret-phrase-1" not in str(admin.audit_rows())


def test_the_last_active_admin_stays(study, cli: Cli) -> None:
    admin = study.service.as_user("admin")
    row = admin.find_records("app_user", username="admin")[0]
    with pytest.raises(ConflictError, match="last active admin"):
        admin.delete_record("app_user", row["id"], "leaving")
    with pytest.raises(ConflictError, match="last active admin"):
        admin.update_record("app_user", row["id"], {"active": False}, row["version"], "leaving")
    with pytest.raises(ConflictError, match="last active admin"):
        admin.set_role("admin", "monitor", "demotion")
    demote = cli(
        "db",
        "user",
        "role",
        "admin",
        "--role",
        "monitor",
        "--reason",
        "x",
        "--url",
        study.url,
        "--user",
        "admin",
    )
    assert demote.exit_code == 2 and "last active admin" in demote.stderr
    # with a second admin, the first may step down
    admin.set_role("stat", "admin", "second admin")
    admin.set_role("admin", "monitor", "stepping down")
    assert study.service.actor("admin").role == "monitor"
    second = study.service.as_user("stat")
    stat_row = second.find_records("app_user", username="stat")[0]
    with pytest.raises(ConflictError, match="last active admin"):
        second.update_record("app_user", stat_row["id"], {"active": False}, stat_row["version"], "x")


def test_user_names_are_unique_whatever_their_case(study, cli: Cli) -> None:
    admin = study.service.as_user("admin")
    with pytest.raises(ConflictError, match="compared without case"):  # reworded by design (D-19.884)
        admin.add_user("Admin", "monitor")
    added = cli("db", "user", "add", "MON", "--role", "monitor", "--url", study.url, "--user", "admin")
    # value-free (D-19.884): neither the name typed nor the stored account's (was "taken by user 'mon'")
    assert added.exit_code == 2 and "user name is taken" in added.stderr
    assert "'mon'" not in added.stderr and "MON" not in added.stderr
    dm = admin.find_records("app_user", username="dm")[0]
    with pytest.raises(ConflictError, match="the user name is taken: user names are compared without case"):
        admin.update_record("app_user", dm["id"], {"username": "INV"}, dm["version"], "rename")
    # the database itself refuses it too (migration 0004: unique index on lower(username))
    with pytest.raises(IntegrityError), study.service.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO app_user (username, role, active, version, created_at, updated_at) "
                "VALUES ('ADMIN', 'monitor', true, 1, '2024-01-01 00:00:00', '2024-01-01 00:00:00')"
            )
        )


def test_site_codes_keep_the_import_length_limit(study, cli: Cli) -> None:
    from cartrial.store.models import Site

    assert Site.__table__.c.site_id.type.length == 40  # type: ignore[attr-defined]  # what the import checks
    admin = study.service.as_user("admin")
    with pytest.raises(InputError, match="at most 40 characters"):
        admin.add_site("S" * 41)
    assert admin.add_site("S" * 40) > 0
    result = cli("db", "site", "add", "X" * 41, "--url", study.url, "--user", "admin")
    assert result.exit_code == 2 and "at most 40 characters" in result.stderr


@pytest.mark.parametrize("blank", ["", "   "])
def test_an_empty_query_text_is_refused(study, blank: str, cli: Cli) -> None:
    subject = study.service.as_user("mon").find_records("subject", subject_id="CT-001")[0]
    with pytest.raises(InputError, match="empty query text"):
        study.service.as_user("mon").raise_query("subject", subject["id"], blank)
    result = cli(
        "db", "query", "raise", "subject", subject["id"], "--text", blank, "--url", study.url, "--user", "mon"
    )
    assert result.exit_code == 2 and "empty query text" in result.stderr
    assert study.service.as_user("mon").find_records("data_query") == []
