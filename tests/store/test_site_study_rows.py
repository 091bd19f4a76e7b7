"""What a site-restricted investigator reads of the rows that belong to no subject (D-19.453, D-19.454):
escalation decisions, the study and locks are study-wide and shown; an import manifest only when it was made
at their sites (its `site_id`, recorded at import time, D-19.483; another site's or a study-wide import's
file name and row counts are as absent); a user account only of their sites or of the study-wide staff; a
site's audit rows only of their own site (D-19.484)."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.conftest import record_decision

from cartrial.errors import InputError, PermissionDeniedError


def _import(service, username: str, file_name: str) -> int:
    """Record one import manifest as `username` (what an import writes)."""
    with service.transaction(username, "import", "test import") as tx:
        return service.record_import(tx, file_name, "0" * 64, "templates", {"subject": {"read": 7}})


def test_an_investigator_reads_only_their_sites_import_manifests(study) -> None:
    service = study.service
    own = _import(service, "inv", "tjh_visits.csv")
    other_site = _import(service, "inv2", "pumch_visits.csv")
    study_wide = _import(service, "dm", "all_sites.csv")
    inv = service.as_user("inv")
    assert [row["id"] for row in inv.find_records("import_manifest")] == [own]
    assert inv.table_counts()["import_manifest"] == 1
    for hidden in (other_site, study_wide):
        with pytest.raises(InputError, match="no import_manifest record with this id"):
            inv.get_record("import_manifest", hidden)
        assert inv.record_audit("import_manifest", hidden) == []
    rows, total = inv.page_records("import_manifest")
    assert [row["id"] for row in rows] == [own] and total == 1
    seen = {row["record_id"] for row in inv.audit_rows() if row["table_name"] == "import_manifest"}
    assert seen == {own}
    assert "pumch_visits.csv" not in str(inv.audit_rows()) and "all_sites.csv" not in str(inv.audit_rows())
    # study-wide roles read every manifest
    assert len(service.as_user("mon").find_records("import_manifest")) == 3


def test_escalation_decisions_and_the_study_stay_visible_to_an_investigator(study) -> None:
    """Study-level safety decisions (the next cohort's dose) are every site's to know (D-19.453)."""
    service = study.service
    record_decision(service, decided_on=dt.date(2021, 7, 1), outcomes="1NN")
    inv = service.as_user("inv")
    assert [row["cohort"] for row in inv.find_records("escalation_decision")] == [1]
    assert any(row["table_name"] == "escalation_decision" for row in inv.audit_rows())
    assert len(inv.find_records("study")) == 1


def test_only_a_user_admin_reads_accounts_and_an_investigator_counts_their_sites(study) -> None:
    """Accounts are read by a role that manages users only (D-19.906; before: an investigator read their
    site's and the study-wide staff, D-19.453): an investigator's read is refused, before any record is
    looked up; the count of the accounts it may see stays its site's and the study-wide staff (D-19.837);
    the admin reads all six."""
    service = study.service
    inv = service.as_user("inv")
    with pytest.raises(PermissionDeniedError, match="may not manage users"):
        inv.find_records("app_user")
    assert inv.table_counts()["app_user"] == len({"admin", "inv", "dm", "mon", "stat"})
    other = service.find_records("admin", "app_user", username="inv2")[0]["id"]
    with pytest.raises(PermissionDeniedError, match="may not manage users"):
        inv.get_record("app_user", other)
    with pytest.raises(PermissionDeniedError, match="may not manage users"):
        service.as_user("stat").find_records("app_user")
    assert len(service.as_user("admin").find_records("app_user")) == 6


def test_db_summary_counts_as_the_acting_user_when_one_is_given(sqlite_study, cli) -> None:
    """`db summary --user NAME` (or `$CARTRIAL_USER`) authenticates the user and counts what they may read,
    as `db records` and `audit log` do; without a user it is the database holder's count of the whole study,
    as `audit verify` (counts name no subject and hold no value; D-19.454)."""
    import json

    url = sqlite_study.url

    def subjects(*args: str, env: dict[str, str | None] | None = None) -> int:
        answer = cli("db", "summary", "--url", url, "--json", *args, env=env)
        assert answer.exit_code == 0, answer.stderr
        return int(json.loads(answer.stdout)["tables"]["subject"])

    assert subjects("--user", "inv") == 2
    assert subjects("--user", "stat") == 3
    assert subjects(env={"CARTRIAL_USER": "inv"}) == 2
    assert subjects(env={"CARTRIAL_USER": None}) == 3
    wrong = cli("db", "summary", "--url", url, "--user", "nobody", "--json")
    assert wrong.exit_code != 0 and "subject" not in wrong.stdout


def test_a_locks_audit_row_is_not_an_investigators_to_read(study) -> None:
    """A lock's audit row holds the number and digest of every site's locked records (the study-wide size
    D-19.411 withholds); the lock itself (cut-off, who, why) stays visible as the lock state (D-19.453)."""
    service = study.service
    service.lock("stat", dt.date(2021, 12, 31), "interim analysis")
    assert any(row["table_name"] == "data_lock" for row in service.as_user("mon").audit_rows())
    inv = service.as_user("inv")
    assert not any(row["table_name"] == "data_lock" for row in inv.audit_rows())
    assert not any(row["table_name"] == "data_lock" for row in inv.last_audit_rows(50))
    assert service.active_lock() is not None and inv.table_counts()["data_lock"] == 1


def test_an_imports_site_is_the_importers_site_when_it_was_made(study) -> None:
    """Moving the importer to another site, or deleting the account and adding the name again at another
    site, moves none of their earlier imports: the manifest keeps the site it was made at (D-19.483)."""
    service = study.service
    made_at_pumch = _import(service, "inv2", "pumch_visits.csv")
    assert service.get_record("admin", "import_manifest", made_at_pumch)["site_id"] == "PUMCH"
    inv = service.as_user("inv")
    account = service.find_records("admin", "app_user", username="inv2")[0]
    service.update_record("admin", "app_user", account["id"], {"site_id": "TJH"}, account["version"], "moved")
    assert inv.find_records("import_manifest") == []
    assert not any(row["table_name"] == "import_manifest" for row in inv.audit_rows())
    assert "pumch_visits.csv" not in str(inv.audit_rows())
    # a PUMCH investigator still reads the import made at PUMCH
    service.add_user("admin", "inv3", "investigator", site_id="PUMCH", password="test-password-0123")
    inv3 = service.as_user("inv3")
    assert [row["id"] for row in inv3.find_records("import_manifest")] == [made_at_pumch]
    assert {r["record_id"] for r in inv3.audit_rows() if r["table_name"] == "import_manifest"} == {
        made_at_pumch
    }
    # a study-wide role's import is study-wide (no site), whatever that user's own site
    study_wide = _import(service, "admin", "all.csv")
    assert service.get_record("admin", "import_manifest", study_wide)["site_id"] is None
    assert study_wide not in {row["id"] for row in inv.find_records("import_manifest")}


def test_an_import_stays_with_its_site_when_the_user_name_is_added_again_elsewhere(study) -> None:
    service = study.service
    _import(service, "inv2", "pumch_visits.csv")
    account = service.find_records("admin", "app_user", username="inv2")[0]
    service.delete_record("admin", "app_user", account["id"], "left the study")
    service.add_user("admin", "inv2", "investigator", site_id="TJH", password="test-password-0123")
    assert service.as_user("inv").find_records("import_manifest") == []


def test_a_site_batch_insert_shows_an_investigator_only_their_own_site(study) -> None:
    """Sites written in one run: an investigator of one of them reads neither the other's record nor its
    name through the audit trail (D-19.484)."""
    service = study.service
    with service.transaction("admin", "test") as tx:
        service.upsert_rows(
            tx,
            "site",
            [
                {"site_id": "X1", "name": "Site One", "country": "CN"},
                {"site_id": "X2", "name": "Secret Two", "country": "CN"},
            ],
        )
    service.add_user("admin", "inv3", "investigator", site_id="X1", password="test-password-0123")
    inv3 = service.as_user("inv3")
    rows = inv3.audit_rows()
    assert "Secret Two" not in str(rows) and "Secret Two" not in str(inv3.last_audit_rows(100))
    x1 = service.find_records("admin", "site", site_id="X1")[0]["id"]
    assert any(r["table_name"] == "site" and r["record_id"] == x1 for r in rows)
    assert inv3.table_counts()["audit_log"] == len(rows)


def test_a_site_batch_row_of_an_older_trail_is_not_an_investigators_to_read(study, monkeypatch) -> None:
    """A trail written before D-19.484 may hold one batch row for a run of sites: it is not shown to a
    site-restricted user (who still reads their site's record)."""
    from cartrial.store import audit as audit_chain
    from cartrial.store import writes

    service = study.service
    with monkeypatch.context() as patched:  # the write as it was before D-19.484: one batch row
        patched.setattr(writes, "own_site_column", lambda model: None)
        with service.transaction("admin", "test") as tx:
            service.upsert_rows(
                tx,
                "site",
                [
                    {"site_id": "X1", "name": "Site One", "country": "CN"},
                    {"site_id": "X2", "name": "Secret Two", "country": "CN"},
                ],
            )
    assert any(r["action"] == audit_chain.BATCH_ACTION for r in service.audit_rows(actor="admin"))
    service.add_user("admin", "inv3", "investigator", site_id="X1", password="test-password-0123")
    inv3 = service.as_user("inv3")
    assert "Secret Two" not in str(inv3.audit_rows())
    assert [r["name"] for r in inv3.find_records("site")] == ["Site One"]


def test_an_imports_site_is_covered_by_audit_verify(study) -> None:
    """The recorded site is in the import's audit row: `audit verify` replays it, and a site changed
    afterwards without an audit row is found (D-19.483)."""
    from sqlalchemy import text

    from cartrial.store.tamper import verify_complete

    service = study.service
    manifest = _import(service, "inv2", "pumch_visits.csv")
    assert verify_complete(service).ok
    with service.engine.begin() as connection:
        connection.execute(text("UPDATE import_manifest SET site_id = 'TJH' WHERE id = :i"), {"i": manifest})
    findings = verify_complete(service).findings
    assert [(f.kind, f.table, f.fields) for f in findings] == [
        ("unaudited-update", "import_manifest", ("site_id",))
    ]


def test_a_reimport_is_not_told_unchanged_by_another_sites_import(study, tmp_path) -> None:
    """An investigator re-importing a file another site's investigator imported was told "unchanged" with
    that import's row counts (the manifests were read without a site condition); now only an import made
    at their own sites counts as the earlier import (D-19.487)."""
    from cartrial.store.importing import import_templates

    folder = tmp_path / "pumch"
    folder.mkdir()
    (folder / "subjects.csv").write_text(
        "subject_id,site_id,consent_date,sex\nCT-102,PUMCH,2021-06-01,M\n", encoding="utf-8"
    )
    first = import_templates(study.service.engine, folder, "inv2")
    assert first.totals["inserted"] == 1
    again = import_templates(study.service.engine, folder, "inv2")  # the own site's re-import: unchanged
    assert again.totals["unchanged"] == 1
    with pytest.raises(InputError, match="site_id") as refused:  # the full path: another site's row
        import_templates(study.service.engine, folder, "inv")
    assert "unchanged" not in str(refused.value)
