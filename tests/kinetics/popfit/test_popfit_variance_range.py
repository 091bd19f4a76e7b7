"""`kinetics popfit` and `kinetics map --population` apply one range to a between-subject variance
(`cartrial.allowed.OMEGA_LOG_VARIANCE`, `variances_out_of_range`; D-19.400). Before: map refused any Ω
variance above 100 (D-19.374) while popfit wrote such an estimate unlabelled — on 30 profiles whose volume
spreads with a log-scale SD of 11 (ω² 156) SAEM estimated ω²_V = 171 and the next step refused the file — and
the ceiling, meant for the log scale, also refused a normal parameter's variance, which is in the
parameter's unit squared: a bi-exponential A1 of Indometh in ng/mL has ω² near 3·10^5 (SD 550 ng/mL, 20 %
of A1; nlme's SD of A1 is 0.57 µg/mL, tests/data/popfit/nlme_scripts_reference.json)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import InputError
from cartrial.kinetics.models import STEIN_2019_TYPICAL, STEIN_PARAMETERS
from cartrial.kinetics.popfit import (
    ErrorModel,
    PopulationData,
    PopulationModel,
    PopulationSpec,
    SaemSettings,
    Theta,
    fit_population,
    get_model,
)
from cartrial.kinetics.popfit.fit import _runaway_variances
from cartrial.kinetics.popfit.structural import STEIN2019


def _stein(omega2: list[float]) -> PopulationModel:
    theta = Theta(np.log(STEIN_2019_TYPICAL.as_array()), np.zeros(0), np.diag(omega2), np.array([0.5]))
    return PopulationModel(PopulationSpec(STEIN2019), theta)


def _read(model: PopulationModel) -> PopulationModel:
    return PopulationModel.from_dict(model.to_dict(), source="estimates.json")


@settings(max_examples=property_examples(80), deadline=None)
@given(st.lists(st.floats(-6.0, 4.0), min_size=len(STEIN_PARAMETERS), max_size=len(STEIN_PARAMETERS)))
def test_popfit_labels_exactly_the_variances_map_refuses(log10_omega2: list[float]) -> None:
    omega2 = [10.0**v for v in log10_omega2]
    model = _stein(omega2)
    labelled = _runaway_variances(model.spec, model.theta)
    beyond = [n for n, v in zip(STEIN_PARAMETERS, omega2, strict=True) if v > 100.0]
    assert [p.split()[2] for p in labelled] == beyond  # "omega² of NAME is ..."
    if beyond:
        with pytest.raises(InputError) as refused:
            _read(model)
        assert "omega" in str(refused.value) and beyond[0] in str(refused.value)
    else:
        assert np.allclose(_read(model).theta.omega, model.theta.omega)


def test_a_normal_parameters_variance_is_in_its_own_unit() -> None:
    """Indometh's bi-exponential in ng/mL (nlme's fm1Indom.nlme × 1000: A1 2.83 µg/mL, SD 0.571; A2 0.61,
    SD 0.131): ω²_A1 = 571² ≈ 3.3·10^5 is an ordinary estimate; map read none of it before."""
    model = get_model("biexponential")
    mu = np.array([2830.0, math.log(2.6), 610.0, math.log(0.26)])
    omega = np.diag([571.0**2, 0.05, 131.0**2])
    spec = PopulationSpec(model, ErrorModel("additive", "linear"), ("a1", "k1", "a2"))
    population = PopulationModel(spec, Theta(mu, np.zeros(0), omega, np.array([80.0])))
    assert _runaway_variances(spec, population.theta) == []
    assert np.allclose(_read(population).theta.omega, omega)
    # a log-normal parameter of the same model keeps the ceiling
    wide_omega = np.diag([571.0**2, 150.0, 131.0**2])
    wide = PopulationModel(spec, Theta(mu, np.zeros(0), wide_omega, np.array([80.0])))
    assert [p.split()[2] for p in _runaway_variances(spec, wide.theta)] == ["k1"]
    with pytest.raises(InputError, match="of k1"):
        _read(wide)


@pytest.mark.slow
def test_a_fit_that_estimates_a_variance_map_refuses_says_so() -> None:
    """30 one-compartment profiles whose volume spreads with a log-scale SD of 11 (simulated here): SAEM
    estimates ω²_V above 100 — the fit is labelled, naming V and that map cannot use it."""
    rng = np.random.default_rng(3)
    model = get_model("one_compartment_oral")
    times = np.array([0.5, 1.0, 2.0, 4.0, 8.0, 12.0, 24.0])
    volumes = 0.5 * np.exp(rng.normal(0.0, 11.0, 30))
    values = [
        model.predict(np.array([[1.0, v, 0.05]]), times[None, :], np.array([1.0]))[0]
        * np.exp(rng.normal(0.0, 0.1, times.size))
        for v in volumes
    ]
    data = PopulationData.from_arrays([f"S{i}" for i in range(30)], [times] * 30, values, dose=np.ones(30))
    fit = fit_population(
        data,
        model,
        error=ErrorModel("additive", "log"),
        iiv=("v",),
        settings=SaemSettings(seed=1, k1=100, k2=50),
        compute_se=False,
    )
    assert fit.model.theta.omega[0, 0] > 100.0
    assert not fit.converged
    assert any(p.startswith("omega² of v is ") and "map cannot use" in p for p in fit.convergence_problems)
    with pytest.raises(InputError, match="of v"):
        _read(fit.model)
