"""Role-based access enforced in the service layer: each role is refused what it may not do.

Requirements: decisions §7 (roles admin, investigator = enter/edit own site's data, data_manager = edit,
query,
monitor = read, raise queries, statistician = read, lock, analyse; "permissions are enforced in the service
layer, not only the CLI"; "Passwords ... hashed with a current algorithm from a well-kept library");
ICH E6(R3) 4.2.2 via data-standards.md 8.1 (user account and role changes are logged).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from tests.conftest import record_decision

from cartrial.errors import ConflictError, PermissionDeniedError
from cartrial.store import PERMISSIONS, Action, StudyService
from cartrial.store.users import active_password_hash

INFUSION = {"subject_id": "CT-001", "infused_at": "2021-06-01T02:00:00Z", "dose_level": 1}
FOREIGN_INFUSION = {"subject_id": "CT-101", "infused_at": "2021-06-11T02:00:00Z", "dose_level": 1}


def operations(service: StudyService, record_id: int) -> dict[str, Callable[[str], object]]:
    """Each operation as a function of the acting user. Names match `EXPECTED`."""
    return {
        "read": lambda u: service.get_record(u, "infusion", record_id),
        "audit_history": lambda u: service.audit_history("CT-001", actor=u),
        "enter": lambda u: service.insert_record(
            u,
            "lab_result",
            {
                "subject_id": "CT-001",
                "analyte": "wbc",
                "collected_at": f"2021-06-0{len(u)}T00:00:00Z",
                "value": 4.0,  # the labs form's required values (decisions §19: the import's rules apply)
                "unit": "10^9/L",
                "lln": 4.0,
            },
        ),
        "enter_other_site": lambda u: service.insert_record(u, "infusion", FOREIGN_INFUSION),
        "record_escalation": lambda u: record_decision(service, u, cohort=len(u)),
        "edit": lambda u: service.update_record(
            u,
            "infusion",
            record_id,
            {"weight_kg": float(len(u))},
            int(service.get_record("admin", "infusion", record_id)["version"]),
            "correction",
        ),
        "raise_query": lambda u: service.raise_query(u, "infusion", record_id, "please check the weight"),
        # freezes CT-001's consent (2021-05-06), not the infusion; a lock freezing nothing is refused
        "lock_and_unlock": lambda u: service.lock(u, dt.date(2021, 5, 6), "interim"),
        "unlock": lambda u: service.unlock(u, "reopen"),
        "add_user": lambda u: service.add_user(u, f"new_{u}", "monitor"),
        "add_site": lambda u: service.add_site(u, f"S{len(u)}"),
        "derive": lambda u: service.store_derived(
            u,
            [
                {
                    "subject_id": "CT-001",
                    "engine": "test",
                    "engine_version": "0",
                    "source_table": "infusion",
                    "source_record_id": record_id,
                    "parameter": "p",
                    "value_number": 1.0,
                }
            ],
            source="test",
        ),
    }


EXPECTED: dict[str, set[str]] = {
    "admin": {
        "read",
        "audit_history",
        "enter",
        "enter_other_site",
        "record_escalation",
        "edit",
        "raise_query",
        "lock_and_unlock",
        "unlock",
        "add_user",
        "add_site",
        "derive",
    },
    "data_manager": {
        "read",
        "audit_history",
        "enter",
        "enter_other_site",
        "record_escalation",
        "edit",
        "raise_query",
        "add_site",
    },
    "investigator": {"read", "audit_history", "enter", "edit"},
    "monitor": {"read", "audit_history", "raise_query"},
    "statistician": {"read", "audit_history", "lock_and_unlock", "derive"},
}
"""What each role may do, from the role descriptions of decisions §7 (the investigator user `inv` is at TJH,
CT-001's site; CT-101 is at PUMCH). `unlock` for non-admins is tried against a lock set by the admin.
`record_escalation`: the safety review committee's dose decision is recorded by the study-wide data roles,
never by a site investigator (D-19.410)."""

USER_OF_ROLE = {
    "admin": "admin",
    "data_manager": "dm",
    "investigator": "inv",
    "monitor": "mon",
    "statistician": "stat",
}


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_each_role_is_refused_what_it_may_not_do(study, role: str) -> None:
    """Every operation either succeeds (allowed) or raises PermissionDeniedError naming user and role."""
    service: StudyService = study.service
    record_id = service.insert_record("admin", "infusion", INFUSION)
    username = USER_OF_ROLE[role]
    for name, operation in operations(service, record_id).items():
        if name == "unlock" and service.active_lock() is None:
            service.lock("admin", dt.date(2021, 5, 6), "lock for the unlock check")
        allowed = name in EXPECTED[role]
        audit_before = service.table_counts()["audit_log"]
        if allowed:
            operation(username)
        else:
            with pytest.raises(PermissionDeniedError, match=f"'{username}' \\(role {role}"):
                operation(username)
            assert service.table_counts()["audit_log"] == audit_before, name
        if name == "lock_and_unlock" and allowed:
            service.unlock("admin", "undo test lock")
    assert service.verify_audit().ok


def test_investigator_cannot_import_or_edit_another_sites_subjects(study) -> None:
    """Investigators enter/edit their own site's data only (decisions §7), also through bulk imports."""
    service: StudyService = study.service
    with pytest.raises(PermissionDeniedError, match="own site"), service.transaction("inv", "import") as tx:
        service.upsert_rows(tx, "infusion", [INFUSION, FOREIGN_INFUSION])
    foreign = service.find_records("admin", "subject", subject_id="CT-101")[0]
    with pytest.raises(PermissionDeniedError, match="own site") as caught:
        service.update_record("inv", "subject", foreign["id"], {"sex": "F"}, foreign["version"], "fix")
    # which site holds the subject is not the investigator's to learn (least privilege, D-19.220; the web
    # answers another site's subject as an absent one, D-19.174)
    assert "PUMCH" not in str(caught.value) and "another site" in str(caught.value)
    own = service.find_records("admin", "subject", subject_id="CT-001")[0]
    with pytest.raises(PermissionDeniedError, match="own site"):
        service.update_record("inv", "subject", own["id"], {"site_id": "PUMCH"}, own["version"], "move")
    assert service.table_counts()["infusion"] == 0


def test_permission_matrix_matches_issue_roles() -> None:
    """The single permission matrix encodes decisions §7's role list (unlock and user management: admin
    only)."""
    assert set(PERMISSIONS) == {"admin", "investigator", "data_manager", "monitor", "statistician"}
    assert [r for r in PERMISSIONS if Action.UNLOCK in PERMISSIONS[r]] == ["admin"]
    assert [r for r in PERMISSIONS if Action.MANAGE_USERS in PERMISSIONS[r]] == ["admin"]
    assert {r for r in PERMISSIONS if Action.LOCK in PERMISSIONS[r]} == {"admin", "statistician"}
    assert {r for r in PERMISSIONS if Action.RAISE_QUERY in PERMISSIONS[r]} == {
        "admin",
        "data_manager",
        "monitor",
    }
    # the committee's dose decision is recorded by study-wide roles, never by a site investigator (D-19.410)
    assert {r for r in PERMISSIONS if Action.RECORD_ESCALATION in PERMISSIONS[r]} == {"admin", "data_manager"}
    assert all(Action.READ in actions for actions in PERMISSIONS.values())
    assert Action.EDIT not in PERMISSIONS["monitor"] and Action.EDIT not in PERMISSIONS["statistician"]


def test_role_change_is_audited_with_reason(study) -> None:
    """User and role changes are logged (ICH E6(R3) 4.2.2) and need a reason."""
    service: StudyService = study.service
    service.set_role("admin", "mon", "data_manager", "monitor moved to data management")
    rows = service.audit_rows(actor="admin")
    change = [r for r in rows if r["table_name"] == "app_user" and r["action"] == "update"][-1]
    assert (change["field"], change["old_value"], change["new_value"]) == (
        "role",
        '"monitor"',
        '"data_manager"',
    )
    assert change["reason"] == "monitor moved to data management"
    assert service.actor("mon").role == "data_manager"
    with pytest.raises(PermissionDeniedError):
        service.set_role("dm", "mon", "admin", "escalate myself")


def test_passwords_are_argon2id_hashes_never_in_the_audit_trail(study) -> None:
    """Passwords are stored as argon2id hashes (argon2-cffi, RFC 9106) and never appear in the audit log."""
    service: StudyService = study.service
    service.add_user("admin", "pw_user", "monitor", password="correct horse battery staple")
    with service.read() as connection:  # no read API returns the hash (D-19.428)
        stored = active_password_hash(connection, "pw_user")
    assert stored is not None
    assert "password_hash" not in service.find_records("admin", "app_user", username="pw_user")[0]
    assert stored.startswith("$argon2id$")
    assert service.verify_password("pw_user", "correct horse battery staple")
    assert not service.verify_password("pw_user", "wrong")
    assert not service.verify_password("nobody", "x")
    for row in service.audit_rows(actor="admin"):
        assert "argon2" not in (row["new_value"] or "") and "horse" not in (row["new_value"] or "")


def _refusal(operation: Callable[[], object]) -> str:
    try:
        operation()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc} {getattr(exc, 'problem', None)} {getattr(exc, 'existing', None)}"
    return "written"


def test_a_key_taken_at_another_site_is_refused_without_saying_where_or_what(sqlite_study) -> None:
    """A subject id held at another site was refused with "subject already has a record with subject_id =
    CT-101 (id 3); update it instead" and that record named for a link (D-19.283): the investigator
    learned that another site has the subject, and its id. The write is still refused (the key is unique in
    the study), saying only that the key cannot be used (D-19.297)."""
    service: StudyService = sqlite_study.service
    foreign = service.find_records("admin", "subject", subject_id="CT-101")[0]
    new = {"subject_id": "CT-101", "site_id": "TJH", "consent_date": "2021-06-01", "sex": "F"}
    with pytest.raises(ConflictError) as caught:
        service.insert_record("inv", "subject", new)
    said = f"{caught.value} {caught.value.problem}"
    assert "cannot be used" in said
    for leak in ("PUMCH", "another site", "exists", "already", f"id {foreign['id']}", "update"):
        assert leak not in said, leak
    assert caught.value.existing is None
    # a record of another site's subject, its key taken or not, is refused alike (the subject's site)
    service.insert_record("admin", "infusion", FOREIGN_INFUSION)
    free = {**FOREIGN_INFUSION, "infused_at": "2021-06-12T02:00:00Z"}
    held = _refusal(lambda: service.insert_record("inv", "infusion", FOREIGN_INFUSION))
    assert held.startswith("PermissionDeniedError") and held == _refusal(
        lambda: service.insert_record("inv", "infusion", free)
    )
    # one's own site's record is still named, for the link to it
    own = service.find_records("admin", "subject", subject_id="CT-001")[0]
    with pytest.raises(ConflictError) as mine:
        service.insert_record("inv", "subject", {**new, "subject_id": "CT-001"})
    assert mine.value.existing == ("subject", own["id"])
    # an unrestricted role still learns where the key is
    with pytest.raises(ConflictError) as managed:
        service.insert_record("dm", "subject", new)
    assert managed.value.existing == ("subject", foreign["id"])


def test_an_import_row_whose_subject_is_at_another_site_says_only_that_the_id_cannot_be_used(
    sqlite_study,
) -> None:
    service: StudyService = sqlite_study.service
    row = {"subject_id": "CT-101", "site_id": "TJH", "consent_date": "2021-06-01", "sex": "F"}
    with pytest.raises(ConflictError) as caught, service.transaction("inv", "import") as tx:
        service.upsert_rows(tx, "subject", [row])
    said = f"{caught.value} {caught.value.problem}"
    assert "cannot be used" in said
    # the key typed is the problem's value only, never the message's text (D-12.2)
    assert caught.value.problem is not None and caught.value.problem.value == "CT-101"
    assert "CT-101" not in str(caught.value) and "CT-101" not in caught.value.problem.message
    assert "another site" not in said and "PUMCH" not in said


def test_the_cli_import_refuses_another_sites_subject_id_as_a_free_one_is_taken(
    sqlite_study, cli, tmp_path
) -> None:
    """`cartrial import templates --user inv` (an investigator of TJH): a subjects.csv row with CT-101
    (enrolled at PUMCH) was "subject data written belongs to another site"; now exit 2 "cannot be used",
    nothing about where; the same row with a free id is imported (D-19.297)."""
    folder = tmp_path / "in"
    folder.mkdir()
    header = "subject_id,site_id,consent_date,sex\n"
    (folder / "subjects.csv").write_text(header + "CT-101,TJH,2021-06-01,F\n", "utf-8")
    held = cli("import", "templates", folder, "--user", "inv", "--url", sqlite_study.url)
    assert held.exit_code == 2
    assert "cannot be used" in held.stderr
    for leak in ("PUMCH", "another site", "already", "exists"):
        assert leak not in held.stderr, leak
    (folder / "subjects.csv").write_text(header + "CT-060,TJH,2021-06-01,F\n", "utf-8")
    free = cli("import", "templates", folder, "--user", "inv", "--url", sqlite_study.url)
    assert free.exit_code == 0, free.stderr


@pytest.mark.parametrize("dry_run", [True, False])
def test_an_investigators_import_of_escalation_decisions_is_refused_dry_run_or_not(
    study, tmp_path, dry_run: bool
) -> None:
    """The committee's decisions need `record_escalation` on every path (D-19.410): the import writes
    them refused, and a dry run, which writes nothing, said the same file would import (it checked only
    the import permission); it now refuses it with the write's own words (D-19.416)."""
    from cartrial.store.importing import import_templates

    (tmp_path / "escalation_decisions.csv").write_text(
        "cohort,dose_level,decided_on,outcomes,design,design_state,decision,approved_by\n"
        "1,1,2021-07-06,1NNN,3+3,,escalate,safety review committee\n"
    )
    with pytest.raises(
        PermissionDeniedError, match=r"may not record escalation \(insert into escalation_decision\)"
    ):
        import_templates(study.url, tmp_path, "inv", dry_run=dry_run, reason="committee minutes")
    assert study.service.table_counts()["escalation_decision"] == 0
    report = import_templates(study.url, tmp_path, "dm", dry_run=dry_run, reason="committee minutes")
    assert report.forms[0].read == 1


def test_an_investigator_reads_only_their_own_sites_audit_rows_and_counts(study) -> None:
    """The store enforces site isolation on every audit read, not only on one record's trail (D-19.411,
    D-19.418): `audit_rows`, another site's subject's `audit_history` (answered as for a subject no one
    ever had), and `table_counts` (the trail's and the sites' counts) see only the user's own site."""
    service = study.service
    inv = service.as_user("inv")
    rows = inv.audit_rows()
    assert rows and all(row["subject_id"] in (None, "CT-001", "CT-002") for row in rows)
    assert "CT-101" in {row["subject_id"] for row in service.audit_rows(actor="admin")}
    assert inv.audit_history("CT-101") == inv.audit_history("CT-999") == []
    assert inv.audit_history("CT-001") == service.audit_history("CT-001", actor="admin")
    counts = inv.table_counts()
    assert counts["audit_log"] == len(rows) < service.table_counts()["audit_log"]
    assert counts["site"] == 1 < service.table_counts()["site"]
    assert counts["subject"] == len(inv.find_records("subject", site_id="TJH"))
    assert inv.last_audit_rows(3) == rows[-3:]
    assert service.as_user("admin").last_audit_rows(2) == service.audit_rows(actor="admin")[-2:]
    # another site's site record and user accounts are not a site-restricted user's trail
    site_rows = [row for row in rows if row["table_name"] == "site"]
    own_site = service.find_records("admin", "site", site_id="TJH")[0]["id"]
    assert {row["record_id"] for row in site_rows} <= {own_site}
    assert not [row for row in rows if row["table_name"] == "app_user"]


def test_the_cli_audit_log_of_an_investigator_shows_only_their_site(sqlite_study, cli) -> None:
    """`cartrial audit log --user inv`: the last rows are the investigator's site's (D-19.418)."""
    import json

    answer = cli("audit", "log", "--user", "inv", "--url", sqlite_study.url, "--json", "--limit", "1000")
    assert answer.exit_code == 0, answer.stderr
    assert {row["subject_id"] for row in json.loads(answer.stdout)} <= {None, "CT-001", "CT-002"}
    other = cli("audit", "log", "--subject", "CT-101", "--user", "inv", "--url", sqlite_study.url, "--json")
    assert other.exit_code == 0 and json.loads(other.stdout) == []
