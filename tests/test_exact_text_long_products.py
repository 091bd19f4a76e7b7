"""`rounding.exact_text` writes a long exact product without rounding it (D-19.912): it normalized in the
default 28-digit context, so the screening's 64-digit k × ULN (`screening._EXACT`) was shown rounded and a
"NOT MET" reason showed the result equal to the limit. A zero is written without a sign, as `fixed`."""

from __future__ import annotations

from decimal import Context, Decimal

from hypothesis import given
from hypothesis import strategies as st

from cartrial.protocol import CriterionStatus
from cartrial.rounding import exact_text

from .protocol.test_screening_as_of_and_uln import lab, result_of, uln_rule


def test_a_product_of_33_digits_is_written_whole() -> None:
    # 1.0000000000000002 squared, by hand: 1 + 2 x 2e-16 + 4e-32
    assert exact_text(Decimal("1.00000000000000040000000000000004")) == "1.00000000000000040000000000000004"
    assert exact_text(Decimal("123456789012345678901234567890.5")) == "123456789012345678901234567890.5"


def test_a_negative_zero_has_no_sign() -> None:
    assert exact_text(-0.0) == "0"
    assert exact_text(Decimal("-0.000")) == "0"
    assert exact_text(Decimal("-0E+5")) == "0"


def test_the_screening_reason_does_not_show_the_result_equal_to_the_limit() -> None:
    """ALT 1.0000000000000004 against "≥ 1.0000000000000002 × ULN" with ULN 1.0000000000000002: the limit is
    1.00000000000000040000000000000004 by hand, above the result, so not met; the reason showed the limit
    rounded to 28 digits, 1.0000000000000004, the result's own digits."""
    rule = uln_rule("alt", ">=", 1.0000000000000002)
    criterion = result_of(rule, lab("alt", 1.0000000000000004, "U/L", 1.0000000000000002)).criteria[0]
    assert criterion.status is CriterionStatus.NOT_MET
    assert "x ULN = 1.00000000000000040000000000000004 U/L" in criterion.reason
    assert "x ULN = 1.0000000000000004 U/L" not in criterion.reason


finite = st.floats(allow_nan=False, allow_infinity=False)


@given(finite, finite)
def test_an_exact_product_reads_back_as_itself(a: float, b: float) -> None:
    """The product of two floats' shortest decimals in the screening's 64-digit context (exact: at most 34
    digits) is written so that it reads back as the same number, with no sign on a zero."""
    product = Context(prec=64).multiply(Decimal(repr(a)), Decimal(repr(b)))
    text = exact_text(product)
    assert Decimal(text) == product
    assert not text.startswith("-0") or Decimal(text) != 0
    assert text != "-0"
