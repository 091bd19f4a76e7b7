"""D-19.520: a number inside a parsed text (a visual acuity, an AQP4-IgG titre, an escalation outcome
string) is written in the digits 0-9, as every number, integer and date field of the import already
requires. Python's ``\\d`` and ``int()`` read every Unicode decimal digit, so ``٢٠/٤٠`` (Arabic-Indic)
and ``２０/４０`` (full-width) were stored as typed and read as 20/40, and ``1:١٠٠`` as 1:100, while
``٥`` in a lab value or grade was refused as not a number."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import InputError
from cartrial.neuro.titres import parse_titre_step
from cartrial.neuro.visual_acuity import parse_acuity
from cartrial.store.fields import validate_record

OTHER_DIGITS = [
    ("٢٠/٤٠", "U+0662 ARABIC-INDIC DIGIT TWO"),
    ("２０/４０", "U+FF12 FULLWIDTH DIGIT TWO"),
    ("۲۰/۴۰", "U+06F2 EXTENDED ARABIC-INDIC DIGIT TWO"),
    ("20/४०", "U+096A DEVANAGARI DIGIT FOUR"),
    ("logMAR ０.3", "U+FF10 FULLWIDTH DIGIT ZERO"),
    ("٧٠ letters", "U+0667 ARABIC-INDIC DIGIT SEVEN"),
]


@pytest.mark.parametrize(("text", "named"), OTHER_DIGITS)
def test_an_acuity_in_other_digits_is_refused_naming_the_digit(text: str, named: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_acuity(text)
    (problem,) = caught.value.problems
    assert named in problem.message and "0-9" in problem.message and text not in problem.message


@pytest.mark.parametrize("text", ["1:١٠٠", "１:１００", "٣٢٠", ">=1:١٠٠٠"])
def test_a_titre_in_other_digits_is_refused(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_titre_step(text)
    assert "0-9" in caught.value.problems[0].message


def test_an_outcome_string_in_other_digits_is_refused() -> None:
    problems = validate_record("escalation_decision", {"outcomes": "١NNN"}, protocol=None, partial=True)
    assert [p.field for p in problems] == ["outcomes"]
    assert (
        validate_record("escalation_decision", {"outcomes": "1NNN 2NTN"}, protocol=None, partial=True) == []
    )


def test_ascii_digits_still_parse() -> None:
    assert parse_acuity("20/40").snellen_20 == pytest.approx(40.0)
    assert parse_titre_step("1:100").denominator == 100


def _other_digit(character: str) -> bool:
    """Oracle from the Unicode data: a decimal digit (general category Nd) that is not one of 0-9."""
    return unicodedata.category(character) == "Nd" and not "0" <= character <= "9"


DIGITS = st.characters(categories=["Nd"])


@settings(max_examples=property_examples(300), deadline=None)
@given(DIGITS, st.sampled_from(["20/4{}", "20/1{}0", "logMAR 0.{}", "decimal 0.{}5", "1:{}0", "{}20"]))
@example("٢", "20/4{}")
def test_a_parsed_text_with_any_other_decimal_digit_is_refused(digit: str, form: str) -> None:
    """Property: one digit of any script put into a well-formed acuity or titre; the text parses exactly when
    that digit is one of 0-9 (every ASCII digit gives an acuity on the chart; a titre off the dilution grid
    is refused anyway, so only the refusal is checked there)."""
    text = form.format(digit)
    parse = parse_titre_step if form.startswith(("1:", "{}20")) else parse_acuity
    if _other_digit(digit):
        with pytest.raises(InputError):
            parse(text)
    elif parse is parse_acuity:
        parse(text)


def test_a_date_time_in_other_digits_is_not_an_iso_date_time() -> None:
    """``٢٠٢١-٠٦-٠١T10:00:00Z`` passed the ISO 8601 shape (``\\d``) and was then refused as "not a real
    calendar date and time", which names the wrong fault."""
    from cartrial.store.fields import clinic_time, typed_record_values

    for text in ("٢٠٢١-٠٦-٠١T10:00:00Z", "2021-06-01 １0:00+08:00"):
        with pytest.raises(InputError) as caught:
            typed_record_values("infusion", {"infused_at": text})
        assert caught.value.problems[0].message == "not an ISO 8601 date-time"
    assert clinic_time("2021-06-01 10:00") is not None
    assert clinic_time("2021-06-01 10:00\u00a0") is None  # only space, tab, CR, LF trimmed (D-19.446)
