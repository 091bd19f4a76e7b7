"""The reason of a "k × ULN" lab rule shows the numbers the screening compared, exactly (D-19.908, the
rule of D-19.847 for the ULN branch): the result, the upper limit of normal and k × ULN as decimals, never
`:g` (six significant digits, ``1.5e+06``) nor a rounded binary ratio (``1 x ULN`` beside "not met")."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.protocol import CriterionStatus

from .test_screening_as_of_and_uln import lab, result_of, uln_rule

MET, NOT_MET = CriterionStatus.MET, CriterionStatus.NOT_MET


def test_a_result_just_above_the_limit_is_not_shown_as_the_limit() -> None:
    """ALT 120.0000001 U/L with ULN 40 against "≤ 3 × ULN": 3 × 40 = 120 by hand, the result is above it,
    not met; the reason showed "120 U/L = 3 x ULN (ULN 40)" (`:g`, `.3g`)."""
    result = result_of(uln_rule("alt", "<=", 3), lab("alt", 120.0000001, "U/L", 40))
    criterion = result.criteria[0]
    assert criterion.status is NOT_MET
    assert "120.0000001 U/L" in criterion.reason
    assert "3 x ULN = 120 U/L" in criterion.reason
    assert "(ULN 40 U/L)" in criterion.reason
    assert "120 U/L = 3 x ULN" not in criterion.reason


def test_a_large_result_is_written_in_plain_digits() -> None:
    """LDH 1500000 U/L with ULN 250000 against "< 5 × ULN": 5 × 250000 = 1250000 by hand; not met. `:g`
    wrote 1.5e+06 and 250000 as 250000, the limit nowhere."""
    result = result_of(uln_rule("ldh", "<", 5), lab("ldh", 1_500_000, "U/L", 250_000))
    criterion = result.criteria[0]
    assert criterion.status is NOT_MET
    assert "e+" not in criterion.reason
    assert "1500000 U/L" in criterion.reason
    assert "5 x ULN = 1250000 U/L" in criterion.reason
    assert "(ULN 250000 U/L)" in criterion.reason


def test_the_boundary_example_reads_as_compared() -> None:
    """Creatinine 1.65 mg/dL, ULN 1.1, "≥ 1.5 × ULN": 1.5 × 1.1 = 1.65 by hand (D-19.808), met."""
    criterion = result_of(uln_rule("creatinine", ">=", 1.5), lab("creatinine", 1.65, "mg/dL", 1.1)).criteria[
        0
    ]
    assert criterion.status is MET
    assert "creatinine 1.65 mg/dL against 1.5 x ULN = 1.65 mg/dL (ULN 1.1 mg/dL)" in criterion.reason


@settings(max_examples=property_examples(60), deadline=None)
@given(
    value_thousandths=st.integers(min_value=1, max_value=10**9),
    uln_hundredths=st.integers(min_value=1, max_value=10**6),
    multiple_tenths=st.integers(min_value=1, max_value=100),
)
def test_the_reason_shows_the_result_and_the_limit_as_written(
    value_thousandths: int, uln_hundredths: int, multiple_tenths: int
) -> None:
    """Whatever the numbers, the reason holds the result and k × ULN as decimals (expected by
    `decimal.Decimal` from the integers drawn, not by the screening) and never an exponent."""
    value = Decimal(value_thousandths).scaleb(-3)
    uln = Decimal(uln_hundredths).scaleb(-2)
    multiple = Decimal(multiple_tenths).scaleb(-1)
    criterion = result_of(
        uln_rule("alt", "<=", float(multiple)), lab("alt", float(value), "U/L", float(uln))
    ).criteria[0]
    assert f"alt {value.normalize():f} U/L against" in criterion.reason
    assert f"= {(multiple * uln).normalize():f} U/L" in criterion.reason
    assert "e+" not in criterion.reason and "E+" not in criterion.reason
    assert criterion.status is (MET if value <= multiple * uln else NOT_MET)
