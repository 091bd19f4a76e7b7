"""ETDRS letters of the chart's top line written as a Snellen or decimal fraction (D-19.1007).

docs/science/neuro-outcomes.md §2.1: letters = 85 - 50 logMAR on the ETDRS scale 0-100 (logMAR 1.7 to -0.3),
and the reference rows list logMAR -0.3 with decimal 2.0. The chart labels its -0.3 line 20/10 (6/3, decimal
2.0), whose exact logMAR is -log10(2) = -0.30103: hand, 85 - 50 * (-0.30103) = 100.05 letters, i.e. the 100th
letter (the label is rounded, as 20/32 labels the 0.2 line; D-19.683). Before: no letter score at all (blank
``etdrs_letters``), while `format_letters` wrote "100 letters" for the same acuity.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial.neuro.visual_acuity import format_letters, parse_acuity
from cartrial.rounding import fixed


@pytest.mark.parametrize("text", ["20/10", "6/3", "decimal 2.0"])
def test_the_top_line_as_a_fraction_reads_100_letters(text: str) -> None:
    assert parse_acuity(text).etdrs_letters == pytest.approx(100.0)


def test_beyond_half_a_letter_off_the_scale_reads_none() -> None:
    # logMAR -0.31 = 85 + 15.5 = 100.5 letters: the 101st letter, off the 0-100 scale; 20/2000 = -15 letters
    assert parse_acuity("logMAR -0.31").etdrs_letters is None
    assert parse_acuity("20/2000").etdrs_letters is None


@given(st.integers(-309, 1709))
def test_property_letters_on_the_scale_and_agree_with_the_written_letters(thousandths: int) -> None:
    """Every acuity whose nearest whole letter is on the 0-100 scale has a letter score, within the scale,
    and `format_letters` writes that score rounded (one reading of the scale's ends)."""
    logmar = thousandths / 1000
    letters = parse_acuity(f"logMAR {logmar:.3f}").etdrs_letters
    assert letters is not None and 0 <= letters <= 100
    assert format_letters(logmar) == f"{fixed(letters, 0)} letters"


@pytest.mark.parametrize("logmar", [-0.31, 1.8, 1.72])
def test_format_letters_writes_no_letters_off_the_scale(logmar: float) -> None:
    """Review finding 4: `format_letters` reads the scale by `etdrs_letters` (one rule). Hand: logMAR -0.31
    is 85 + 15.5 = 100.5 letters, 1.8 is 85 - 90 = -5, 1.72 is -1: each more than half a letter off 0-100,
    no letter score (before: "101 letters", "-5 letters", "-1 letters")."""
    assert parse_acuity(f"logMAR {logmar}").etdrs_letters is None
    assert format_letters(logmar) is None


@pytest.mark.parametrize(
    ("logmar", "text"), [(-0.305, "100 letters"), (1.709, "0 letters"), (0.33, "69 letters")]
)
def test_format_letters_at_the_ends_of_the_scale(logmar: float, text: str) -> None:
    # hand: -0.305 -> 100.25 letters, within half a letter of 100: 100; 1.709 -> -0.45: 0; 0.33 -> 68.5: 69
    assert format_letters(logmar) == text
