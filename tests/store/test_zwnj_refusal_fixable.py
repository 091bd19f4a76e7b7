"""D-19.519 amended: a ZWNJ after a letter that does not join (Persian `سردرد` + ZWNJ + `ها`) stays refused,
but the refusal says where it is (1-based character position) and how to fix it."""

from __future__ import annotations

from cartrial.store.fields import KeyText, key_text_fault, key_text_problem


def test_the_refusal_names_the_position_and_the_fix() -> None:
    fault = key_text_fault("\u0633\u0631\u062f\u0631\u062f\u200c\u0647\u0627", KeyText.TYPED)
    assert fault is not None
    assert "U+200C ZERO WIDTH NON-JOINER" in fault and "at character 6" in fault
    assert "delete it; the word usually looks the same without it" in fault


def test_the_position_counts_characters_from_one() -> None:
    fault = key_text_fault("Head\u200cache", KeyText.TYPED)
    assert fault is not None and "at character 5" in fault


def test_the_problem_does_not_repeat_the_text() -> None:
    problem = key_text_problem("term", "\u0627\u200c\u0628", KeyText.TYPED)
    assert problem is not None and "\u0627" not in problem.message and "at character 2" in problem.message


def test_a_joining_zwnj_is_still_accepted() -> None:
    assert key_text_fault("\u06a9\u062a\u0627\u0628\u200c\u0647\u0627", KeyText.TYPED) is None  # کتاب‌ها


def test_a_refused_joiner_names_its_position_too() -> None:
    fault = key_text_fault("Head\u200dache", KeyText.TYPED)
    assert fault is not None
    assert "U+200D ZERO WIDTH JOINER" in fault and "at character 5" in fault
