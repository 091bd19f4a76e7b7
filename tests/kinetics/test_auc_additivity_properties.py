"""Invariants of partial AUCs (NCA ``aucint_last``) and of the Stein 2019 closed-form AUC.

NCA (shared/reference/cellular-kinetics.md §2.2 and §2.5; PKNCA ``aucint.last``): on a profile whose
concentrations after the first sample are all > 0, an interval end between samples is interpolated with the
segment's own rule (linear for a rise or a plateau, log for a fall under lin-up/log-down; linear throughout
under ``linear``), and each piece of a split segment keeps the segment's rule, so AUC(a, c) = AUC(a, b) +
AUC(b, c) for a < b < c inside the sampled range, and AUC(0, b) does not decrease with b.

Stein 2019 (§5.1-5.2): the exact AUC of the closed form equals the integral of C(t) computed by adaptive
quadrature (scipy ``quad`` with a break at Tmax), and is additive over a split point.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import integrate
from tests.conftest import property_examples

from cartrial.kinetics import NcaOptions, nca
from cartrial.kinetics.models import stein2019_auc, stein2019_concentration
from cartrial.kinetics.nca import interval_column


def _aucs(concs: list[float], intervals: tuple[tuple[float, float], ...], method: str) -> pd.Series:
    times = [0.0, *(float(7 * (i + 1)) for i in range(len(concs)))]
    frame = pd.DataFrame({"id": "S1", "t": times, "c": [0.0, *concs]})
    options = NcaOptions(auc_method=method, intervals=intervals)  # type: ignore[arg-type]
    return nca(
        frame, subject="id", time="t", conc="c", time_unit="day", conc_unit="copies/ug", options=options
    ).table.iloc[0]


@settings(max_examples=property_examples(60), deadline=None)
@given(
    concs=st.lists(st.floats(min_value=1e-2, max_value=1e5), min_size=2, max_size=7),
    cuts=st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=3, max_size=3, unique=True),
    method=st.sampled_from(["lin_up_log_down", "linear"]),
)
def test_partial_aucs_add_up_and_grow_with_the_end(
    concs: list[float], cuts: list[float], method: str
) -> None:
    """AUC(a, c) = AUC(a, b) + AUC(b, c) and AUC(0, b) ≤ AUC(0, c) for a < b < c in [0, last sample]."""
    last = 7.0 * len(concs)
    a, b, c = sorted(round(x * last, 3) for x in cuts)
    assume(a < b < c)
    intervals = tuple(dict.fromkeys([(a, b), (b, c), (a, c), (0.0, b), (0.0, c)]))
    row = _aucs(concs, intervals, method)

    def auc(start: float, end: float) -> float:
        return float(row[interval_column(start, end, prefix="aucint_last")])

    assert auc(a, c) == pytest.approx(auc(a, b) + auc(b, c), rel=1e-9, abs=1e-9)
    assert auc(0.0, b) <= auc(0.0, c) * (1 + 1e-12) + 1e-12
    assert auc(a, b) >= 0 and auc(b, c) >= 0


@settings(max_examples=property_examples(60), deadline=None)
@given(
    foldx=st.floats(min_value=1.5, max_value=1e5),
    tmax=st.floats(min_value=1.0, max_value=30.0),
    cmax=st.floats(min_value=1.0, max_value=1e6),
    alpha=st.floats(min_value=1e-2, max_value=2.0),
    fb=st.floats(min_value=1e-4, max_value=1.0),
    beta=st.floats(min_value=1e-4, max_value=5e-2),
    split=st.floats(min_value=0.0, max_value=1.0),
    end=st.floats(min_value=1.0, max_value=400.0),
)
def test_stein_auc_equals_the_integral_and_adds_up(
    foldx: float, tmax: float, cmax: float, alpha: float, fb: float, beta: float, split: float, end: float
) -> None:
    """Exact AUC(0, end) = ∫ C(t) dt (quadrature, break at Tmax) to 1e-6; AUC(0, s) + AUC(s, end) =
    AUC(0, end) for any s in [0, end]."""
    params = (foldx, tmax, cmax, alpha, fb, beta)

    def level(t: float) -> float:
        return float(stein2019_concentration(np.array([t]), *params)[0])

    points = [tmax] if tmax < end else None
    numeric, _ = integrate.quad(level, 0.0, end, points=points, limit=200, epsabs=0.0, epsrel=1e-10)
    exact = float(stein2019_auc(0.0, end, *params))
    assert exact == pytest.approx(numeric, rel=1e-6)
    s = split * end
    parts = float(stein2019_auc(0.0, s, *params)) + float(stein2019_auc(s, end, *params))
    assert parts == pytest.approx(exact, rel=1e-9)
    assert math.isfinite(exact) and exact > 0
