"""One rule for a record's audit trail in the store, which the web page, the API and `cartrial audit log
--table --record` call (D-19.1038): the trail of a record the user may see, stored or deleted; an id no
record had and another site's record are refused alike at the id, without a value. The CLI printed an
empty table with exit 0 for both."""

from __future__ import annotations

from typing import Any

import pytest

from cartrial.errors import InputError

from .conftest import StudyDb

NEVER = 999_999  # no record of the small study has this id


def _subject_id(study: StudyDb, subject: str) -> int:
    return int(study.service.find_records("admin", "subject", subject_id=subject)[0]["id"])


def _audit_log(cli: Any, study: StudyDb, user: str, record_id: int) -> Any:
    return cli(
        "audit", "log", "--table", "subject", "--record", str(record_id), "--url", study.url, "--user", user
    )


def test_the_cli_refuses_an_unknown_record_at_record(sqlite_study: StudyDb, cli: Any) -> None:
    code, out, err = _audit_log(cli, sqlite_study, "dm", NEVER)
    assert code == 2, (code, out, err)
    assert "--record" in err and "no subject record with this id that you may see" in err
    assert str(NEVER) not in err  # value-free (the id the user typed is not echoed)


def test_the_cli_refuses_another_sites_record_as_an_unknown_one(sqlite_study: StudyDb, cli: Any) -> None:
    foreign = _subject_id(sqlite_study, "CT-101")  # PUMCH; inv is of TJH
    code, out, err = _audit_log(cli, sqlite_study, "inv", foreign)
    assert code == 2, (code, out, err)
    unknown = _audit_log(cli, sqlite_study, "inv", NEVER)
    assert err == unknown.stderr and "CT-101" not in err and "PUMCH" not in err
    assert _audit_log(cli, sqlite_study, "inv2", foreign).exit_code == 0  # PUMCH's investigator sees it
    own = _audit_log(cli, sqlite_study, "inv", _subject_id(sqlite_study, "CT-001"))
    assert own.exit_code == 0 and "insert" in own.stdout


def test_the_store_rule(sqlite_study: StudyDb) -> None:
    service = sqlite_study.service
    own, foreign = _subject_id(sqlite_study, "CT-002"), _subject_id(sqlite_study, "CT-101")
    rows, stored = service.as_user("inv").record_trail("subject", own)
    assert stored and [r["action"] for r in rows] == ["insert"]
    for record_id in (foreign, NEVER):
        with pytest.raises(InputError) as raised:
            service.as_user("inv").record_trail("subject", record_id)
        [problem] = raised.value.problems
        assert (problem.field, problem.value) == ("id", None)
    service.delete_record("admin", "subject", own, "entered in error")
    rows, stored = service.as_user("dm").record_trail("subject", own)  # the deletion is dm's to see
    assert not stored and [r["action"] for r in rows] == ["insert", "delete"]
    with pytest.raises(InputError):  # another site's investigator does not see it
        service.as_user("inv2").record_trail("subject", own)
