"""popfit reads units of one dimension as one, in the standard unit (D-19.781).

Before: a table with one subject in cells/uL and another in cells/mL was refused ("the samples of this
analyte are in more than one unit"). By hand: B's 40,000 cells/mL is 40 cells/uL (1 mL = 1000 uL), and the
common LLOQ 500 (in B's recorded unit, cells/mL) is 0.5 cells/uL.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cartrial.kinetics.popfit.data import PopulationData

PROFILE = [(0.0, None), (7.0, 40.0), (14.0, 25.0), (21.0, 10.0), (28.0, 4.0)]


def test_two_units_of_one_dimension_are_one_value_unit() -> None:
    rows = []
    for sid, unit, factor in (("A", "cells/uL", 1), ("B", "cells/mL", 1000)):
        for day, value in PROFILE:
            rows.append(
                {
                    "subject_id": sid,
                    "actual_day": day,
                    "value": "" if value is None else value * factor,
                    "blq": value is None,
                    "lloq": 0.5 * factor,
                    "unit": unit,
                }
            )
    data = PopulationData.from_frame(pd.DataFrame(rows), analyte_column=None, analyte=None)
    assert data.value_unit == "cells/uL"
    assert data.subjects == ("A", "B")
    assert np.array_equal(data.y[0], data.y[1], equal_nan=True)
    assert data.y[1].tolist()[1:] == [40.0, 25.0, 10.0, 4.0]
    assert data.lloq[1].tolist() == [0.5] * 5


def test_a_common_lloq_is_in_each_rows_recorded_unit() -> None:
    """--lloq 0.5 with no LLOQ column: 0.5 cells/uL for A, 0.5 cells/mL = 0.0005 cells/uL for B."""
    rows = [
        {"subject_id": sid, "actual_day": day, "value": value, "unit": unit}
        for sid, unit in (("A", "cells/uL"), ("B", "cells/mL"))
        for day, value in ((7.0, 40.0), (14.0, 25.0), (21.0, 10.0))
    ]
    data = PopulationData.from_frame(
        pd.DataFrame(rows), analyte_column=None, analyte=None, blq_column=None, lloq_column=None, lloq=0.5
    )
    assert data.lloq[0].tolist() == [0.5] * 3
    assert data.lloq[1].tolist() == [0.0005] * 3


def test_converted_units_are_noted_and_so_is_a_concentration_scale_typed_value() -> None:
    """Before: --initial/--fix cmax was silently read in the standard unit after a conversion, with no note.
    Now the data (estimates.json data) carry the conversion note, and a typed cmax is noted as read in
    cells/uL, the standard unit; beta_per_day (1/day) is no concentration and is not named."""
    from cartrial.kinetics.popfit.data import typed_values_note
    from cartrial.kinetics.popfit.structural import STEIN2019

    rows = [
        {"subject_id": sid, "actual_day": day, "value": value, "unit": unit}
        for sid, unit in (("A", "cells/uL"), ("B", "cells/mL"))
        for day, value in ((7.0, 40.0), (14.0, 25.0), (21.0, 10.0))
    ]
    data = PopulationData.from_frame(
        pd.DataFrame(rows), analyte_column=None, analyte=None, blq_column=None, lloq_column=None
    )
    assert data.summary()["conversion_notes"] == [
        "concentrations recorded in cells/mL converted to cells/uL (× 1/1000; D-19.781)"
    ]
    note = typed_values_note(STEIN2019, ["cmax", "beta_per_day"], data)
    assert note is not None and "cmax read in cells/uL" in note and "beta" not in note
    assert typed_values_note(STEIN2019, ["beta_per_day"], data) is None
    same = PopulationData.from_frame(
        pd.DataFrame([r for r in rows if r["subject_id"] == "A"]),
        analyte_column=None,
        analyte=None,
        blq_column=None,
        lloq_column=None,
        min_subjects=1,
    )
    assert typed_values_note(STEIN2019, ["cmax"], same) is None
