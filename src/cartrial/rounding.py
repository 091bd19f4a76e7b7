"""Rounding of the numbers cartrial reports: a tie goes half away from zero on the number's shortest
decimal form — the clinical reporting convention (SAS ``ROUND``), not Python's round-half-to-even on the
binary value (``round(6.25, 1)`` is 6.2, ``f"{12.5:.0f}"`` is "12"). The engines and the analysis layer
round here, so a table and a finding never disagree on a tie (D-19.189, D-19.289)."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal


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


__all__ = ["fixed", "round_half_away"]
