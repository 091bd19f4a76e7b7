"""A time-0 sample dropped by a BLQ rule is no sample at time 0 (D-19.968, after D-19.153).

Sources: PKNCA ``R/cleaners.R`` (``clean.conc.blq`` runs before ``pk.calc.auxc``, so a dropped BLQ sample is
gone from the integration) and ``R/auc.R`` ("Requesting an AUC range starting before the first measurement
is not allowed": missing without imputation); ``impute = "start_conc0"`` / Phoenix insert 0 at the dose
(docs/science/decisions.md D-19.153). Expected values are hand calculations (lin-up/log-down, §2.2).

Profile 0 (BLQ), 10, 5, 2.5 at days 0, 1, 2, 4: from a 0 at the dose, AUClast = 10·1/2 + 5/ln 2 + 5/ln 2
= 5 + 10/ln 2 = 19.426950; the old engine integrated from day 1 (10/ln 2 = 14.426950) when the day-0 BLQ was
dropped, an AUC "from the dose" without its first day.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from cartrial.kinetics.nca import NcaOptions, nca_arrays

T = np.array([[0.0, 1.0, 2.0, 4.0]])
C = np.array([[0.0, 10.0, 5.0, 2.5]])
FROM_DOSE = 5.0 + 10.0 / math.log(2.0)


@pytest.mark.parametrize(
    "options",
    [NcaOptions(blq_first="drop"), NcaOptions(blq_before_tmax="drop", blq_after_tmax="keep"), NcaOptions()],
    ids=["first-drop", "before-tmax-drop", "keep"],
)
def test_zero_at_the_dose_when_the_time0_blq_is_dropped(options: NcaOptions) -> None:
    values, reasons = nca_arrays(T, C, np.ones_like(T, dtype=bool), options)
    assert values["auclast"][0] == pytest.approx(FROM_DOSE, rel=1e-12)
    # AUMClast: 1·(1·10)/2 on the linear rise, then the two log-down segments as the docs' formula
    k = math.log(2.0)
    aumc_down = (1 * 10 - 2 * 5) / (k / 1) + (10 - 5) / (k / 1) ** 2
    aumc_down += (2 * 5 - 4 * 2.5) / (k / 2) + (5 - 2.5) / (k / 2) ** 2
    assert values["aumclast"][0] == pytest.approx(5.0 + aumc_down, rel=1e-12)
    assert reasons["auclast"][0] == ""


def test_not_estimable_when_the_time0_blq_is_dropped() -> None:
    """missing_time0 = not_estimable (PKNCA without imputation): the AUCs from the dose are missing."""
    options = NcaOptions(blq_first="drop", missing_time0="not_estimable")
    values, reasons = nca_arrays(T, C, np.ones_like(T, dtype=bool), options)
    assert math.isnan(values["auclast"][0]) and math.isnan(values["aumclast"][0])
    assert "no kept sample at time 0 (dropped by a BLQ rule)" in reasons["auclast"][0]
    assert values["cmax"][0] == 10.0  # the sample-based parameters are unchanged
