"""The unit of a between-subject variance in the estimates table (D-19.406): η of a log-normal parameter
lives on the log scale (no unit, "-"), η of a normal parameter in the parameter's own unit, so its variance
is in that unit squared. Before, every ω² row said "-": the bi-exponential A1 of Indometh (mcg/ml; nlme's
fm1Indom.nlme has SD(A1) 0.571 mcg/ml, tests/data/popfit/nlme_scripts_reference.json) had ω² 0.326 with unit
"-", which reads as a log-scale variance (a CV of about 63 %) instead of an SD of 0.571 mcg/ml."""

from __future__ import annotations

import math

import numpy as np

from cartrial.kinetics.popfit import ErrorModel, PopulationSpec, Theta, get_model
from cartrial.kinetics.popfit.fit import _estimates_table


def _table(omega: np.ndarray, structure: str) -> dict[tuple[str, str], str]:
    spec = PopulationSpec(
        get_model("biexponential"), ErrorModel("additive", "linear"), ("a1", "k1", "a2"), structure
    )
    theta = Theta(np.array([2.83, math.log(2.6), 0.61, math.log(0.26)]), np.zeros(0), omega, np.array([0.08]))
    table = _estimates_table(
        spec, theta, np.full((0, 0), np.nan), None, np.zeros((6, 3)), True, value_unit="mcg/ml"
    )
    return {(r.kind, r.parameter): r.unit for r in table.itertuples()}


def test_a_normal_parameters_variance_is_in_its_unit_squared() -> None:
    units = _table(np.diag([0.571**2, 0.05, 0.131**2]), "diagonal")
    assert units[("omega2", "a1")] == "(mcg/ml)²" and units[("omega2", "a2")] == "(mcg/ml)²"
    assert units[("omega2", "k1")] == "-"
    assert units[("typical", "a1")] == "mcg/ml"


def test_a_covariance_takes_the_units_of_both_etas() -> None:
    omega = np.array([[0.3, 0.01, 0.02], [0.01, 0.05, 0.001], [0.02, 0.001, 0.02]])
    units = _table(omega, "full")
    assert units[("omega2", "a1")] == "(mcg/ml)²"
    assert units[("omega_cov", "k1~a1")] == "mcg/ml"  # log-scale η of k1 × η of A1 in mcg/ml
    assert units[("omega_cov", "a2~a1")] == "(mcg/ml)²"
    assert units[("omega2", "k1")] == "-"
