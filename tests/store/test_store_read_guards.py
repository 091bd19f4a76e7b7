"""The generic record reads (`find_records`, `get_record`) keep secrets and other sites' records out
(D-19.428): no read returns a password hash, and a site-restricted user reads only their own site's
records, another site's record answered as one that does not exist."""

from __future__ import annotations

import pytest

from cartrial.errors import InputError

from .conftest import TEST_PASSWORD


def test_no_record_read_returns_a_password_hash(study) -> None:
    """`find_records` / `get_record` of `app_user` hold no `password_hash` column (read only by a role
    that manages users, D-19.906: tests/store/test_user_accounts_read_by_user_admin.py)."""
    service = study.service
    for reader in ("admin",):
        rows = service.as_user(reader).find_records("app_user")
        assert rows, reader
        assert all("password_hash" not in row for row in rows), reader
        for row in rows:
            assert "password_hash" not in service.as_user(reader).get_record("app_user", row["id"])
    # the password still works (the hash is kept, only not read)
    assert service.verify_password("inv", TEST_PASSWORD)


def test_a_site_restricted_user_finds_only_their_own_sites_records(study) -> None:
    """`find_records` applies the site condition of `table_counts` (D-19.418); `get_record` of another
    site's record is refused as for an unknown id (D-19.345, D-19.411)."""
    service = study.service
    inv = service.as_user("inv")
    subjects = inv.find_records("subject")
    assert {row["subject_id"] for row in subjects} == {"CT-001", "CT-002"}
    assert len(subjects) == inv.table_counts()["subject"]
    assert inv.find_records("subject", subject_id="CT-101") == []
    assert {row["site_id"] for row in inv.find_records("site")} == {"TJH"}
    foreign = service.find_records("admin", "subject", subject_id="CT-101")[0]["id"]
    with pytest.raises(InputError, match="no subject record with this id"):
        inv.get_record("subject", foreign)
    assert service.as_user("stat").get_record("subject", foreign)["subject_id"] == "CT-101"
    assert len(service.find_records("stat", "subject")) == 3


def test_a_page_of_users_and_the_cli_records_hold_no_password_hash(sqlite_study, cli) -> None:
    """`page_records` (web lists, exports) and `cartrial db records app_user --json` return no hash."""
    import json

    rows, _ = sqlite_study.service.as_user("admin").page_records("app_user")
    assert rows and all("password_hash" not in row for row in rows)
    answer = cli("db", "records", "app_user", "--user", "admin", "--url", sqlite_study.url, "--json")
    assert answer.exit_code == 0, answer.stderr
    assert "password_hash" not in answer.stdout and "argon2" not in answer.stdout
    assert json.loads(answer.stdout)
    subjects = cli("db", "records", "subject", "--user", "inv", "--url", sqlite_study.url, "--json")
    assert {row["subject_id"] for row in json.loads(subjects.stdout)} == {"CT-001", "CT-002"}
