"""The prediction discrepancy of an NPDE is the fraction of the K decorrelated simulations below the
decorrelated observation, pde = (1/K)·Σ_k δ_k (Brendel K, Comets E, Laffont C, Laveille C, Mentré F. Pharm
Res 2006;23:2036-2049, eq. for pde), with 0 and 1 — no simulation below, or all — replaced by 1/(2K) and
1 − 1/(2K) (the R npde package, option ``ties = TRUE``: Comets E, Brendel K, Mentré F. Comput Methods
Programs Biomed 2008;90:154-166; npde's `computenpde`), and npde = Φ⁻¹(pde). It was (count + ½)/(K + 1),
which moves every NPDE (by 0.02 at K = 100 around Φ⁻¹(0.1)).

One observation against K = 10 simulations 0, 1, …, 9: the decorrelation of a single value is an increasing
affine map (Cholesky factor > 0), so the count is that of the raw values.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from cartrial.kinetics.popfit.diagnostics import npde_censored


@pytest.mark.parametrize(
    ("y", "pde"),
    [(3.5, 0.4), (0.5, 0.1), (-5.0, 1 / 20), (20.0, 1 - 1 / 20), (8.5, 0.9)],
)
def test_pde_is_the_fraction_of_simulations_below(y: float, pde: float) -> None:
    sims = np.arange(10.0).reshape(10, 1)
    npde, _ = npde_censored(
        np.array([y]), np.array([np.nan]), np.array([np.nan]), sims, [np.zeros(0)], np.random.default_rng(0)
    )
    assert npde[0] == pytest.approx(stats.norm.ppf(pde), abs=1e-12)
