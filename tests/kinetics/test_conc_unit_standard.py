"""Units of one dimension are one unit: converted by the exact factor into the dimension's standard unit
(`cartrial.kinetics.units`, docs/science/decisions.md D-19.781).

Before: "cells/uL" and "cells/mL" (or copies/ug gDNA and copies/ng gDNA) were two units: two NCA groups, a
profile holding both refused as "differs within one profile", popfit refused the table. Expected values by
hand from the SI prefixes: 1 mL = 1000 uL, so 2.5 cells/uL = 2500 cells/mL; 1 ug = 1000 ng, so 3 copies/ng
gDNA = 3000 copies/ug gDNA; 1 L = 10^6 uL, so 5,000,000 cells/L = 5 cells/uL; 1 mm³ = 1 uL.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.kinetics import derive_nca, derive_stein2019_fits
from cartrial.kinetics.units import conversion_notes, standard_conc_unit, to_standard

# unit: (standard unit, factor into it), by hand from the prefixes (not from the code)
HAND = {
    "cells/uL": ("cells/uL", Fraction(1)),
    "cells/\u00b5L": ("cells/uL", Fraction(1)),
    "cells/mL": ("cells/uL", Fraction(1, 1000)),
    "cells/ml": ("cells/uL", Fraction(1, 1000)),
    "cells/L": ("cells/uL", Fraction(1, 10**6)),
    "cells/dL": ("cells/uL", Fraction(1, 10**5)),
    "cells/nL": ("cells/uL", Fraction(1000)),
    "cells/mm3": ("cells/uL", Fraction(1)),
    "copies/ug gDNA": ("copies/ug gDNA", Fraction(1)),
    "copies/ng gDNA": ("copies/ug gDNA", Fraction(1000)),
    "copies/mg gDNA": ("copies/ug gDNA", Fraction(1, 1000)),
    "copies/pg gDNA": ("copies/ug gDNA", Fraction(10**6)),
    "copies/mL": ("copies/mL", Fraction(1)),
    "copies/uL": ("copies/mL", Fraction(1000)),
    "copies/L": ("copies/mL", Fraction(1, 1000)),
}


def test_hand_computed_conversions() -> None:
    values, units, _ = to_standard(
        [2500.0, 2.5, 3.0, 2.0, 5_000_000.0, 7.0],
        ["cells/mL", "cells/uL", "copies/ng gDNA", "copies/uL", "cells/L", "cells/mm3"],
    )
    assert values.tolist() == [2.5, 2.5, 3000.0, 2000.0, 5.0, 7.0]
    assert units == ["cells/uL", "cells/uL", "copies/ug gDNA", "copies/mL", "cells/uL", "cells/uL"]
    for unit, (standard, factor) in HAND.items():
        found = standard_conc_unit(unit)
        assert (found.unit, found.factor) == (standard, factor), unit


@pytest.mark.parametrize(
    "unit",
    ["copies/ug", "mg/L", "CAR+ cells/uL", "cells/ML", "copies/ug DNA", "cells/ug gDNA", "cells/kg", "%"],
)
def test_units_of_no_known_dimension_are_kept_as_recorded(unit: str) -> None:
    """ "copies/ug" does not say what was weighed; "ML" is a megalitre (case is a prefix); cells per DNA mass
    and a dose unit are no concentration of the three dimensions."""
    found = standard_conc_unit(unit)
    assert (found.unit, found.factor, found.dimension) == (unit, Fraction(1), "")


def test_two_dimensions_are_never_converted_into_each_other() -> None:
    _, units, _ = to_standard([1.0, 1.0, 1.0], ["copies/ug gDNA", "copies/mL", "cells/uL"])
    assert units == ["copies/ug gDNA", "copies/mL", "cells/uL"]


@settings(max_examples=property_examples(200), deadline=None)
@given(
    value=st.floats(min_value=1e-6, max_value=1e12, allow_nan=False, allow_infinity=False),
    unit=st.sampled_from(sorted(HAND)),
)
def test_conversion_is_the_correctly_rounded_decimal_shift(value: float, unit: str) -> None:
    """The converted value is the float nearest to the value as written (its shortest decimal, `repr`) times
    the factor computed exactly (D-19.846: the decimal point moved, rounded once), not the binary float's
    exact product (136174.15388854686 for 136174153888.54688 cells/L; PC.PCSTRESC 136174.1538885469)."""
    converted, _, _ = to_standard([value], [unit])
    assert converted[0] == float(Fraction(repr(value)) * HAND[unit][1])


@settings(max_examples=property_examples(200), deadline=None)
@given(
    value=st.floats(min_value=1e-6, max_value=1e12, allow_nan=False, allow_infinity=False),
    unit=st.sampled_from(sorted(HAND)),
)
def test_conversion_round_trips(value: float, unit: str) -> None:
    """A value in the standard unit written in another unit of its dimension (÷ factor, exactly rounded)
    converts back to the value, to within the three roundings on the way: the division (2^-53 relative),
    the shortest decimal the recorded float is written as (2^-53, D-19.846 shifts that decimal) and the
    shift's one rounding (2^-53). Changed by design with D-19.846: the bound was one rounding (2^-52) while
    the conversion multiplied the float itself; 68460135434.40279 cells/uL written 68460135.4344028 cells/nL
    now comes back as 68460135434.4028, the decimal written shifted exactly."""
    recorded = float(Fraction(value) / HAND[unit][1])
    back, _, _ = to_standard([recorded], [unit])
    assert math.isclose(back[0], value, rel_tol=3 * 2.0**-53, abs_tol=0.0)
    assert back[0] == float(Fraction(repr(recorded)) * HAND[unit][1])  # the written decimal, shifted exactly


PROFILE = [(0.0, 0.0), (7.0, 40.0), (14.0, 25.0), (21.0, 10.0), (28.0, 4.0)]


def _table(units: dict[str, str], factors: dict[str, int], lloq: float = 0.5) -> pd.DataFrame:
    rows = []
    for sid, unit in units.items():
        for day, value in PROFILE:
            blq = value == 0.0
            rows.append(
                {
                    "id": sid,
                    "t": day,
                    "c": "" if blq else value * factors[sid],
                    "blq": blq,
                    "lloq": lloq * factors[sid],
                    "unit": unit,
                }
            )
    return pd.DataFrame(rows)


def test_nca_of_cells_per_ml_equals_nca_of_the_same_profile_in_cells_per_ul() -> None:
    """Failing first: two groups (conc_unit cells/uL and cells/mL), B's Cmax 40,000. By hand: B's values
    are A's × 1000 in cells/mL, i.e. A's in cells/uL: Cmax 40 cells/uL for both, one unit, and the note
    names the conversion."""
    table = _table({"A": "cells/uL", "B": "cells/mL"}, {"A": 1, "B": 1000})
    result = derive_nca(
        table, subject="id", time="t", conc="c", blq_column="blq", lloq_column="lloq", unit_column="unit"
    )
    nca = result.table.set_index("id")
    assert list(nca["conc_unit"]) == ["cells/uL", "cells/uL"]
    assert nca.loc["A", "cmax"] == nca.loc["B", "cmax"] == 40.0
    assert nca.loc["A", "auclast"] == nca.loc["B", "auclast"]
    assert list(result.metadata()["units_by_conc_unit"]) == ["cells/uL"]
    assert "concentrations recorded in cells/mL converted to cells/uL (× 1/1000; D-19.781)" in result.notes


def test_one_profile_in_two_units_of_one_dimension_is_one_profile() -> None:
    """Failing first: "unit: differs within one profile". By hand: the day-7 and day-14 samples in
    cells/mL (40,000 and 25,000) are 40 and 25 cells/uL."""
    table = _table({"A": "cells/uL"}, {"A": 1})
    table.loc[[1, 2], "unit"] = "cells/mL"
    table.loc[[1, 2], "c"] = [40_000.0, 25_000.0]
    nca = derive_nca(table, subject="id", time="t", conc="c", blq_column="blq", unit_column="unit").table
    assert (nca["conc_unit"].tolist(), nca["cmax"].tolist(), nca["tmax"].tolist()) == (
        ["cells/uL"],
        [40.0],
        [7.0],
    )


def test_a_conc_unit_option_is_converted_too_and_the_common_lloq_with_it() -> None:
    """conc_unit="copies/ng gDNA": values × 1000 into copies/ug gDNA; the common LLOQ 0.5 copies/ng gDNA
    is 500 copies/ug gDNA (the half-LLOQ rule gives the BLQ sample 250)."""
    table = _table({"A": "x"}, {"A": 1}).drop(columns=["unit", "lloq"])
    result = derive_nca(
        table, subject="id", time="t", conc="c", blq_column="blq", conc_unit="copies/ng gDNA", lloq=0.5
    )
    row = result.table.iloc[0]
    assert (row["conc_unit"], row["cmax"]) == ("copies/ug gDNA", 40_000.0)
    assert result.units["auclast"] == "copies·day/ug gDNA"


def test_the_common_lloq_is_converted_with_each_rows_unit() -> None:
    """lloq=0.5 for every sample, in each row's recorded unit: 0.5 cells/mL is 0.0005 cells/uL. Under
    half_lloq the BLQ day-0 sample of B (cells/mL) is 0.00025 cells/uL, of A (cells/uL) 0.25: by hand the
    linear AUC over day 0-7 differs by (0.25 - 0.00025) × 7 / 2."""
    from cartrial.kinetics.nca import NcaOptions

    table = _table({"A": "cells/uL", "B": "cells/mL"}, {"A": 1, "B": 1000}).drop(columns=["lloq"])
    options = NcaOptions(blq_first="half_lloq", auc_method="linear")
    nca = derive_nca(
        table,
        subject="id",
        time="t",
        conc="c",
        blq_column="blq",
        unit_column="unit",
        lloq=0.5,
        options=options,
    ).table.set_index("id")
    assert math.isclose(
        nca.loc["A", "auclast"] - nca.loc["B", "auclast"], (0.25 - 0.00025) * 7 / 2, rel_tol=1e-9
    )


def test_the_stein_fit_reads_the_converted_values() -> None:
    """Failing first: value_unit cells/mL for B and an observed Cmax of 40,000."""
    table = _table({"A": "cells/uL", "B": "cells/mL"}, {"A": 1, "B": 1000})
    fits = derive_stein2019_fits(
        table, subject="id", time="t", conc="c", blq_column="blq", lloq_column="lloq", unit_column="unit"
    ).table.set_index("id")
    assert fits["value_unit"].tolist() == ["cells/uL", "cells/uL"]
    assert fits["observed_cmax"].tolist() == [40.0, 40.0]


@settings(max_examples=property_examples(10), deadline=None)
@given(
    levels=st.lists(st.integers(min_value=1, max_value=10**6), min_size=4, max_size=4),
    per_ml=st.lists(st.booleans(), min_size=3, max_size=3),
)
def test_nca_of_converted_data_equals_nca_of_data_entered_in_the_standard_unit(
    levels: list[int], per_ml: list[bool]
) -> None:
    """Integers × 1000 in cells/mL convert exactly, so every parameter equals the one of the same profiles
    entered in cells/uL."""
    sids = ["A", "B", "C"]
    rows_std, rows_mixed = [], []
    for k, sid in enumerate(sids):
        for day, value in zip((0.0, 7.0, 14.0, 28.0, 42.0), [0, *levels], strict=True):
            scaled = value * (k + 1)
            rows_std.append({"id": sid, "t": day, "c": float(scaled), "unit": "cells/uL"})
            unit, recorded = ("cells/mL", float(scaled * 1000)) if per_ml[k] else ("cells/uL", float(scaled))
            rows_mixed.append({"id": sid, "t": day, "c": recorded, "unit": unit})
    kwargs = {"subject": "id", "time": "t", "conc": "c", "unit_column": "unit"}
    expected = derive_nca(pd.DataFrame(rows_std), **kwargs).table.set_index("id").sort_index()  # type: ignore[arg-type]
    found = derive_nca(pd.DataFrame(rows_mixed), **kwargs).table.set_index("id").sort_index()  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(found, expected)


def test_conversion_notes_name_each_converted_unit_once() -> None:
    assert conversion_notes(["cells/uL", "cells/mL", "cells/mL", "", None, "mg/L", "copies/ng gDNA"]) == [
        "concentrations recorded in cells/mL converted to cells/uL (× 1/1000; D-19.781)",
        "concentrations recorded in copies/ng gDNA converted to copies/ug gDNA (× 1000; D-19.781)",
    ]
