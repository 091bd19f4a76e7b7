"""Every JSON text a user controls is read by one reader (`cartrial.sources.parse_json`, D-19.496).

Before: a screening candidate (`screen`), a population fit (`report --popfit`) and a JSON cell of an import
(`import templates`, `db edit`) nested 100,000 deep or holding a 5000-digit number ended in a traceback
(`RecursionError`; "Exceeds the limit (4300 digits)"), each reader calling `json.loads` itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial.cli import main
from cartrial.errors import InputError
from cartrial.report.popfit import read_popfit
from cartrial.sources import JSON_MAX_DEPTH, parse_json
from cartrial.store.fields import typed_record_values

DEEP = "[" * 100_000 + "]" * 100_000
LONG_NUMBER = "[" + "9" * 5000 + "]"


@pytest.mark.parametrize(("text", "reason"), [(DEEP, "nested deeper than"), (LONG_NUMBER, "4300 digits")])
def test_parse_json_refuses_with_a_located_decode_error(text: str, reason: str) -> None:
    with pytest.raises(json.JSONDecodeError) as caught:
        parse_json(text)
    assert reason in caught.value.msg and caught.value.lineno == 1


def test_the_depth_limit_counts_brackets_outside_strings_only() -> None:
    inside_a_string = json.dumps({"notes": "[" * 5000})
    assert parse_json(inside_a_string) == {"notes": "[" * 5000}
    assert parse_json("[" * JSON_MAX_DEPTH + "]" * JSON_MAX_DEPTH) is not None
    with pytest.raises(json.JSONDecodeError):
        parse_json("[" * (JSON_MAX_DEPTH + 1) + "]" * (JSON_MAX_DEPTH + 1))


def test_a_long_number_is_located_at_the_number_not_at_digits_in_a_string() -> None:
    """D-19.508: a regex found the first 4301 digits anywhere, a string's included (position 6 here)."""
    text = '{"s":"' + "1" * 5000 + '","n":' + "9" * 5000 + "}"
    with pytest.raises(json.JSONDecodeError) as caught:
        parse_json(text)
    assert caught.value.pos == text.index('"n":') + 4


def test_a_long_number_after_a_long_fraction_is_located_at_its_sign() -> None:
    text = "[1." + "2" * 5000 + ", -" + "3" * 5000 + "]"
    with pytest.raises(json.JSONDecodeError) as caught:
        parse_json(text)
    assert caught.value.pos == text.index("-")


def test_the_digit_limit_is_the_interpreters() -> None:
    """D-19.508: the limit was written as 4300; the interpreter's (`sys.set_int_max_str_digits`) rules."""
    import sys

    previous = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)
    try:
        text = "[" + "7" * 641 + "]"
        with pytest.raises(json.JSONDecodeError) as caught:
            parse_json(text)
    finally:
        sys.set_int_max_str_digits(previous)
    assert "more than 640 digits" in caught.value.msg and caught.value.pos == 1


def test_a_long_number_at_the_edges_of_the_text_is_located() -> None:
    """D-19.508: the neighbours were tested with `in ".eE"`, a substring test that the empty neighbour at
    the start or end of the text passes: such a number was not located (column 0 of line 1)."""
    text = "\n\n-" + "7" * 5000
    with pytest.raises(json.JSONDecodeError) as caught:
        parse_json(text)
    assert (caught.value.lineno, caught.value.colno) == (3, 1) and caught.value.pos == 2
    with pytest.raises(json.JSONDecodeError) as caught:
        parse_json("7" * 5000)
    assert "digits" in caught.value.msg


def test_a_text_with_few_brackets_is_not_scanned(monkeypatch: pytest.MonkeyPatch) -> None:
    """D-19.508: at most JSON_MAX_DEPTH brackets cannot nest deeper; a long body is not walked in Python."""
    from cartrial import sources

    def no_scan(*args: object, **kwargs: object) -> None:
        raise AssertionError("scanned")

    monkeypatch.setattr(sources, "_scan_json", no_scan)
    text = json.dumps({"notes": "x" * 100_000, "list": [[1]] * (JSON_MAX_DEPTH // 2 - 1)})
    assert text.count("[") + text.count("{") <= JSON_MAX_DEPTH
    assert parse_json(text)["notes"] == "x" * 100_000


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    )
)
def test_parse_json_reads_what_json_writes(value: object) -> None:
    assert parse_json(json.dumps(value)) == value


@pytest.mark.parametrize(("body", "reason"), [(DEEP, "nested deeper than"), (LONG_NUMBER, "4300 digits")])
def test_screen_candidate_json_is_a_located_error(
    tmp_path: Path, examples_dir: Path, capsys: pytest.CaptureFixture[str], body: str, reason: str
) -> None:
    candidate = tmp_path / "c.json"
    candidate.write_text('{"id": "X", "notes": ' + body + "}")
    code = main(["screen", str(examples_dir / "ct103a-nmosd" / "protocol.yaml"), str(candidate)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "c.json, line 1: malformed JSON" in err and reason in err


@pytest.mark.parametrize(("body", "reason"), [(DEEP, "nested deeper than"), (LONG_NUMBER, "4300 digits")])
def test_report_popfit_document_is_a_located_error(tmp_path: Path, body: str, reason: str) -> None:
    (tmp_path / "estimates.json").write_text(body)
    with pytest.raises(InputError) as caught:
        read_popfit(tmp_path)
    (problem,) = caught.value.problems
    assert problem.file == str(tmp_path / "estimates.json") and reason in problem.message


@pytest.mark.parametrize(("cell", "reason"), [(DEEP, "nested deeper than"), (LONG_NUMBER, "4300 digits")])
def test_a_json_cell_of_a_record_is_a_field_problem(cell: str, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        typed_record_values("subject", {"treatment_history": cell})
    (problem,) = caught.value.problems
    assert problem.field == "subject.treatment_history" and reason in problem.message


def test_json_through_the_protocol_reader_has_the_json_depth_limit_and_words() -> None:
    """D-19.509: JSON 101–500 deep passed `parse_json` and then met the YAML builder's own limit, worded
    "nesting too deep (recursive alias?)" — JSON has no alias."""
    from cartrial.protocol.yaml_source import read_json, read_yaml

    deepest = "[" * JSON_MAX_DEPTH + "1" + "]" * JSON_MAX_DEPTH
    assert read_json(deepest, "candidates.json")[2] == []
    for deeper in ("[" * 150 + "]" * 150, "[" * (JSON_MAX_DEPTH + 1) + "]" * (JSON_MAX_DEPTH + 1)):
        with pytest.raises(InputError) as caught:
            read_json(deeper, "candidates.json")
        text = str(caught.value)
        assert f"nested deeper than {JSON_MAX_DEPTH} levels" in text and "alias" not in text
    # YAML: the same limit counted the same way (the mapping is a level), the same words
    assert read_yaml("a: " + "[" * (JSON_MAX_DEPTH - 1) + "1" + "]" * (JSON_MAX_DEPTH - 1), "p.yaml")[2] == []
    (problem,) = read_yaml("a: " + deepest, "p.yaml")[2]
    assert problem.message == f"nested deeper than {JSON_MAX_DEPTH} levels" and problem.line == 1


def test_a_key_given_twice_in_one_object_is_refused_at_its_second_place() -> None:
    """D-19.547: ``{"a": 1, "a": 2}`` was read as ``{"a": 2}``: the first value dropped without a word (an
    API body's field, a JSON cell of an import). The second occurrence is located; keys of different objects
    may repeat."""
    text = '{"values": {"temperature_c": 38.5, "oxygen": "none", "temperature_c": 41}}'
    with pytest.raises(json.JSONDecodeError) as caught:
        parse_json(text)
    assert "'temperature_c'" in caught.value.msg and "twice" in caught.value.msg
    assert caught.value.pos == text.rindex('"temperature_c"')
    assert parse_json('[{"a": 1}, {"a": 2}]') == [{"a": 1}, {"a": 2}]
    assert parse_json('{"a": {"a": 1}}') == {"a": {"a": 1}}


def _refused_at(text: str) -> tuple[str, int]:
    with pytest.raises(json.JSONDecodeError) as caught:
        parse_json(text)
    return caught.value.msg, caught.value.pos


def test_a_repeated_key_is_located_in_its_own_object_not_at_another_objects_key() -> None:
    """D-19.547: the key written twice is found by the object it repeats in, not by the second place its
    spelling appears anywhere in the text (another object, a string value)."""
    text = '{"a": 1, "b": {"a": 2, "c": {"a": 3, "a": 4}}}'
    msg, pos = _refused_at(text)
    assert "'a'" in msg and pos == text.index('"a": 4')
    text = '{"x": {"k": 1}, "y": {"k": 2, "k": 3}}'
    assert _refused_at(text)[1] == text.index('"k": 3')
    text = '{"note": "\\"a\\": 1", "a": 1, "b": 2, "a": 2}'  # the key's spelling inside a string value
    assert _refused_at(text)[1] == text.rindex('"a": 2')
    text = '{"a": 1, "\\u0061": 2}'  # the same key spelt with an escape
    msg, pos = _refused_at(text)
    assert "'a'" in msg and pos == text.index('"\\u0061"')


def test_the_repeated_key_reported_is_the_first_in_the_text() -> None:
    """The standard parser meets inner objects first (an object is complete only at its '}'): the key
    reported is still the earliest repeat in the text, with its line and column."""
    text = '{\n  "id": "A",\n  "id": "B",\n  "inner": {"k": 1, "k": 2}\n}'
    with pytest.raises(json.JSONDecodeError) as caught:
        parse_json(text)
    assert "'id'" in caught.value.msg
    assert (caught.value.lineno, caught.value.colno) == (3, 3)


# D-19.1046: NaN, Infinity, -Infinity and a float overflowing to infinity are not JSON numbers (RFC 8259
# §6: "Numeric values that cannot be represented in the grammar below (such as Infinity and NaN) are not
# permitted"); Python's `json.loads` reads them as non-finite floats without a word. An import cell
# `{"n_treated": {"1": NaN}}` was stored, and `db records --json` then showed it as null.
NON_FINITE = [
    # (text, offset of the offending token, counted by hand)
    ('{"a": [1, NaN]}', 10),  # `{"a": [1, ` is 10 characters
    ("[Infinity]", 1),
    ('{"x": -Infinity}', 6),  # `{"x": ` is 6 characters: the sign is the token's start
    ("[1, 1e400]", 4),  # 1e400 overflows the double range (max about 1.8e308)
    ('{"s": "NaN", "t": -1.5e999}', 18),  # the string "NaN" is text, not a number: the float is found
]


@pytest.mark.parametrize(("text", "offset"), NON_FINITE)
def test_a_non_finite_number_is_refused_at_its_place(text: str, offset: int) -> None:
    with pytest.raises(json.JSONDecodeError) as caught:
        parse_json(text)
    assert (
        "NaN and Infinity are not JSON numbers; a number beyond ±1.8e308" in caught.value.msg
        and caught.value.pos == offset
    )
    with pytest.raises(json.JSONDecodeError):  # the reader the protocol's JSON candidates use too
        parse_json(text, repeated_keys="allow")


def test_nan_and_infinity_inside_strings_and_large_finite_numbers_are_read() -> None:
    text = '{"note": "NaN Infinity 1e400", "big": 1.7e308, "int": 100000000000000000000}'
    assert parse_json(text) == {"note": "NaN Infinity 1e400", "big": 1.7e308, "int": 10**20}


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_finite_float_json_writes_is_read_back(value: float) -> None:
    assert parse_json(json.dumps([value])) == [value]


@given(st.sampled_from([float("nan"), float("inf"), float("-inf")]))
def test_every_non_finite_float_python_writes_is_refused(value: float) -> None:
    with pytest.raises(json.JSONDecodeError):
        parse_json(json.dumps({"v": [value]}))  # json.dumps writes NaN / Infinity / -Infinity


@pytest.mark.parametrize("cell", ['{"n_treated": {"1": NaN}}', '{"n_treated": {"1": 1e400}}'])
def test_a_non_finite_number_in_a_json_cell_is_a_field_problem(cell: str) -> None:
    """`db edit --set` and the web forms type a JSON field with this reader: the value was kept as NaN."""
    with pytest.raises(InputError) as caught:
        typed_record_values("escalation_decision", {"design_state": cell})
    (problem,) = caught.value.problems
    assert (
        problem.field == "escalation_decision.design_state"
        and "NaN and Infinity are not JSON numbers" in problem.message
    )
