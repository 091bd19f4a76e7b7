"""A sample flagged BLQ whose value is at its LLOQ contradicts itself, in the NCA's reader as in the store
(docs/science/decisions.md D-19.1106).

Before: the store refused ``blq = true`` with ``value >= lloq`` (record rule ``PK-BLQ-AT-OR-ABOVE-LLOQ``,
D-19.165) while the kinetics reader (`validate_profiles`, which `cartrial nca`, `kinetics fit` and `popfit`
read files with) refused only ``value > lloq``: a row flagged BLQ at exactly its LLOQ was analysed as 0 by
``cartrial nca`` and refused on import — one row, two rules. Its refusal also quoted the LLOQ of the row
("≤ the LLOQ (50)"), another cell's value (D-12.2).

Oracle: ICH M10 (2022) §2.2 / FDA Bioanalytical Method Validation guidance (2018): the LLOQ is the lowest
concentration that is quantified with acceptable accuracy and precision, so a value at the LLOQ is a
quantified value and cannot be below the limit of quantification.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import InputError
from cartrial.kinetics.frames import derive_nca, validate_profiles
from cartrial.store.fields import RECORD_RULES

STORE_RULE = next(rule for rule in RECORD_RULES if rule.id == "PK-BLQ-AT-OR-ABOVE-LLOQ")


def _frame(value: float, lloq: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["S1"] * 4,
            "day": [0.0, 7.0, 14.0, 28.0],
            "value": ["", "900", "300", repr(value)],
            "lloq": [repr(lloq)] * 4,
            "blq": ["true", "false", "false", "true"],
        }
    )


def _reader_refuses(value: float, lloq: float) -> bool:
    _, problems = validate_profiles(
        _frame(value, lloq),
        subject="id",
        time="day",
        conc="value",
        blq_column="blq",
        lloq_column="lloq",
        keep_going=True,
    )
    return any(p.field == "value" and p.row == 5 for p in problems.all())


def test_a_blq_flag_at_the_lloq_is_refused_at_its_row_without_the_lloq() -> None:
    with pytest.raises(InputError) as info:
        derive_nca(
            _frame(50.0, 50.0),
            subject="id",
            time="day",
            conc="value",
            blq_column="blq",
            lloq_column="lloq",
            time_unit="day",
            conc_unit="copies/ug",
            source="pk.csv",
        )
    (problem,) = info.value.problems
    assert (problem.file, problem.row, problem.field) == ("pk.csv", 5, "value")
    assert "50" not in problem.message and "50" not in (problem.allowed or "")


def test_a_blq_flag_below_the_lloq_is_accepted() -> None:
    assert not _reader_refuses(49.5, 50.0)


@settings(max_examples=property_examples(200), deadline=None)
@given(
    value=st.floats(0, 1e4, allow_nan=False) | st.sampled_from([50.0, 49.999999, 50.000001]),
    lloq=st.floats(0.01, 1e4, allow_nan=False) | st.just(50.0),
)
def test_the_reader_and_the_store_refuse_the_same_rows(value: float, lloq: float) -> None:
    """One rule: the NCA reader refuses a BLQ-flagged value exactly when the store's record rule does."""
    stored = STORE_RULE.violated({"blq": True, "value": value, "lloq": lloq})
    assert _reader_refuses(value, lloq) == stored
