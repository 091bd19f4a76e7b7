"""Text that is not Unicode — a lone surrogate, what Python makes of a byte of another encoding in a
command-line argument or a piped password (`surrogateescape`), or of a JSON ``"\\udcff"`` escape — cannot be
encoded for the database, the audit trail or argon2. It reached them: `db edit --set term=<Latin-1 byte>`,
`--reason`, `db user add` and `login` from a pipe ended in a UnicodeEncodeError traceback (D-19.197). Each
is now a located input error (exit 2) naming the field, never the value, before anything is written."""

from __future__ import annotations

import pytest

from cartrial.cli import main
from cartrial.errors import InputError
from cartrial.store.auth import authenticate
from cartrial.store.users import password_problem

from .conftest import TEST_PASSWORD, StudyDb

LATIN1_BYTE = b"Head\xffache".decode("utf-8", "surrogateescape")  # as sys.argv holds it


def _only_problem(caught: pytest.ExceptionInfo[InputError]) -> tuple[str | None, str]:
    (problem,) = caught.value.problems
    assert problem.value is None  # never echoed: it cannot be printed either
    return problem.field, problem.message


def test_a_record_text_that_is_not_unicode_is_refused_naming_the_field(study: StudyDb) -> None:
    record = {"subject_id": "CT-001", "term": LATIN1_BYTE, "category": "non_hematologic"}
    record |= {"started_on": "2021-06-10", "grade": 1}
    with pytest.raises(InputError) as caught:
        study.service.insert_record("admin", "adverse_event", record)
    assert _only_problem(caught) == ("adverse_event.term", "is not Unicode text")
    assert study.service.find_records("admin", "adverse_event", subject_id="CT-001") == []
    with pytest.raises(InputError) as searched:  # a search for it is refused the same way
        study.service.find_records("admin", "adverse_event", term=LATIN1_BYTE)
    assert _only_problem(searched) == ("adverse_event.term", "is not Unicode text")


def test_a_reason_a_user_name_and_a_password_that_are_not_unicode_are_refused(study: StudyDb) -> None:
    record = {"subject_id": "CT-001", "term": "Headache", "category": "non_hematologic"}
    record_id = study.service.insert_record(
        "admin", "adverse_event", record | {"started_on": "2021-06-10", "grade": 1}
    )
    with pytest.raises(InputError) as caught:
        study.service.update_record("admin", "adverse_event", record_id, {"grade": 2}, 1, LATIN1_BYTE)
    assert _only_problem(caught) == ("reason", "the reason is not Unicode text")
    with pytest.raises(InputError) as caught:
        study.service.add_user("admin", LATIN1_BYTE, "monitor", password=TEST_PASSWORD)
    assert _only_problem(caught)[0] == "app_user.username"
    problem = password_problem(TEST_PASSWORD + LATIN1_BYTE, "alice")
    assert problem is not None and problem.message == "the password is not Unicode text"
    with pytest.raises(InputError) as caught:
        authenticate(study.service, "admin", password=TEST_PASSWORD + LATIN1_BYTE)
    assert _only_problem(caught) == ("password", "the password is not Unicode text")


def test_db_edit_with_a_latin1_byte_exits_2_without_a_traceback(
    sqlite_study: StudyDb, capsys: pytest.CaptureFixture[str]
) -> None:
    record = {"subject_id": "CT-001", "term": "Headache", "category": "non_hematologic"}
    record_id = sqlite_study.service.insert_record(
        "admin", "adverse_event", record | {"started_on": "2021-06-10", "grade": 1}
    )
    args = ["db", "edit", "adverse_event", str(record_id), "--set", f"term={LATIN1_BYTE}"]
    args += ["--expected-version", "1", "--reason", "typo", "--user", "admin", "--url", sqlite_study.url]
    code = main(args)
    captured = capsys.readouterr()
    assert code == 2
    assert "adverse_event.term" in captured.err + captured.out
    assert "Traceback" not in captured.err
    (stored,) = sqlite_study.service.find_records("admin", "adverse_event", subject_id="CT-001")
    assert stored["term"] == "Headache" and stored["version"] == 1
