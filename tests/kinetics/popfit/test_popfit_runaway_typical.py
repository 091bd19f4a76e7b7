"""A typical value that runs off to a bound is a convergence problem, and `kinetics map` says which
parameter of such a fit it cannot use (D-19.243). On the example study (12 profiles, IIV on tmax, Cmax and α,
the model docs/popfit.md recommends for 12 subjects) β went to exactly 0 with F_B near 0: the fit was
labelled only "Fisher information not positive definite", and `map` answered "population model has
non-finite or non-positive values" without naming the parameter."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cartrial import examples as cartrial_examples
from cartrial.kinetics.models import STEIN_2019_OMEGA2, STEIN_2019_TYPICAL, STEIN_PARAMETERS
from cartrial.kinetics.popfit import PopulationModel, PopulationSpec, Theta
from cartrial.kinetics.popfit.fit import _runaway_typical
from cartrial.kinetics.popfit.structural import STEIN2019

from ...conftest import run_cartrial

PK = Path(cartrial_examples.__file__).resolve().parent / "ct103a-nmosd" / "study" / "pk_samples.csv"
BETA = STEIN_PARAMETERS.index("beta_per_day")


def _theta(log_factor: float, j: int = BETA) -> Theta:
    mu = np.log(STEIN_2019_TYPICAL.as_array())
    mu[j] += log_factor
    omega = np.diag([STEIN_2019_OMEGA2[n] for n in STEIN_PARAMETERS])
    return Theta(mu, np.zeros(0), omega, np.array([0.56]))


DOMAIN = {"foldx": (1.0, math.inf), "fb": (0.0, 1.0)}
"""The parameters with a domain narrower than the positive numbers (D-19.240): FOLDX ≥ 1, F_B ≤ 1."""


@settings(max_examples=60, deadline=None)
@given(j=st.integers(0, 5), log10_factor=st.floats(-12.0, 12.0))
def test_a_typical_value_beyond_a_factor_1e6_of_the_default_is_a_problem(j: int, log10_factor: float) -> None:
    # the model's default for each parameter is the Stein 2019 Table 1 value; the allowed range is a factor
    # 10^6 either side of it, within the parameter's domain
    name = STEIN_PARAMETERS[j]
    problems = _runaway_typical(PopulationSpec(STEIN2019), _theta(log10_factor * math.log(10), j))
    value = float(STEIN_2019_TYPICAL.as_array()[j]) * 10.0**log10_factor
    low, high = DOMAIN.get(name, (0.0, math.inf))
    margin = 1.0 + 1e-9
    inside = abs(log10_factor) < 5.999 and low * margin < value < high / margin
    outside = abs(log10_factor) > 6.001 or value < low / margin or value > high * margin
    if inside:
        assert problems == []
    elif outside:
        assert len(problems) == 1 and f"typical {name} ran off" in problems[0]


def test_a_typical_value_that_underflowed_to_zero_is_a_problem() -> None:
    problems = _runaway_typical(PopulationSpec(STEIN2019), _theta(-800.0))
    assert len(problems) == 1 and "beta_per_day" in problems[0] and "map cannot use" in problems[0]


def test_map_names_the_parameter_it_cannot_use(tmp_path: Path) -> None:
    doc = PopulationModel(PopulationSpec(STEIN2019), _theta(0.0)).to_dict()
    doc["typical"]["beta_per_day"] = 0.0  # as the example fit wrote it
    path = tmp_path / "estimates.json"
    path.write_text(json.dumps(doc))
    result = run_cartrial("kinetics", "map", PK, "--patient", "CT-001", "--population", path)
    assert result.exit_code == 2
    assert "typical.beta_per_day" in result.stderr and "estimates.json" in result.stderr
    assert "typical.foldx" not in result.stderr
