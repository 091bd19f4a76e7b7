"""Further checks of the escalation engine against published rules (helper `esc`, correctness attack).

Expected values come from the sources, never from running the engine: BOIN boundaries evaluated by hand from
the closed-form equations of Liu & Yuan 2015 (JRSS-C 64:507, §2.2; ``dose-escalation.md`` §4.1) for targets
outside the §4.1 table, and TITE-CRM posteriors from an independent quadrature written from the formulas of
R `dfcrm` 0.2-2.1 `titecrm` (linear and adaptive weights, DLT patients weight 1, weights capped at 1, the
posterior mean's numerator integrated over (-10, 10) and its denominator over the real line; §8).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from cartrial.escalation import TiteCrm, boin_boundaries, parse_outcomes


@pytest.mark.parametrize(
    ("target", "lambda_e", "lambda_d"),
    [(0.15, 0.117797, 0.178686), (0.35, 0.276334, 0.418908), (0.40, 0.316360, 0.479650)],
)
def test_boin_boundaries_for_targets_outside_the_reference_table(
    target: float, lambda_e: float, lambda_d: float
) -> None:
    """Liu & Yuan 2015 §2.2 with phi1 = 0.6 phi, phi2 = 1.4 phi, evaluated by hand to 6 decimals (the
    published 3-decimal table: 0.118/0.179, 0.276/0.419, 0.316/0.48)."""
    e, d = boin_boundaries(target)
    assert e == pytest.approx(lambda_e, abs=1e-6)
    assert d == pytest.approx(lambda_d, abs=1e-6)


# A ten-patient TITE-CRM history with a 180-day window: levels, DLTs and follow-up (time to DLT for a
# patient with a DLT); patients 1-2 are at or past the window, the others partly followed.
_SKELETON = np.array([0.05, 0.10, 0.20, 0.35, 0.50, 0.70])
_LEVELS = [3, 3, 3, 4, 4, 3, 2, 2, 2, 3]
_DLT = [0, 0, 1, 0, 0, 1, 1, 0, 0, 0]
_FOLLOWUP = [178.0, 181.0, 157.0, 168.0, 108.0, 70.0, 83.0, 91.0, 44.0, 13.0]
_WINDOW = 180.0


def _dfcrm_weights(scheme: str) -> np.ndarray:
    """dfcrm `titecrm` weights, written from its description: linear u/T; adaptive with the z sorted DLT
    follow-up times t_1..t_z and m = #{t_k <= u}: u / t_1 / (z + 1) when m = 0, (z + (u - t_z) / (T - t_z)) /
    (z + 1) when m = z, else (m + (u - t_m) / (t_(m+1) - t_m)) / (z + 1); then min(w, 1); DLT patients 1."""
    u = np.array(_FOLLOWUP)
    dlt = np.array(_DLT, dtype=bool)
    if scheme == "linear":
        w = u / _WINDOW
    else:
        t = np.sort(u[dlt])
        z = t.size
        w = np.empty(u.size)
        for i, ui in enumerate(u):
            m = int(np.sum(t <= ui))
            if m == 0:
                w[i] = ui / t[0] / (z + 1)
            elif m == z:
                w[i] = (z + (ui - t[-1]) / (_WINDOW - t[-1])) / (z + 1)
            else:
                w[i] = (m + (ui - t[m - 1]) / (t[m] - t[m - 1])) / (z + 1)
    w = np.minimum(w, 1.0)
    w[dlt] = 1.0
    return w


@pytest.mark.parametrize("scheme", ["linear", "adaptive"])
def test_tite_crm_equals_an_independent_dfcrm_style_quadrature(scheme: str) -> None:
    """Empiric model, prior N(0, 1.34): likelihood prod (w p)^y (1 - w p)^(1 - y), beta_hat = posterior mean,
    ptox = skeleton^exp(beta_hat) (plug-in), next dose = argmin |ptox - 0.2| (Cheung & Chappell 2000;
    dfcrm `titecrm`; ``dose-escalation.md`` §7.2, §8). The adaptive scheme here exercises all three branches
    (m = 0 for the patient followed 13 days, 0 < m < z, m = z)."""
    w = _dfcrm_weights(scheme)
    x = _SKELETON[np.array(_LEVELS) - 1]
    y = np.array(_DLT, dtype=bool)

    def density(b: float) -> float:
        q = w * x ** math.exp(min(b, 50.0))  # beyond 50 every p is 0: the density is 0 there
        return float(np.prod(np.where(y, q, 1 - q)) * math.exp(-b * b / (2 * 1.34)))

    den = integrate.quad(density, -np.inf, np.inf, epsabs=0, epsrel=1e-12, limit=200)[0]
    num = integrate.quad(lambda b: b * density(b), -10, 10, epsabs=0, epsrel=1e-12, limit=200)[0]
    ptox = _SKELETON ** math.exp(num / den)
    history = parse_outcomes(
        " ".join(f"{lv}{'T' if t else 'N'}" for lv, t in zip(_LEVELS, _DLT, strict=True))
    )
    design = TiteCrm(list(_SKELETON), 0.2, window_days=_WINDOW, scheme=scheme)  # type: ignore[arg-type]
    assert np.allclose(design.weights(history.with_followup(_FOLLOWUP)), w, atol=1e-12)
    fit = design.fit(history.with_followup(_FOLLOWUP))
    assert [e.estimate for e in fit.estimates] == pytest.approx(ptox.tolist(), abs=1e-6)
    assert fit.next_dose == int(np.argmin(np.abs(ptox - 0.2))) + 1
