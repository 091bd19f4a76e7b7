"""Outcome-string notation (``dose-escalation.md`` section 1, grammar of the R package `escalation`)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import InputError
from cartrial.escalation import Outcomes, format_outcomes, parse_outcomes


def test_parse_standard_example() -> None:
    """'1NNN 2NTN' = 3 patients at level 1 without DLT, then 3 at level 2, the second with a DLT
    (section 1)."""
    outcomes = parse_outcomes("1NNN 2NTN", 5)
    assert [(p.cohort, p.dose_level, p.dlt) for p in outcomes.patients] == [
        (1, 1, False),
        (1, 1, False),
        (1, 1, False),
        (2, 2, False),
        (2, 2, True),
        (2, 2, False),
    ]
    n, y = outcomes.counts(5)
    assert list(n) == [3, 3, 0, 0, 0]
    assert list(y) == [0, 1, 0, 0, 0]


def test_empty_string_is_no_patients() -> None:
    """'' = no patients yet (section 1)."""
    assert parse_outcomes("", 3).n_patients == 0
    assert format_outcomes(Outcomes()) == ""


def test_multi_digit_levels_and_extra_spaces() -> None:
    """level := [1-9][0-9]* ; blocks separated by one or more spaces (section 1 grammar)."""
    outcomes = parse_outcomes("  12NT   3N ", 12)
    assert [p.dose_level for p in outcomes.patients] == [12, 12, 3]
    assert format_outcomes(outcomes) == "12NT 3N"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("1NNX", "unknown symbol"),
        ("0NNN", "dose level does not exist (got '0NNN'); allowed: 1 to 5"),
        ("6NNN", "dose level does not exist (got '6NNN'); allowed: 1 to 5"),
        ("NNN", "needs a dose level"),
        ("1", "needs a dose level and letters"),
        ("1N-N", "unknown symbol"),
        ("1nnn", "unknown symbol"),
        ("01NNN", "leading zero"),
        ("2NNN 010NT", "leading zero"),
        ("00NNN", "dose level does not exist"),
        ("\u0661NNN", "unknown symbol"),
    ],
)
def test_malformed_strings_name_the_argument(text: str, fragment: str) -> None:
    """Bad input: a clear message naming the argument and what is allowed (decisions §5, Bad input). Section 1
    grammar: level := [1-9][0-9]* (ASCII digits, no leading zero: "01NNN" would not round-trip)."""
    with pytest.raises(InputError) as info:
        parse_outcomes(text, 5, field="--outcomes")
    message = str(info.value)
    assert "--outcomes" in message
    assert fragment in message
    assert "allowed" in message


@settings(max_examples=property_examples(60), deadline=None)
@given(st.lists(st.tuples(st.integers(1, 12), st.lists(st.booleans(), min_size=1, max_size=6)), max_size=8))
def test_round_trip(blocks: list[tuple[int, list[bool]]]) -> None:
    """format(parse(s)) == s for every well-formed string (section 1: both ways)."""
    text = " ".join(f"{level}" + "".join("T" if d else "N" for d in dlts) for level, dlts in blocks)
    assert format_outcomes(parse_outcomes(text, 12)) == text


def test_with_cohort_appends_a_new_cohort() -> None:
    """Structured data -> string: an appended cohort is a new block even at the same level."""
    outcomes = parse_outcomes("2NN", 3).with_cohort(2, [False, True])
    assert str(outcomes) == "2NN 2NT"
