"""AQP4-IgG titres (neuro-outcomes.md §6: EUROIMMUN dilution series 1:10 ... 1:1000, sqrt(10) spacing)."""

from __future__ import annotations

import math

import pytest

from cartrial.errors import InputError
from cartrial.neuro.titres import fold_change, parse_titre_step, titre_fell, titre_interval, titre_steps


@pytest.mark.parametrize(
    ("text", "index"),
    [("negative", 0), ("1:10", 1), ("1:32", 2), ("1/100", 3), ("320", 4), ("1:1000", 5), ("1:10 000", 7)],
)
def test_ordinal_index(text: str, index: int) -> None:
    """§6 ordinal index: 0 negative, 1 = 1:10, 2 = 1:32, 3 = 1:100, 4 = 1:320, 5 = 1:1000, ...,
    7 = 1:10 000."""
    assert parse_titre_step(text).index == index


def test_steps_are_half_log10() -> None:
    """§6: dilutions spaced by sqrt(10) - log10 moves ~0.5 per step; 1:1000 -> 1:100 is 2 steps, 10-fold."""
    a, b = parse_titre_step("1:1000"), parse_titre_step("1:100")
    assert titre_steps(a, b) == -2
    assert fold_change(a, b) == pytest.approx(0.1)
    assert parse_titre_step("1:320").log10_titre == pytest.approx(math.log10(320))


def test_fell_definition() -> None:
    """'fell' = at least min_steps dilution steps lower (default 1); a fall to negative counts."""
    assert titre_fell(parse_titre_step("1:320"), parse_titre_step("1:100"))
    assert not titre_fell(parse_titre_step("1:320"), parse_titre_step("1:320"))
    assert titre_fell(parse_titre_step("1:10"), parse_titre_step("negative"))
    assert not titre_fell(parse_titre_step("1:320"), parse_titre_step("1:100"), min_steps=2)
    assert fold_change(parse_titre_step("1:10"), parse_titre_step("negative")) is None


def test_interval_censoring() -> None:
    """§6: end-point between last positive and first negative; negative below 1:10; top right-censored."""
    assert titre_interval(parse_titre_step("1:320")) == (320.0, 1000.0)
    assert titre_interval(parse_titre_step("negative")) == (0.0, 10.0)
    assert titre_interval(parse_titre_step(">=1:1000")) == (1000.0, math.inf)


@pytest.mark.parametrize("text", ["1:50", "abc", "1:", ""])
def test_bad_titres(text: str) -> None:
    """A dilution not in the series, or not a titre, is an error naming what is allowed."""
    with pytest.raises(InputError):
        parse_titre_step(text)
