"""An extreme parameter proposal gives NaN, not a numpy warning on the user's terminal (D-19.403): a
one-compartment SAEM fit of the Theophylline data (`kinetics popfit --model one_compartment_oral`) printed
"RuntimeWarning: invalid value encountered in divide — k = cl / v" when a proposal's V reached 0 or ∞."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from cartrial.kinetics.popfit.structural import predict_one_compartment_oral, predict_one_compartment_oral_ke

EXTREME = [0.0, np.inf, np.nan, 1e-320, 1e308]


@pytest.mark.parametrize("predict", [predict_one_compartment_oral, predict_one_compartment_oral_ke])
def test_extreme_parameters_give_no_warning(predict) -> None:  # type: ignore[no-untyped-def]
    rows = np.array([[a, b, c] for a in (1.0, *EXTREME) for b in (0.5, *EXTREME) for c in (0.05, *EXTREME)])
    times = np.tile(np.array([0.5, 1.0, 24.0]), (len(rows), 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = predict(rows, times, np.ones(len(rows)))
    assert out.shape == times.shape
    # the ordinary row still gives the Bateman function: D·ka/(V(ka − k))·(e^{−kt} − e^{−ka t})
    ka, v, cl = 1.0, 0.5, 0.05
    k = cl / v
    if predict is predict_one_compartment_oral_ke:
        ka, k = 0.5, 0.05  # columns cl, ka, ke = 1.0, 0.5, 0.05: V = cl/ke = 20
        v = 1.0 / k
    expected = ka / (v * (ka - k)) * (np.exp(-k * times[0]) - np.exp(-ka * times[0]))
    assert np.allclose(out[0], expected)
