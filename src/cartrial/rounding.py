"""Rounding of the numbers cartrial reports: a tie goes half away from zero on the number's shortest
decimal form — the clinical reporting convention (SAS ``ROUND``), not Python's round-half-to-even on the
binary value (``round(6.25, 1)`` is 6.2, ``f"{12.5:.0f}"`` is "12"). The engines and the analysis layer
round here, so a table and a finding never disagree on a tie (D-19.189, D-19.289)."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where it is used: the CLI's start-up path (the protocol engine's
    # screening reasons, `exact_text`) must not pull it (decisions §11)
    import numpy as np
    import numpy.typing as npt


EXACT = Context(prec=64)
"""A decimal context wide enough for the exact product, or a long quotient, of numbers written with at most 17
significant digits (a float's shortest decimal form), so arithmetic on numbers as written never rounds on the
way (D-19.808, D-19.1014, D-19.1018)."""


def written(value: float | Decimal) -> Decimal:
    """`value` as the decimal it was written as: a float's shortest decimal form, its `repr` (73.3 is
    Decimal('73.3'), not the binary 73.2999…); a Decimal is kept.

    >>> written(73.3), written(1e-7), written(Decimal("1.50"))
    (Decimal('73.3'), Decimal('1E-7'), Decimal('1.50'))
    """
    return value if isinstance(value, Decimal) else Decimal(repr(float(value)))


def half_up(value: Decimal, decimals: int) -> Decimal:
    """`value` rounded to `decimals` decimals (negative: to tens, hundreds…), a tie half away from zero, in
    the `EXACT` context (the one quantize of `fixed` and of the dose rules).

    >>> half_up(Decimal("30.45"), 1), half_up(Decimal("-0.25"), 1), half_up(Decimal("32050000"), -5)
    (Decimal('30.5'), Decimal('-0.3'), Decimal('3.21E+7'))
    """
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP, context=EXACT)


def fixed(value: float, decimals: int) -> str:
    """`value` as text with `decimals` decimals, a tie rounded half away from zero.

    A value that rounds to zero is written without a sign (-0.375 to 0 decimals is "0", not "-0").

    >>> fixed(12.5, 0), fixed(63.25, 1), fixed(-0.25, 1), fixed(2.675, 2), fixed(1.0, 2), fixed(-0.375, 0)
    ('13', '63.3', '-0.3', '2.68', '1.00', '0')
    """
    if not math.isfinite(value):
        return f"{value:.{decimals}f}"
    rounded = half_up(written(value), decimals)
    return f"{abs(rounded) if rounded == 0 else rounded:f}"


def exact_text(value: Decimal | float) -> str:
    """`value` written exactly (a float as its shortest decimal, its `repr`): plain digits when the decimal
    exponent is within ±20 (``1000``, ``0.9999999999999999``, ``1500000``), exponent form otherwise
    (``1E-303``), never rounded and never `:g`'s six digits (D-19.847, D-19.908): the trailing zeros are
    dropped in a context as precise as the number itself, so a product of more than 28 digits (the default
    context's precision) is not rounded on the way (D-19.912). A zero is written without a sign (as `fixed`).

    >>> exact_text(1e6), exact_text(0.9999999999999999), exact_text(1e-303), exact_text(Decimal("1.650"))
    ('1000000', '0.9999999999999999', '1E-303', '1.65')
    >>> exact_text(Decimal("1.00000000000000040000000000000004")), exact_text(-0.0)
    ('1.00000000000000040000000000000004', '0')
    """
    given = written(value)
    if given.is_zero():
        given = abs(given)
    number = (
        given.normalize(Context(prec=max(len(given.as_tuple().digits), 1))) if given.is_finite() else given
    )
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -20 <= exponent <= 20:
        return f"{number:f}"
    return str(number)


def significant(value: float, digits: int) -> float:
    """`value` rounded to `digits` significant digits, a tie half away from zero on its shortest decimal
    form (as `fixed`; 3.665e7 to 3 digits is 3.67e7, where ``float(f"{3.665e7:.3g}")`` is 3.66e7); a zero
    is returned without a sign, NaN and infinities as given. The one significant-digit rounding of cartrial
    (a dose's significant figures, the population-PK report's ".4g" numbers; D-19.1057).

    >>> significant(3.665e7, 3), significant(1.2345, 4), significant(-2.5e-7, 1), significant(-0.0, 4)
    (36700000.0, 1.235, -3e-07, 0.0)
    >>> significant(9.9995, 4), significant(123456.0, 2)
    (10.0, 120000.0)
    """
    if digits < 1:
        raise ValueError("digits must be at least 1")
    if not math.isfinite(value):
        return value
    if value == 0:
        return 0.0
    return float(significant_decimal(written(value), digits))


def significant_decimal(value: Decimal, digits: int) -> Decimal:
    """`value` rounded to `digits` significant digits by `half_up` (a tie half away from zero; the exact dose
    rules of `cartrial.protocol.dosing`, D-19.1014, and `significant`'s one rounding).

    >>> significant_decimal(Decimal("32050000"), 3), significant_decimal(Decimal("-0.0012345"), 4)
    (Decimal('3.21E+7'), Decimal('-0.001235'))
    """
    if value.is_zero() or not value.is_finite():
        return value
    return half_up(value, digits - 1 - value.adjusted())


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
    import numpy as np

    array = np.asarray(values, dtype=float)
    if exponent == 0 or array.size == 0:
        return array.copy()
    distinct, inverse = np.unique(array, return_inverse=True)
    shifted = distinct.copy()  # NaN and infinities kept
    todo = np.flatnonzero(np.isfinite(distinct))
    # one integer at most lies within x's rounding interval scaled by 10^d when x's spacing × 10^d is < 1/4
    spacing = np.abs(np.spacing(distinct)) * 2.0
    slow: list[npt.NDArray[np.intp]] = []
    # the shortest decimal M × 10^-d of each number, found in bulk (D-19.849): at d = 0, 1, … the integer
    # nearest x × 10^d, when its quotient by 10^d reads back as x (a correctly rounded division of exact
    # numbers, so the test is exact) and no other integer can: the first such d is the number's repr
    for d in range(_FAST_DECIMALS + 1):
        if todo.size == 0:
            break
        x = distinct[todo]
        scale = 10.0**d
        product = x * scale
        mantissa = np.rint(product)
        exact = (np.abs(product) < _EXACT_INTEGERS) & (spacing[todo] * scale < 0.5)
        found = exact & (mantissa / scale == x)
        # M × 10^(exponent − d): an exact power of ten times or into an exact integer, one rounding
        power = exponent - d
        if abs(power) <= _EXACT_POWER:
            value = mantissa[found] * 10.0**power if power >= 0 else mantissa[found] / 10.0**-power
            shifted[todo[found]] = value
        else:
            slow.append(todo[found])
        slow.append(todo[~exact])  # several integers may read back: repr chooses the nearer one
        todo = todo[exact & ~found]
    slow.append(todo)
    for index in np.concatenate(slow).tolist():
        mantissa_text, _, power_text = repr(float(distinct[index])).partition("e")
        # float() of a decimal string is correctly rounded: one rounding of the exact shifted decimal
        shifted[index] = float(f"{mantissa_text}e{int(power_text or 0) + exponent}")
    # the sign of each number (np.unique holds 0.0 and -0.0 as one): -0.0 stays -0.0
    return np.copysign(shifted[inverse.reshape(-1)].reshape(array.shape), array)


_FAST_DECIMALS = 17
"""Decimals tried in bulk by `decimal_shift`; a number needing more (1e-300) is shifted through its repr."""
_EXACT_INTEGERS = 2.0**53
"""Below it the nearest integer to x × 10^d is an exact double."""
_EXACT_POWER = 22
"""10^22 is the largest power of ten that is an exact double."""


__all__ = [
    "EXACT",
    "decimal_shift",
    "exact_text",
    "fixed",
    "half_up",
    "round_half_away",
    "significant",
    "significant_decimal",
    "written",
]
