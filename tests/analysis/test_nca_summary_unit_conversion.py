"""An analyte recorded in two units of one dimension is one summary in the standard unit (D-19.781).

Before: a subject's transgene in copies/ng gDNA beside the others' copies/ug gDNA gave two nca_summary rows
(and two medians, two persistence units), as if of two dimensions (D-19.758 kept units apart, converting
none). By hand: 1 ug = 1000 ng, so N1's profile entered as FULL / 1000 copies/ng gDNA is FULL in copies/ug
gDNA — the summary equals that of the three subjects all entered in copies/ug gDNA: Cmax 1000, 2000, 1000,
geometric mean (1000 · 2000 · 1000)^(1/3).
"""

from __future__ import annotations

import math

import pandas as pd

from cartrial.analysis.kinetics import median_by_day, nca_datasets
from cartrial.analysis.model import Population
from cartrial.analysis.populations import SAFETY
from cartrial.protocol.analysis_spec import AnalysisOptions

from .test_interval_auc_coverage import FULL, _tables

PROFILES = {"S1": FULL, "S2": [(d, 2 * c) for d, c in FULL], "N1": FULL}


def _datasets(convert: bool) -> dict:
    tables = _tables(PROFILES)
    pk = tables["pk_samples"]
    if convert:
        mask = pk["subject_id"] == "N1"
        pk.loc[mask, "unit"] = "copies/ng gDNA"
        pk.loc[mask, "value"] = [v / 1000 if v != "" else v for v in pk.loc[mask, "value"]]
    populations = {SAFETY: Population(SAFETY, "infused", tuple(PROFILES), {})}
    spec = AnalysisOptions(nca_options={"auc_method": "linear"})  # type: ignore[arg-type]
    return nca_datasets(tables, populations, spec)


def test_one_summary_in_the_standard_unit_equal_to_data_entered_in_it() -> None:
    """Failing first: two conc_unit groups (copies/ug gDNA n = 2, copies/ng gDNA n = 1)."""
    converted, entered = _datasets(True), _datasets(False)
    summary = converted["nca_summary"].table
    cmax = summary[(summary["parameter"] == "cmax") & (summary["group"] == "all")]
    assert cmax["conc_unit"].tolist() == ["copies/ug gDNA"]
    assert int(cmax["n"].iat[0]) == 3
    assert math.isclose(cmax["geometric_mean"].iat[0], (1000.0 * 2000.0 * 1000.0) ** (1 / 3), rel_tol=1e-12)
    keys = ["analyte", "conc_unit", "group", "parameter"]
    pd.testing.assert_frame_equal(
        summary.sort_values(keys).reset_index(drop=True),
        entered["nca_summary"].table.sort_values(keys).reset_index(drop=True),
        rtol=1e-12,
    )
    assert any(
        "copies/ng gDNA converted to copies/ug gDNA (× 1000" in n for n in converted["nca_summary"].notes
    )


def test_the_persistence_value_is_in_the_standard_unit() -> None:
    """Failing first: N1's last quantifiable value 0.1 (copies/ng gDNA) under conc_unit copies/ug gDNA. By
    hand: day 28, 100 copies/ug gDNA."""
    persistence = _datasets(True)["persistence"].table.set_index("subject_id")
    assert persistence.loc["N1", "last_quantifiable_value"] == 100.0
    assert persistence.loc["N1", "conc_unit"] == "copies/ug gDNA"


def test_the_median_by_day_pools_one_dimension() -> None:
    """Failing first: a copies/ng gDNA row with median 1. By hand: day 7 values 1000, 2000, 1000 → 1000."""
    tables = _tables(PROFILES)
    pk = tables["pk_samples"]
    mask = pk["subject_id"] == "N1"
    pk.loc[mask, "unit"] = "copies/ng gDNA"
    pk.loc[mask, "value"] = [v / 1000 if v != "" else v for v in pk.loc[mask, "value"]]
    medians = median_by_day(pk, {"S1": 1, "S2": 1, "N1": 1})
    day7 = medians[medians["nominal_day"] == 7]
    assert (day7["unit"].tolist(), day7["median"].tolist(), day7["n"].tolist()) == (
        ["copies/ug gDNA"],
        [1000.0],
        [3],
    )
