"""Property: a constant profile (docs/science/cellular-kinetics.md §2.2, §2.4, §2.5).

A level c held from the first sample to the last has AUClast = AUCall = c·(Tlast − T0) by every AUC method
(the log trapezoid's limit at C1 = C2 is the linear one), AUMClast = c·(Tlast² − T0²)/2, Cmax = c at the first
sample (first occurrence), no terminal phase (slope 0: lambda_z not estimable), and every partial AUC inside
the samples c·(b − a), whether its ends are sampled or interpolated.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.kinetics.nca import AucMethod, NcaOptions, interval_column, nca_arrays


@settings(max_examples=property_examples(150), deadline=None)
@given(
    level=st.floats(min_value=1e-3, max_value=1e6),
    n=st.integers(min_value=3, max_value=10),
    step=st.floats(min_value=0.1, max_value=30.0),
    method=st.sampled_from(list(AucMethod)),
    fraction=st.floats(min_value=0.05, max_value=0.45),
)
def test_constant_profile(level: float, n: int, step: float, method: AucMethod, fraction: float) -> None:
    t = np.arange(n, dtype=float)[None, :] * step
    c = np.full_like(t, level)
    tlast = float(t[0, -1])
    a, b = fraction * tlast, (1.0 - fraction) * tlast
    options = NcaOptions(auc_method=method, intervals=((a, b), (0.0, tlast)))
    values, reasons = nca_arrays(t, c, np.ones_like(t, dtype=bool), options)
    assert values["cmax"][0] == level and values["tmax"][0] == 0.0
    assert values["tlast"][0] == tlast and values["clast"][0] == level
    assert values["auclast"][0] == pytest.approx(level * tlast, rel=1e-12)
    assert values["aucall"][0] == pytest.approx(level * tlast, rel=1e-12)
    assert values["aumclast"][0] == pytest.approx(level * tlast**2 / 2.0, rel=1e-12)
    assert math.isnan(values["lambda_z"][0]) and reasons["lambda_z"][0] != ""
    for kind in ("last", "all"):
        assert values[interval_column(a, b, prefix=f"aucint_{kind}")][0] == pytest.approx(
            level * (b - a), rel=1e-9
        )
        assert values[interval_column(0, tlast, prefix=f"aucint_{kind}")][0] == pytest.approx(
            level * tlast, rel=1e-12
        )
