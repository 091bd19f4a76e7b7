"""A covariate coefficient says what it is relative to (D-19.239): the reference level of a categorical
covariate, the centring value of a continuous one, in the estimates table (estimates.csv and the
``estimates`` records of estimates.json are that table)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.kinetics.popfit import PopulationData, PopulationSpec, Theta
from cartrial.kinetics.popfit.data import covariate_design, read_covariates
from cartrial.kinetics.popfit.fit import _estimates_table, _records
from cartrial.kinetics.popfit.structural import STEIN2019
from cartrial.tabular import csv_text


def _table(levels: list[str], weights: list[float]) -> pd.DataFrame:
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
    spec = PopulationSpec(STEIN2019, covariate_effects=tuple(labels), covariate_info=info)
    k = len(labels)
    theta = Theta(
        np.log(np.array(STEIN2019.default_typical)), np.full(k, 0.3), np.eye(6) * 0.5, np.array([0.5])
    )
    n_par = 6 + k + 6 + 1
    return _estimates_table(spec, theta, np.eye(n_par) * 0.01, np.full(n_par, 0.1), np.zeros((n, 6)), True)


@settings(max_examples=property_examples(25), deadline=None)
@given(
    counts=st.lists(st.integers(1, 6), min_size=2, max_size=3, unique=True),
    weights=st.lists(st.floats(40.0, 120.0), min_size=18, max_size=18, unique=True),
)
def test_each_covariate_row_states_its_reference_level_or_centre(
    counts: list[int], weights: list[float]
) -> None:
    names = ["A", "B", "C"][: len(counts)]
    levels = [name for name, c in zip(names, counts, strict=True) for _ in range(c)]
    weights = weights[: len(levels)]
    table = _table(levels, weights)
    rows = table[table["kind"] == "covariate"].set_index("parameter")
    most_frequent = names[counts.index(max(counts))]
    categorical = rows[rows.index.str.startswith("beta_cmax_arm_")]
    assert sorted(categorical["level"]) == sorted(n for n in names if n != most_frequent)
    assert set(categorical["reference_level"]) == {most_frequent}
    for label, row in categorical.iterrows():
        assert f"reference level arm = {most_frequent}" in row["note"], label
        assert f"arm = {row['level']}," in row["note"]
    weight = rows.loc["beta_alpha_per_day_weight_kg"]
    assert weight["covariate"] == "weight_kg"
    assert np.isclose(weight["centre"], np.median(weights))
    assert f"{np.median(weights):.6g}" in weight["note"]
    # not covariate rows: no reference
    other = table[table["kind"] != "covariate"]
    assert other["reference_level"].isna().all() and other["centre"].isna().all()


def test_the_csv_and_json_estimates_carry_the_reference() -> None:
    table = _table(["F", "F", "F", "M", "M"], [50.0, 60.0, 70.0, 80.0, 90.0])
    csv = pd.read_csv(pd.io.common.StringIO(csv_text(table)))
    row = csv[csv["parameter"] == "beta_cmax_arm_M"].iloc[0]
    assert row["reference_level"] == "F" and row["level"] == "M"
    assert csv.loc[csv["parameter"] == "beta_alpha_per_day_weight_kg", "centre"].iloc[0] == 70.0
    records = json.loads(json.dumps(_records(table)))  # the ``estimates`` of PopulationFit.to_dict
    by_name = {r["parameter"]: r for r in records}
    assert by_name["beta_cmax_arm_M"]["reference_level"] == "F"
    assert by_name["beta_alpha_per_day_weight_kg"]["centre"] == 70.0


def test_the_popfit_command_says_the_reference_in_its_files_and_on_the_terminal(
    tmp_path: Path, few_draws: None
) -> None:
    from cartrial import examples as cartrial_examples

    from ...conftest import run_cartrial

    study = Path(cartrial_examples.__file__).resolve().parent / "ct103a-nmosd" / "study"
    infusions = pd.read_csv(study / "infusions.csv")
    most_frequent = str(infusions["dose_level"].value_counts().index[0])
    out = tmp_path / "o"
    effects = ("--covariate", "cmax~dose_level:cat", "--covariate", "alpha_per_day~weight_kg")
    fast = ("--k1", "5", "--k2", "5", "--saem-estimate", "--seed", "1", "--no-figures")
    result = run_cartrial(
        "kinetics", "popfit", study / "pk_samples.csv", "--iiv", "tmax_days,cmax",
        "--covariates", study / "infusions.csv", *effects, *fast, "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert f"relative to the reference level dose_level = {most_frequent}" in " ".join(result.stdout.split())
    csv = pd.read_csv(out / "estimates.csv", dtype={"reference_level": str, "level": str})
    assert set(csv.loc[csv["kind"] == "covariate", "covariate"]) == {"dose_level", "weight_kg"}
    assert str(csv.loc[csv["covariate"] == "dose_level", "reference_level"].iloc[0]) == most_frequent
    centre = csv.loc[csv["covariate"] == "weight_kg", "centre"].iloc[0]
    assert centre == infusions["weight_kg"].median()
    doc = json.loads((out / "estimates.json").read_text())
    rows = [r for r in doc["estimates"] if r["kind"] == "covariate"]
    assert {str(r["reference_level"]) for r in rows if r["covariate"] == "dose_level"} == {most_frequent}


def _reference(levels: list[str]) -> str:
    n = len(levels)
    t = np.array([1.0, 7.0, 28.0])
    data = PopulationData.from_arrays(
        [f"S{i}" for i in range(n)], [t] * n, [np.array([10.0, 100.0, 20.0])] * n, lloq=1.0
    )
    cov = read_covariates(pd.DataFrame({"subject_id": data.subjects, "arm": levels}))
    _, _, info = covariate_design(
        data.with_covariates(cov), [("cmax", "arm", "cat")], list(STEIN2019.parameters)
    )
    return str(next(iter(info.values()))["reference"])


def test_a_tie_in_level_counts_takes_the_first_level_in_sorted_order() -> None:
    """Two levels with 3 subjects each: the reference is the first in sorted order ("A"), whichever comes
    first in the file; subject order picked it before (D-19.1174)."""
    assert _reference(["B", "B", "A", "A", "B", "A"]) == "A"
    assert _reference(["A", "B", "A", "B", "A", "B"]) == "A"
    # most frequent still wins over sorted order
    assert _reference(["B", "B", "A", "B"]) == "B"


@settings(max_examples=property_examples(40), deadline=None)
@given(
    counts=st.lists(st.integers(2, 4), min_size=2, max_size=3),
    seed=st.integers(0, 10_000),
)
def test_the_reference_level_does_not_depend_on_subject_order(counts: list[int], seed: int) -> None:
    names = ["C", "A", "B"][: len(counts)]
    levels = [name for name, c in zip(names, counts, strict=True) for _ in range(c)]
    shuffled = list(np.random.default_rng(seed).permutation(levels))
    top = max(counts)
    expected = sorted(n for n, c in zip(names, counts, strict=True) if c == top)[0]
    assert _reference(levels) == expected
    assert _reference(shuffled) == expected
