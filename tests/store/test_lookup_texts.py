"""D-19.522: a text a read or a login looks a record up by is judged by the rule of the field it names.
A subject-id filter ``CT-0`` + U+200B + ``01`` matched nothing, silently, and a user name with one failed
as a wrong password, while the same text in a write was refused naming the character; a control character
in a filter or a user name was refused in the free-text words ("contains a control character"), and
`page_records` (the web API's lists) did not check at all."""

from __future__ import annotations

import pytest

from cartrial.errors import InputError
from cartrial.store.auth import authenticate
from cartrial.store.fields import KeyText, key_text_allowed

from .conftest import TEST_PASSWORD, StudyDb

KEY_CASES = [
    ("CT-0\u200b01", "contains U+200B ZERO WIDTH SPACE (an invisible or look-alike character)"),
    ("CT-001\u00a0", "contains U+00A0 NO-BREAK SPACE (an invisible or look-alike character)"),
    ("CT-0\x1b01", "contains U+001B <control> (a control character)"),
]


@pytest.mark.parametrize(("key", "message"), KEY_CASES)
def test_a_key_filter_is_judged_by_the_key_rule(study: StudyDb, key: str, message: str) -> None:
    handle = study.service.as_user("admin")
    for read in (
        lambda: handle.find_records("relapse", subject_id=key),
        lambda: handle.page_records("relapse", equals={"subject_id": key}),
    ):
        with pytest.raises(InputError) as caught:
            read()
        (problem,) = caught.value.problems
        assert (problem.message, problem.field, problem.value) == (message, "relapse.subject_id", None)
        assert problem.allowed == key_text_allowed(KeyText.IDENTIFIER)
    assert handle.find_records("relapse", subject_id="CT-001") is not None  # a plain key still reads


def test_a_free_text_filter_keeps_the_free_text_rule(study: StudyDb) -> None:
    handle = study.service.as_user("admin")
    with pytest.raises(InputError) as caught:
        handle.find_records("relapse", notes="a\x07note")
    assert caught.value.problems[0].message == "contains a control character"
    assert handle.find_records("relapse", notes="a note\u00a0") == []  # free text may hold it


@pytest.mark.parametrize(
    ("name", "message"), [("ad\u200bmin", KEY_CASES[0][1]), ("ad\x1bmin", KEY_CASES[2][1])]
)
def test_a_user_name_no_user_can_have_is_refused_naming_the_character(
    study: StudyDb, name: str, message: str
) -> None:
    with pytest.raises(InputError) as caught:
        authenticate(study.service, name, password=TEST_PASSWORD)
    (problem,) = caught.value.problems
    assert (problem.message, problem.field, problem.value) == (message, "username", None)
    assert authenticate(study.service, "admin", password=TEST_PASSWORD).username == "admin"
