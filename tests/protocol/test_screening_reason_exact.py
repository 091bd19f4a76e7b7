"""The screening reason shows the numbers it compared exactly (D-19.847): a result just below the threshold
is never printed as the threshold itself, and a tiny value is not written out as hundreds of zeros."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.protocol.test_protocol_screening import protocol_with

from cartrial.protocol import Candidate, CriterionStatus, screen

SCREENING = "2024-03-15"
ANC = {"type": "lab_threshold", "analyte": "neutrophils", "comparator": ">=", "value": 1.0, "unit": "10^9/L"}


def _criterion(value: float, unit: str) -> Any:
    candidate = Candidate.model_validate(
        {
            "id": "X",
            "screening_date": SCREENING,
            "labs": [{"analyte": "neutrophils", "value": value, "unit": unit, "date": "2024-03-10"}],
        }
    )
    return screen(protocol_with({"rule": ANC, "kind": "inclusion"}), candidate).criteria[0]


def test_just_below_the_threshold_is_shown_below_it() -> None:
    value = 999.9999999999999  # the float below 1000: 0.9999999999999999 × 10^9/L, below 1.0
    criterion = _criterion(value, "cells/mm³")
    assert criterion.status is CriterionStatus.NOT_MET
    assert f"{value!r} cells/mm³ = 0.9999999999999999 10^9/L" in criterion.reason
    assert "1000 cells/mm³" not in criterion.reason


def test_same_unit_value_is_shown_exactly() -> None:
    value = 0.9999999999999999
    criterion = _criterion(value, "10^9/L")
    assert criterion.status is CriterionStatus.NOT_MET
    assert f"{value!r} 10^9/L" in criterion.reason


def test_tiny_value_is_shown_in_exponent_form_not_hundreds_of_zeros() -> None:
    criterion = _criterion(1e-300, "/µL")
    assert criterion.status is CriterionStatus.NOT_MET
    assert len(criterion.reason) < 200
    # the converted value is 1e-303 × 10^9/L exactly (10^-3 per /µL), shown in a form that reads back to it
    shown = criterion.reason.split(" = ")[1].split(" ")[0]
    assert Decimal(shown) == Decimal("1e-303")
