"""A name quoted in a message (a JSON key given twice, a form field or query parameter given twice or not
taken) is shown whole up to 40 characters, else by its first 40 and "…" (D-19.599): one helper,
`cartrial.errors.shown_name`, where the web's two refusals and the JSON reader each wrote the idiom."""

from __future__ import annotations

import json

import pytest

NAME_40 = "n" * 40
NAME_41 = "n" * 41


def test_a_name_of_forty_characters_is_shown_whole_and_a_longer_one_cut_with_an_ellipsis() -> None:
    from cartrial.errors import SHOWN_NAME_CHARACTERS, shown_name

    assert SHOWN_NAME_CHARACTERS == 40
    assert shown_name("") == ""
    assert shown_name("subject_id") == "subject_id"
    assert shown_name(NAME_40) == NAME_40
    assert shown_name(NAME_41) == "n" * 40 + "…"
    assert shown_name("ab" * 1000) == "ab" * 20 + "…"


def test_a_long_key_given_twice_in_json_is_shown_by_its_first_forty_characters() -> None:
    from cartrial.sources import parse_json

    with pytest.raises(json.JSONDecodeError) as caught:
        parse_json(f'{{"{NAME_41}": 1, "{NAME_41}": 2}}')
    assert f"the key {'n' * 40 + '…'!r} is given twice" in caught.value.msg
    with pytest.raises(json.JSONDecodeError) as whole:
        parse_json(f'{{"{NAME_40}": 1, "{NAME_40}": 2}}')
    assert f"the key {NAME_40!r} is given twice" in whole.value.msg
