"""Rounding of the numbers cartrial reports: a tie goes half away from zero on the number's shortest
decimal form — the clinical reporting convention (SAS ``ROUND``), not Python's round-half-to-even on the
binary value (``round(6.25, 1)`` is 6.2, ``f"{12.5:.0f}"`` is "12"). The engines and the analysis layer
round here, so a table and a finding never disagree on a tie (D-19.189, D-19.289)."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import numpy.typing as npt


def fixed(value: float, decimals: int) -> str:
    """`value` as text with `decimals` decimals, a tie rounded half away from zero.

    A value that rounds to zero is written without a sign (-0.375 to 0 decimals is "0", not "-0").

    >>> fixed(12.5, 0), fixed(63.25, 1), fixed(-0.25, 1), fixed(2.675, 2), fixed(1.0, 2), fixed(-0.375, 0)
    ('13', '63.3', '-0.3', '2.68', '1.00', '0')
    """
    if not math.isfinite(value):
        return f"{value:.{decimals}f}"
    quantum = Decimal(1).scaleb(-decimals)
    rounded = Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP)
    return f"{abs(rounded) if rounded == 0 else rounded:f}"


def round_half_away(value: float, decimals: int) -> float:
    """`value` rounded to `decimals` decimals as a number, a tie half away from zero (`fixed`).

    >>> round_half_away(6.25, 1), round_half_away(-6.25, 1), round_half_away(2.5, 0)
    (6.3, -6.3, 3.0)
    """
    return float(fixed(value, decimals))


def decimal_shift(values: npt.ArrayLike, exponent: int) -> npt.NDArray[np.float64]:
    """`values` × 10^`exponent` by moving the decimal point of each number's shortest decimal form (its
    ``repr``, the decimal it was written as) and rounding once to the nearest double: the value a laboratory
    writes in the other unit (0.3 × 10^3 is 300, 1.005 × 10^3 is 1005, 0.45 × 10^-3 is 0.00045), where the
    float product is off in the last digit (1.005 * 1000 is 1004.9999999999999). NaN and infinities are
    kept. The one conversion of a value between units a power of ten apart (D-19.846).

    >>> decimal_shift([1.005, 0.3, 450.0, float("nan")], 3).tolist()[:3], decimal_shift([450.0], -3).tolist()
    ([1005.0, 300.0, 450000.0], [0.45])
    """
    array = np.asarray(values, dtype=float)
    if exponent == 0 or array.size == 0:
        return array.copy()
    distinct, inverse = np.unique(array, return_inverse=True)
    shifted = np.empty(len(distinct))
    for k, number in enumerate(distinct.tolist()):
        if math.isfinite(number):
            mantissa, _, power = repr(number).partition("e")
            # float() of a decimal string is correctly rounded: one rounding of the exact shifted decimal
            shifted[k] = float(f"{mantissa}e{int(power or 0) + exponent}")
        else:
            shifted[k] = number
    return shifted[inverse.reshape(-1)].reshape(array.shape)


__all__ = ["decimal_shift", "fixed", "round_half_away"]
