"""A field written on one line refuses every line break (D-19.128): the fields whose rule is a notation
(a pattern: the subjects form's disposition ``word: reason``, an escalation decision's outcomes ``1NNN
2NTN``) refused ``\\n`` and ``\\r`` but accepted the other boundaries of `str.splitlines` — U+2028 LINE
SEPARATOR, U+2029 PARAGRAPH SEPARATOR, U+0085 NEXT LINE (NEL), and, in the outcomes' separator, vertical tab,
form feed and the file/group/record separators — so a disposition reason could span two lines in every
listing. The class: every field rule with a pattern, on every path (the pattern is what the import, the
single-record write and the published API schema use)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from cartrial.store.fields import all_field_rules, validate_record

LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
"""Every character `str.splitlines` splits at, spelt out by hand (Python docs, str.splitlines)."""

VALID = {
    ("subject", "disposition"): "withdrawn: moved abroad",
    ("escalation_decision", "outcomes"): "1NNN 2NTN",
    ("adverse_event", "meddra_code"): "10019211",
}
"""A valid value of each field with a pattern, with a place a line break can go (a reason's words, the
separator between two cohorts, the middle of a MedDRA code)."""


def test_the_line_breaks_are_those_of_splitlines() -> None:
    found = {chr(c) for c in range(0x110000) if len(("a" + chr(c) + "b").splitlines()) == 2}
    assert found == set(LINE_BREAKS)


def test_every_field_with_a_pattern_has_an_example_here() -> None:
    patterned = {
        (table, name)
        for table, rules in all_field_rules().items()
        for name, rule in rules.items()
        if rule.pattern is not None
    }
    # a key's pattern (subject_id refuses only the reserved word `new`, D-19.1167) leaves line breaks to the
    # key text rule, which names the character (tests/store/test_key_texts.py)
    assert patterned - {("subject", "subject_id")} == set(VALID)
    assert ("subject", "subject_id") in patterned
    for (table, name), value in VALID.items():
        assert re.fullmatch(all_field_rules()[table][name].pattern or "", value)


@given(field=st.sampled_from(sorted(VALID)), brk=st.sampled_from(LINE_BREAKS), data=st.data())
def test_no_field_with_a_pattern_accepts_a_line_break(
    field: tuple[str, str], brk: str, data: st.DataObject
) -> None:
    table, name = field
    value = VALID[field]
    spaces = [i for i, c in enumerate(value) if c == " "]
    if spaces:
        at = data.draw(st.sampled_from(spaces))
        broken = value[:at] + brk + value[at + 1 :]  # the space replaced by the line break: two lines
    else:
        at = data.draw(st.integers(1, len(value) - 1))
        broken = value[:at] + brk + value[at:]  # a code split in two lines
    assert len(broken.splitlines()) == 2
    pattern = all_field_rules()[table][name].pattern or ""
    assert re.fullmatch(pattern, broken) is None
    problems = validate_record(table, {name: broken}, protocol=None, partial=True)
    assert problems and {p.field for p in problems} == {name}
    assert not validate_record(table, {name: value}, protocol=None, partial=True)
