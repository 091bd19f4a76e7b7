"""The interim report's popfit table shows what each covariate coefficient is relative to — the reference
level of a categorical covariate, the centre of a continuous one (estimates.csv's `covariate`, `level`,
`reference_level`, `centre`, D-19.239; D-19.274) — and marks a typical value fixed by `--fix` (D-19.273)."""

from __future__ import annotations

import json
import statistics

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.kinetics.popfit import PopulationData, PopulationSpec, Theta
from cartrial.kinetics.popfit.data import covariate_design, read_covariates
from cartrial.kinetics.popfit.fit import _estimates_table, _records
from cartrial.kinetics.popfit.structural import STEIN2019
from cartrial.report.popfit import PopfitResult, estimates_tables, popfit_report_section


def _document(levels: list[str], weights: list[float], fixed: tuple[str, ...] = ()) -> dict[str, object]:
    n = len(levels)
    t = np.array([1.0, 7.0, 28.0])
    data = PopulationData.from_arrays(
        [f"S{i}" for i in range(n)], [t] * n, [np.array([10.0, 100.0, 20.0])] * n, lloq=1.0
    )
    cov = read_covariates(pd.DataFrame({"subject_id": data.subjects, "arm": levels, "weight_kg": weights}))
    labels, _, info = covariate_design(
        data.with_covariates(cov),
        [("cmax", "arm", "cat"), ("alpha_per_day", "weight_kg", "power")],
        list(STEIN2019.parameters),
    )
    iiv = tuple(p for p in STEIN2019.parameters if p not in fixed)
    spec = PopulationSpec(
        STEIN2019, iiv=iiv, covariate_effects=tuple(labels), covariate_info=info, fixed=fixed
    )
    k, q = len(labels), len(iiv)
    theta = Theta(
        np.log(np.array(STEIN2019.default_typical)), np.full(k, 0.3), np.eye(q) * 0.5, np.array([0.5])
    )
    n_par = 6 + k + q + 1
    se = np.full(n_par, 0.1)
    se[spec.fixed_index] = np.nan
    table = _estimates_table(spec, theta, np.eye(n_par) * 0.01, se, np.zeros((n, q)), True)
    return {
        "model": "stein2019",
        "status": "converged",
        "estimates": json.loads(json.dumps(_records(table))),
        "likelihood": {"minus_2_log_likelihood": 1.0, "aic": 2.0, "bic": 3.0},
        "settings": {"fixed": {name: 0.0032 for name in fixed}},
    }


@settings(max_examples=property_examples(20), deadline=None)
@given(
    counts=st.lists(st.integers(1, 6), min_size=2, max_size=3, unique=True),
    weights=st.lists(st.floats(40.0, 120.0), min_size=18, max_size=18, unique=True),
)
def test_the_report_table_shows_each_covariate_reference(counts: list[int], weights: list[float]) -> None:
    names = ["A", "B", "C"][: len(counts)]
    levels = [name for name, c in zip(names, counts, strict=True) for _ in range(c)]
    weights = weights[: len(levels)]
    fixed, _ = estimates_tables(PopfitResult(_document(levels, weights), "estimates.json"))
    rows = fixed[fixed["kind"] == "covariate"].set_index("parameter")
    most_frequent = names[counts.index(max(counts))]
    for name in names:
        if name != most_frequent:
            assert rows.loc[f"beta_cmax_arm_{name}", "reference"] == (
                f"arm = {name} vs arm = {most_frequent} (reference)"
            )
    power = rows.loc[next(p for p in rows.index if "weight_kg" in p), "reference"]
    assert power == f"weight_kg centred on {statistics.median(weights):.6g}"
    assert set(fixed.loc[fixed["kind"] != "covariate", "reference"]) == {""}


def test_the_report_marks_a_fixed_typical_value() -> None:
    doc = _document(["A", "A", "B"], [60.0, 70.0, 80.0], fixed=("beta_per_day",))
    result = PopfitResult(doc, "estimates.json")
    fixed, _ = estimates_tables(result)
    beta = fixed.set_index("parameter").loc["beta_per_day"]
    assert (
        beta["rse_percent"] == "fixed" and beta["ci95"] == "not estimated" and "(fixed)" in beta["estimate"]
    )
    others = fixed[(fixed["kind"] == "typical") & (fixed["parameter"] != "beta_per_day")]
    assert not others["rse_percent"].eq("fixed").any()
    section, _, _ = popfit_report_section(result)
    assert any("fixed, not estimated" in f and "beta_per_day" in f for f in section.findings)
