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
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

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


@settings(max_examples=property_examples(60), deadline=None)
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


@pytest.mark.nightly  # a long study (suite time, D-19.1374)
def test_an_information_matrix_inversion_finds_singular_is_a_labelled_fit(tmp_path: Path) -> None:
    """The example with IIV on tmax, Cmax and α (seed 1): β ran to about 0, the information passed the
    eigenvalue test but its inversion raised LinAlgError ("Singular matrix") — a traceback and exit 1 instead
    of a fit labelled NOT CONVERGED (D-19.323)."""
    result = run_cartrial(
        "kinetics", "popfit", PK, "--seed", "1", "--iiv", "tmax_days,cmax,alpha_per_day", "--no-figures",
        "--json", "--out", tmp_path / "fit",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr[-400:]
    doc = json.loads(result.stdout)
    assert doc["status"] == "NOT CONVERGED"
    assert any("Fisher information not positive definite" in p for p in doc["convergence_problems"])


def test_a_singular_information_gives_no_covariance() -> None:
    from cartrial.kinetics.popfit.fit import _covariance

    free = np.array([True, False, True])
    assert _covariance(np.array([[1.0, 1.0], [1.0, 1.0]]), free) is None  # singular
    assert _covariance(np.array([[1.0, 0.0], [0.0, -1.0]]), free) is None  # indefinite
    assert _covariance(np.array([[1.0, 0.0], [0.0, np.nan]]), free) is None
    cov = _covariance(np.array([[4.0, 0.0], [0.0, 0.25]]), free)
    assert cov is not None
    assert cov[0, 0] == 0.25 and cov[2, 2] == 4.0 and np.isnan(cov[1]).all() and np.isnan(cov[:, 1]).all()


@settings(max_examples=property_examples(60), deadline=None)
@given(j=st.integers(0, 5), log10_factor=st.floats(-9.0, 9.0))
def test_map_refuses_exactly_the_typical_values_popfit_labels(j: int, log10_factor: float) -> None:
    """One rule (D-19.407): popfit's label says "kinetics map cannot use this fit"; before, map read a
    finite typical value beyond the range (Cmax 10^7 times Stein's) without a word."""
    from cartrial.errors import InputError

    theta = _theta(log10_factor * math.log(10), j)
    model = PopulationModel(PopulationSpec(STEIN2019), theta)
    labelled = _runaway_typical(model.spec, theta)
    document = json.loads(json.dumps(model.to_dict()))
    if labelled:
        try:
            PopulationModel.from_dict(document, source="estimates.json")
        except InputError as refused:
            assert f"typical.{STEIN_PARAMETERS[j]}" in str(refused)
        else:
            raise AssertionError(f"map read what popfit labels: {labelled}")
    else:
        PopulationModel.from_dict(document, source="estimates.json")


def test_the_refused_range_is_in_the_datas_unit() -> None:
    """A Stein fit of CAR+ cells per µL: its Cmax is in cells/uL (`parameter_units`), so the range map
    states for `typical.cmax` and popfit's "ran off" label are too — not the model's placeholder copies/ug."""
    from cartrial.errors import InputError

    theta = _theta(7 * math.log(10), STEIN_PARAMETERS.index("cmax"))
    model = PopulationModel(PopulationSpec(STEIN2019), theta)
    document = json.loads(json.dumps(model.to_dict()))
    document["data"] = {"value_unit": "cells/uL"}
    try:
        PopulationModel.from_dict(document, source="estimates.json")
    except InputError as refused:
        assert "typical.cmax" in str(refused) and "cells/uL" in str(refused), str(refused)
        assert "copies/ug" not in str(refused)
    else:
        raise AssertionError("a Cmax 10^7 times Stein's was read")
    labelled = _runaway_typical(model.spec, theta, "cells/uL")
    assert len(labelled) == 1 and "cells/uL" in labelled[0] and "copies/ug" not in labelled[0]
