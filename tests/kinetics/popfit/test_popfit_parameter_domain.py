"""Every reported value and interval of a bounded parameter lies in the parameter's domain (D-19.240).

The Stein 2019 model uses F_B as a fraction of at most 1 and FOLDX as a fold expansion of at least 1 (the
closed form caps them); both are estimated on the log scale, so exp(log θ ± 1.96 SE) or a percentile of
exp(φ) over posterior draws could exceed 1 for F_B. The domains below are written from the model's meaning,
not read from the code under test.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial import examples as cartrial_examples
from cartrial.kinetics.models import STEIN_2019_OMEGA2, STEIN_2019_TYPICAL, STEIN_PARAMETERS
from cartrial.kinetics.popfit import PopulationData, PopulationModel, PopulationSpec, Theta, map_estimate
from cartrial.kinetics.popfit.fit import _estimates_table
from cartrial.kinetics.popfit.structural import STEIN2019

from ...conftest import run_cartrial

DOMAIN = {
    "foldx": (1.0, math.inf),
    "tmax_days": (0.0, math.inf),
    "cmax": (0.0, math.inf),
    "alpha_per_day": (0.0, math.inf),
    "fb": (0.0, 1.0),
    "beta_per_day": (0.0, math.inf),
}


def _population(fb: float, omega2_fb: float) -> PopulationModel:
    typical = STEIN_2019_TYPICAL.as_array().copy()
    typical[STEIN_PARAMETERS.index("fb")] = fb
    omega2 = np.array([STEIN_2019_OMEGA2[n] for n in STEIN_PARAMETERS])
    omega2[STEIN_PARAMETERS.index("fb")] = omega2_fb
    theta = Theta(np.log(typical), np.zeros(0), np.diag(omega2), np.array([0.56]))
    return PopulationModel(PopulationSpec(STEIN2019), theta)


def _inside(name: str, *values: float) -> bool:
    low, high = DOMAIN[name]
    return all(low <= v <= high for v in values)


@settings(max_examples=property_examples(25), deadline=None)
@given(
    fb=st.floats(0.02, 0.95),
    omega2_fb=st.floats(0.3, 6.0),
    late=st.sampled_from([[float("nan")], [300.0], [4000.0]]),
    seed=st.integers(0, 10_000),
)
def test_every_map_interval_lies_in_the_parameter_domain(
    fb: float, omega2_fb: float, late: list[float], seed: int
) -> None:
    patient = PopulationData.from_arrays(
        ["NEW"],
        [np.array([7.0, 14.0, 90.0])],
        [np.array([5000.0, 2500.0, *late])],
        lloq=50.0,
        min_subjects=1,
        allow_unquantified=True,
    )
    result = map_estimate(_population(fb, omega2_fb), patient, n_draws=200, seed=seed)
    for row in result.parameters.to_dict(orient="records"):
        name = str(row["parameter"])
        assert _inside(name, row["p05"], row["p95"], row["map_estimate"], row["typical"]), row
        assert row["p05"] <= row["map_estimate"] <= row["p95"], row


def test_a_wide_prior_on_fb_keeps_the_map_interval_at_most_one() -> None:
    # typical F_B 0.5 with omega² 4: exp(φ) exceeds 1 in about 40 % of the draws
    patient = PopulationData.from_arrays(
        ["NEW"], [np.array([7.0])], [np.array([5000.0])], lloq=50.0, min_subjects=1
    )
    result = map_estimate(_population(0.5, 4.0), patient, n_draws=500, seed=3)
    fb = result.parameters.set_index("parameter").loc["fb"]
    assert fb["p95"] <= 1.0
    assert fb["p05"] < fb["p95"]


@settings(max_examples=property_examples(40), deadline=None)
@given(fb=st.floats(0.01, 1.0), se_log=st.floats(0.01, 5.0), foldx=st.floats(1.0, 50.0))
def test_every_typical_value_interval_lies_in_the_parameter_domain(
    fb: float, se_log: float, foldx: float
) -> None:
    pop = _population(fb, 0.8)
    theta = pop.theta
    mu = theta.mu.copy()
    mu[STEIN_PARAMETERS.index("foldx")] = math.log(foldx)
    theta = Theta(mu, theta.beta, theta.omega, theta.sigma)
    n = 6 + 6 + 1
    se = np.full(n, se_log)
    eta = np.zeros((3, 6))
    table = _estimates_table(pop.spec, theta, np.zeros((n, n)), se, eta, True)
    typical = table[table["kind"] == "typical"]
    for row in typical.to_dict(orient="records"):
        name = str(row["parameter"])
        assert _inside(name, row["estimate"], row["ci95_low"], row["ci95_high"]), row
        assert row["ci95_low"] <= row["estimate"] <= row["ci95_high"], row


def test_an_initial_value_outside_the_domain_is_refused(tmp_path: Path) -> None:
    pk = Path(cartrial_examples.__file__).resolve().parent / "ct103a-nmosd" / "study" / "pk_samples.csv"
    for initial in ("fb=1.5", "foldx=0.5"):
        result = run_cartrial("kinetics", "popfit", pk, "--initial", initial, "--out", tmp_path / "o")
        assert result.exit_code == 2, initial
        name = initial.split("=")[0]
        assert name in result.stderr and "initial" in result.stderr
    ok = run_cartrial(
        "kinetics", "popfit", pk, "--initial", "fb=1", "--k1", "5", "--k2", "5", "--saem-estimate",
        "--no-figures", "--out", tmp_path / "ok",
    )  # fmt: skip
    assert ok.exit_code == 0, ok.stderr
