"""The escalation page's pending outcome notation compares dose levels whole (D-19.134): it compared the first
character, so a level-10 patient after a level-1 patient was appended to the level-1 block ("1NT" for
"1N 10T") and the design fitted the wrong history."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cartrial.escalation import parse_outcomes
from cartrial.web.escalation import pending_outcomes


def test_levels_sharing_a_first_digit_are_separate_blocks() -> None:
    patients = [
        {"dose_level": 1, "dlt": False},
        {"dose_level": 10, "dlt": True},
        {"dose_level": 10, "dlt": False},
        {"dose_level": 1, "dlt": False},
    ]
    assert pending_outcomes(patients) == "1N 10TN 1N"
    assert pending_outcomes([]) == ""


@given(st.lists(st.tuples(st.integers(1, 12), st.booleans()), max_size=12))
def test_the_notation_reads_back_as_the_patients(rows: list[tuple[int, bool]]) -> None:
    """Property: parsing the notation gives back each patient's dose level and DLT, in order."""
    text = pending_outcomes([{"dose_level": level, "dlt": dlt} for level, dlt in rows])
    parsed = parse_outcomes(text, 12).patients if text else ()
    assert [(p.dose_level, p.dlt) for p in parsed] == rows
