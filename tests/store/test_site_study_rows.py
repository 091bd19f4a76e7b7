"""What a site-restricted investigator reads of the rows that belong to no subject (D-19.453, D-19.454):
escalation decisions, the study and locks are study-wide and shown; an import manifest only when a
site-restricted user of their sites imported it (another site's or a study-wide import's file name and row
counts are as absent); a user account only of their sites or of the study-wide staff."""

from __future__ import annotations

import datetime as dt

import pytest

from cartrial.errors import InputError


def _import(service, username: str, file_name: str) -> int:
    """Record one import manifest as `username` (what an import writes)."""
    with service.transaction(username, "import", "test import") as tx:
        return service.record_import(tx, file_name, "0" * 64, "templates", {"subject": {"read": 7}})


def _decision(service) -> None:
    values = {
        "cohort": 1,
        "dose_level": 1,
        "decided_on": dt.date(2021, 7, 1),
        "outcomes": "1NN",
        "decision": "escalate",
        "approved_by": "safety review committee",
    }
    service.insert_record("dm", "escalation_decision", values, "test")


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
    _decision(service)
    inv = service.as_user("inv")
    assert [row["cohort"] for row in inv.find_records("escalation_decision")] == [1]
    assert any(row["table_name"] == "escalation_decision" for row in inv.audit_rows())
    assert len(inv.find_records("study")) == 1


def test_an_investigator_reads_the_accounts_of_their_site_and_the_study_wide_staff_only(study) -> None:
    """Another site's staff (and through their `site_id`, that site's code) are as absent (D-19.453)."""
    service = study.service
    inv = service.as_user("inv")
    names = {row["username"] for row in inv.find_records("app_user")}
    assert names == {"admin", "inv", "dm", "mon", "stat"}
    assert inv.table_counts()["app_user"] == len(names)
    other = service.find_records("admin", "app_user", username="inv2")[0]["id"]
    with pytest.raises(InputError, match="no app_user record with this id"):
        inv.get_record("app_user", other)
    assert len(service.as_user("stat").find_records("app_user")) == 6


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
