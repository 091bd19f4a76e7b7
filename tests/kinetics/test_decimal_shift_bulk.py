"""`decimal_shift` in bulk (D-19.849): every value is the double nearest to its shortest decimal (repr) with
the decimal point moved, as `Decimal(repr(x)).scaleb(k)` gives it, for arrays of every kind of number."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.rounding import decimal_shift

EXPONENTS = [-25, -9, -6, -3, -1, 1, 3, 6, 9, 25]


def _expected(value: float, exponent: int) -> float:
    return value if not math.isfinite(value) else float(Decimal(repr(value)).scaleb(exponent))


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1.0, a) == math.copysign(1.0, b))


def _arrays(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    n = 300
    return [
        rng.random(n) * 10.0 ** float(rng.integers(-8, 9)),  # full-precision doubles
        np.round(rng.random(n) * 1000, int(rng.integers(0, 7))),  # values as a laboratory writes them
        rng.integers(-(10**7), 10**7, n) / 10.0 ** float(rng.integers(0, 10)),
        rng.integers(0, 2**63 - 1, n, dtype=np.int64).view(np.float64),  # any bit pattern (NaN too)
        np.array([0.0, -0.0, math.nan, math.inf, -math.inf, 5e-324, 1e-300, 1.7976931348623157e308, 1.005]),
        np.array([2.0**53, 2.0**53 + 2, 2.0**52 + 0.5, 9007199254740993.0, 0.1, -0.3, 1e16, 1e22, 123456.7]),
    ]


@pytest.mark.parametrize("seed", range(12))
def test_bulk_shift_equals_the_decimal_shift_of_each_value(seed: int) -> None:
    for values in _arrays(seed):
        for exponent in EXPONENTS:
            with np.errstate(all="ignore"):
                shifted = decimal_shift(values, exponent).tolist()
            expected = [_expected(v, exponent) for v in values.tolist()]
            wrong = [
                (v, exponent)
                for v, s, e in zip(values.tolist(), shifted, expected, strict=True)
                if not _same(s, e)
            ]
            assert not wrong


@settings(max_examples=property_examples(300), deadline=None)
@given(
    values=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=30),
    exponent=st.integers(min_value=-30, max_value=30),
)
def test_bulk_shift_property(values: list[float], exponent: int) -> None:
    with np.errstate(all="ignore"):
        shifted = decimal_shift(values, exponent).tolist()
    assert all(_same(s, _expected(v, exponent)) for v, s in zip(values, shifted, strict=True))


def test_negative_zero_stays_negative_next_to_zero() -> None:
    # np.unique holds 0.0 and -0.0 as one value; each keeps its own sign
    shifted = decimal_shift([0.0, -0.0, -0.0, 0.0], 3).tolist()
    assert [math.copysign(1.0, v) for v in shifted] == [1.0, -1.0, -1.0, 1.0]
