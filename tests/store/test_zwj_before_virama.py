"""D-19.525: a ZERO WIDTH JOINER between a letter and a following virama of the same script is how the
Unicode Standard encodes a visible form (Core Specification ch. 12: Bengali ra + ya-phala
<RA, ZWJ, VIRAMA, YA> instead of reph): a typed key accepts it. Elsewhere a ZWJ not right after a virama is
still refused. (Devanagari eyelash ra is <RA, VIRAMA, ZWJ>: a ZWJ right after a virama, D-19.519.)"""

from __future__ import annotations

import pytest

from cartrial.store.fields import KeyText, key_text_fault

RA, YA, HASANT, ZWJ = "\u09b0", "\u09af", "\u09cd", "\u200d"


@pytest.mark.parametrize(
    "term",
    [
        RA + ZWJ + HASANT + YA + "\u09be\u09b6",  # র‍্যাশ "rash"
        RA + ZWJ + HASANT + YA + "\u09be\u09b2\u09bf",  # র‍্যালি
        "\u0930" + ZWJ + "\u094d\u092f",  # the same rule in Devanagari: र‍्य
    ],
)
def test_a_zwj_between_a_letter_and_its_virama_is_accepted(term: str) -> None:
    assert key_text_fault(term, KeyText.TYPED) is None


@pytest.mark.parametrize(
    "term",
    [
        RA + ZWJ + YA,  # between two letters, no virama
        "a" + ZWJ + HASANT + YA,  # a Latin letter before a Bengali virama: not the same script
        "\u0930" + ZWJ + HASANT + YA,  # a Devanagari letter before a Bengali virama
        ZWJ + HASANT + YA,  # nothing before
        "\u0930\u093f" + ZWJ + "\u094d",  # a vowel sign (not a letter) before the virama
    ],
)
def test_a_zwj_elsewhere_is_still_refused(term: str) -> None:
    fault = key_text_fault(term, KeyText.TYPED)
    assert fault is not None and "U+200D ZERO WIDTH JOINER" in fault


def test_identifiers_still_refuse_it() -> None:
    assert key_text_fault(RA + ZWJ + HASANT + YA, KeyText.IDENTIFIER) is not None


def test_devanagari_eyelash_ra_after_its_virama_is_accepted() -> None:
    """Eyelash ra as the Unicode Standard encodes it, <RA, VIRAMA, ZWJ> (र्‍य): right after a virama."""
    assert key_text_fault("\u0930\u094d" + ZWJ + "\u092f", KeyText.TYPED) is None
