"""`cartrial.rounding.significant`: the one significant-digit rounding (review finding 2, D-19.1057). The
protocol's dose rounding (`protocol.dosing.round_significant`) and the population-PK report's ".Ng"
numbers (`report.popfit.number_text`) each had their own; the report's wrote a zero of negative sign as
"-0" where `rounding.fixed` writes "0".

Oracle: Python's `decimal` — the number's shortest decimal form (its repr) quantized to the place of its
`digits`-th significant digit, ROUND_HALF_UP (half away from zero), the rule of D-19.189; hand-written ties
below."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial.protocol.dosing import round_significant
from cartrial.report.popfit import number_text
from cartrial.rounding import significant


def quantize_oracle(value: float, digits: int) -> float:
    exact = Decimal(repr(value))
    return float(exact.quantize(Decimal(1).scaleb(exact.adjusted() - digits + 1), rounding=ROUND_HALF_UP))


NON_ZERO = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300).filter(bool)


@given(NON_ZERO, st.integers(min_value=1, max_value=17))
def test_significant_is_the_decimal_quantize_of_the_shortest_form(value: float, digits: int) -> None:
    assert significant(value, digits) == quantize_oracle(value, digits)
    assert round_significant(value, digits) == quantize_oracle(value, digits)


@given(st.integers(min_value=1, max_value=10**6), st.integers(min_value=-12, max_value=12), st.booleans())
def test_a_tie_goes_away_from_zero(mantissa: int, exponent: int, negative: bool) -> None:
    """`mantissa`·10 + 5 at the place one below the last kept digit is a tie; it rounds to mantissa + 1
    (in magnitude) whatever its binary value."""
    digits = len(str(mantissa))
    tie = Decimal(mantissa * 10 + 5).scaleb(exponent)
    value = float(-tie if negative else tie)
    if Decimal(repr(value)) != (-tie if negative else tie):  # not written as its decimal: no tie to test
        return
    expected = Decimal(mantissa + 1).scaleb(exponent + 1)
    assert significant(value, digits) == float(-expected if negative else expected)


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (3.665e7, 3, 3.67e7),  # format's ".3g" gives 3.66e+07 (binary value below the tie)
        (1.2345, 4, 1.235),
        (2.675, 3, 2.68),
        (-2.5e-7, 1, -3e-7),
        (9.9995, 4, 10.0),
        (0.5, 1, 0.5),
    ],
)
def test_hand_worked_values(value: float, digits: int, expected: float) -> None:
    assert significant(value, digits) == expected


def test_zero_and_non_finite_values() -> None:
    assert math.copysign(1.0, significant(-0.0, 4)) == 1.0  # a zero without a sign
    assert math.isnan(significant(math.nan, 3))
    assert significant(-math.inf, 3) == -math.inf
    with pytest.raises(ValueError, match="digits"):
        significant(1.0, 0)


def test_the_report_writes_a_negative_zero_without_a_sign() -> None:
    """`number_text(-0.0)` (".4g") was "-0" while `rounding.fixed` writes "0"."""
    assert number_text(-0.0) == "0"
    assert number_text(-0.0, ".2f") == "0.00"
    assert number_text(-1e-30) == "-1e-30"
