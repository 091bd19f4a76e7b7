"""A typical value can be fixed (NONMEM's FIX, Monolix "fixed"; D-19.273): it is not estimated (no SE, RSE
or CI), is marked fixed in the estimates table, estimates.json, the summary and the report, has no IIV
unless asked, and `map`/simulation read it back. Fixing a parameter at its true value in a simulated
dataset recovers the others."""

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
from cartrial.errors import OptionError
from cartrial.kinetics.popfit import (
    PopulationData,
    PopulationModel,
    SaemSettings,
    StructuralModel,
    fit_population,
)
from cartrial.kinetics.popfit.fit import check_fixed
from cartrial.kinetics.popfit.structural import STEIN2019

from ...conftest import run_cartrial

PK = Path(cartrial_examples.__file__).resolve().parent / "ct103a-nmosd" / "study" / "pk_samples.csv"


def _monoexp(params: np.ndarray, times: np.ndarray, dose: np.ndarray) -> np.ndarray:
    return np.asarray(params[:, [0]] * np.exp(-params[:, [1]] * times), dtype=float)


MONO = StructuralModel("monoexp", ("level", "k"), ("-", "1/day"), (50.0, 0.2), _monoexp, "test model")
TRUE = {"level": 100.0, "k": 0.3}
OMEGA2 = {"level": 0.2, "k": 0.0}
SIGMA = 0.15


def _data(seed: int = 11, n: int = 40) -> PopulationData:
    rng = np.random.default_rng(seed)
    times = np.array([0.5, 1.0, 2.0, 4.0, 6.0, 8.0])
    level = TRUE["level"] * np.exp(rng.normal(0, math.sqrt(OMEGA2["level"]), n))
    values = [
        level[i] * np.exp(-TRUE["k"] * times) * np.exp(rng.normal(0, SIGMA, times.size)) for i in range(n)
    ]
    return PopulationData.from_arrays([f"S{i}" for i in range(n)], [times] * n, values)


FAST = SaemSettings(seed=3, k1=100, k2=80, is_draws=500, fim_draws=500, polish_final_draws=500)


@pytest.fixture(scope="module")
def fixed_fit():  # type: ignore[no-untyped-def]
    return fit_population(_data(), MONO, fix={"k": TRUE["k"]}, settings=FAST)


def test_fixing_k_at_its_true_value_recovers_the_level_and_its_variability(fixed_fit) -> None:  # type: ignore[no-untyped-def]
    est = fixed_fit.estimates.set_index(["kind", "parameter"])
    level = est.loc[("typical", "level")]
    assert level["ci95_low"] < TRUE["level"] < level["ci95_high"]
    om = est.loc[("omega2", "level")]
    assert om["ci95_low"] < OMEGA2["level"] < om["ci95_high"]
    sigma = est.loc[("residual", "a")]
    assert sigma["ci95_low"] < SIGMA < sigma["ci95_high"]


def test_a_fixed_typical_value_is_not_estimated_and_is_marked_fixed(fixed_fit) -> None:  # type: ignore[no-untyped-def]
    est = fixed_fit.estimates.set_index(["kind", "parameter"])
    k = est.loc[("typical", "k")]
    assert k["estimate"] == pytest.approx(TRUE["k"], rel=1e-12)
    assert bool(k["fixed"]) and not bool(est.loc[("typical", "level"), "fixed"])
    assert math.isnan(k["se"]) and math.isnan(k["rse_percent"]) and math.isnan(k["ci95_low"])
    assert k["ci_method"] == "fixed" and "fixed" in k["note"]
    # no IIV unless asked, and the parameter count leaves the fixed value out
    assert fixed_fit.model.spec.iiv_names == ("level",)
    assert fixed_fit.likelihood["n_parameters"] == 3  # level, ω²_level, σ
    doc = fixed_fit.to_dict()
    assert doc["fixed"] == ["k"] and doc["settings"]["fixed"] == {"k": TRUE["k"]}
    assert fixed_fit.summary()["fixed"] == {"k": TRUE["k"]}
    record = next(r for r in doc["estimates"] if r["parameter"] == "k")
    assert record["fixed"] is True and record["se"] is None


def test_the_population_model_reads_a_fixed_parameter_back(fixed_fit) -> None:  # type: ignore[no-untyped-def]
    back = PopulationModel.from_dict(json.loads(json.dumps(fixed_fit.model.to_dict())), model=MONO)
    assert back.spec.fixed == ("k",)
    assert back.spec.model.to_natural(back.theta.mu)[1] == pytest.approx(TRUE["k"], rel=1e-12)


def test_a_fixed_parameter_keeps_its_iiv_when_asked() -> None:
    fit = fit_population(_data(n=20), MONO, fix={"k": TRUE["k"]}, iiv=("level", "k"), settings=FAST)
    assert fit.model.spec.iiv_names == ("level", "k")
    est = fit.estimates.set_index(["kind", "parameter"])
    assert ("omega2", "k") in est.index and est.loc[("typical", "k"), "estimate"] == pytest.approx(0.3)


@pytest.mark.parametrize("method", ["laplace", "focei"])
def test_the_laplacian_methods_keep_a_fixed_value(method: str) -> None:
    fit = fit_population(_data(n=20), MONO, fix={"k": 0.25}, method=method, settings=FAST)
    est = fit.estimates.set_index(["kind", "parameter"])
    assert est.loc[("typical", "k"), "estimate"] == pytest.approx(0.25, rel=1e-12)
    assert bool(est.loc[("typical", "k"), "fixed"])


@settings(max_examples=property_examples(25), deadline=None)
@given(value=st.floats(1e-12, 1e12))
def test_a_fixed_value_is_checked_as_an_initial_value(value: float) -> None:
    j = STEIN2019.index("cmax")
    allowed = STEIN2019.initial_rule(j).problem("initial", value) is None
    if allowed:
        assert check_fixed(STEIN2019, {"cmax": value}) == {"cmax": value}
    else:
        with pytest.raises(OptionError, match="fix"):
            check_fixed(STEIN2019, {"cmax": value})


def test_fixing_an_unknown_parameter_or_one_with_an_initial_value_is_refused() -> None:
    with pytest.raises(OptionError, match="not a parameter"):
        check_fixed(STEIN2019, {"beta": 0.003})
    with pytest.raises(OptionError, match="not both"):
        check_fixed(STEIN2019, {"fb": 0.01}, {"fb": 0.02})
    with pytest.raises(OptionError, match="every typical value"):
        check_fixed(MONO, {"level": 1.0, "k": 0.1})


def test_cli_fix_is_checked_before_the_data_are_read(tmp_path: Path) -> None:
    result = run_cartrial("kinetics", "popfit", PK, "--out", tmp_path / "o", "--fix", "fb=3")
    assert result.exit_code == 2 and "--fix" in result.stderr and "fb" in result.stderr
    result = run_cartrial("kinetics", "popfit", PK, "--out", tmp_path / "o", "--fix", "nope=3")
    assert result.exit_code == 2 and "--fix" in result.stderr


def test_a_runaway_typical_value_suggests_fix_and_a_fixed_one_is_not_runaway() -> None:
    from cartrial.kinetics.models import STEIN_2019_TYPICAL
    from cartrial.kinetics.popfit import PopulationSpec, Theta
    from cartrial.kinetics.popfit.fit import _runaway_typical

    mu = np.log(STEIN_2019_TYPICAL.as_array())
    mu[STEIN2019.index("beta_per_day")] = -800.0  # underflowed to 0, as on the example study
    theta = Theta(mu, np.zeros(0), np.eye(6), np.array([0.5]))
    (problem,) = _runaway_typical(PopulationSpec(STEIN2019), theta)
    assert "--fix" in problem and "beta_per_day" in problem
    assert _runaway_typical(PopulationSpec(STEIN2019, fixed=("beta_per_day",)), theta) == []


def test_summary_html_marks_the_fixed_value(fixed_fit) -> None:  # type: ignore[no-untyped-def]
    from cartrial.report.popfit import summary_html

    page = summary_html(fixed_fit, [])
    assert "<th>fixed</th>" in page and "the typical value is fixed, not estimated" in page


def test_cli_fix_marks_the_parameter_in_the_table_and_the_files(tmp_path: Path, few_draws: None) -> None:
    out = tmp_path / "fit"
    result = run_cartrial(
        "kinetics",
        "popfit",
        PK,
        "--seed",
        "3",
        "--k1",
        "40",
        "--k2",
        "20",
        "--iiv",
        "tmax_days,cmax,alpha_per_day",
        "--fix",
        "beta_per_day=0.0032",
        "--no-figures",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if "beta_per" in x)
    assert "fixed" in line
    import pandas as pd

    est = pd.read_csv(out / "estimates.csv").set_index("parameter")
    assert bool(est.loc["beta_per_day", "fixed"]) and est.loc["beta_per_day", "estimate"] == pytest.approx(
        0.0032
    )
    assert not est.loc[["foldx", "cmax"], "fixed"].astype(bool).any()
    doc = json.loads((out / "estimates.json").read_text())
    assert doc["fixed"] == ["beta_per_day"]
    mapped = run_cartrial(
        "kinetics", "map", PK, "--patient", "CT-001", "--population", out / "estimates.json", "--json"
    )
    assert mapped.exit_code == 0, mapped.stderr
    params = {r["parameter"]: r for r in json.loads(mapped.stdout)["parameters"]}
    assert params["beta_per_day"]["map_estimate"] == pytest.approx(0.0032)


def test_fix_with_initial_is_refused_before_the_data_are_read(tmp_path: Path) -> None:
    """The conflict is an option error (exit 2 naming --fix), found before the data file is opened: the
    file here does not exist, and the message is about the options, not the file."""
    missing = tmp_path / "no-such-file.csv"
    result = run_cartrial(
        "kinetics", "popfit", missing, "--fix", "beta_per_day=0.0032", "--initial", "beta_per_day=0.004",
        "--out", tmp_path / "out",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "fix" in result.stderr and "no-such-file" not in result.stderr


@pytest.mark.parametrize("option", ["initial", "fix"])
def test_initial_and_fixed_values_are_refused_in_the_same_words(option: str) -> None:
    """--initial and --fix take NAME=VALUE by the same rule and say so in the same words, naming the option
    (an unknown --initial name was a ConfigurationError that named neither the option nor the field)."""
    for values, what in (({"nope": 1.0}, "not a parameter of the model"), ({"fb": 3.0}, "out of range")):
        with pytest.raises(OptionError) as caught:
            fit_population(_data(n=12), STEIN2019, **{option: values})  # type: ignore[arg-type]
        problem = caught.value.problems[0]
        assert problem.field == option and what in problem.message


def test_cli_initial_is_checked_before_the_data_are_read(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-file.csv"
    for value in ("nope=3", "fb=3"):
        result = run_cartrial("kinetics", "popfit", missing, "--initial", value, "--out", tmp_path / "out")
        assert result.exit_code == 2
        assert "--initial" in result.stderr and "no-such-file" not in result.stderr, result.stderr


@pytest.mark.parametrize("value", [0.1, 0.0032])
def test_a_fixed_value_is_stored_exactly_as_given(value: float) -> None:
    """exp(log v) is not v for these values (0.10000000000000002, 0.0032000000000000015): the fixed value is
    stored and shown as given, in the estimates table, estimates.json and a model read back (D-19.321)."""
    assert math.exp(math.log(value)) != value  # the values this test is about
    fit = fit_population(
        _data(n=12), MONO, fix={"k": value}, settings=SaemSettings(seed=1, k1=10, k2=5), compute_se=False
    )
    est = fit.estimates.set_index(["kind", "parameter"])
    assert est.loc[("typical", "k"), "estimate"] == value
    doc = json.loads(json.dumps(fit.to_dict()))
    assert doc["typical"]["k"] == value
    assert next(r for r in doc["estimates"] if r["parameter"] == "k")["estimate"] == value
    assert f'"k": {value!r}' in json.dumps(doc["typical"])
    back = PopulationModel.from_dict(doc, model=MONO)
    assert back.to_dict()["typical"]["k"] == value


@settings(max_examples=property_examples(60), deadline=None)
@given(value=st.floats(0.01, 10.0))
def test_any_fixed_value_round_trips_exactly(value: float) -> None:
    """Whatever the value, the estimates row, `typical` and a model written, read and written again give it
    back bit for bit (D-19.321)."""
    from cartrial.kinetics.popfit import PopulationSpec, Theta
    from cartrial.kinetics.popfit.fit import _estimates_table

    spec = PopulationSpec(MONO, iiv=("level",), fixed=("k",))
    theta = Theta(np.log([50.0, value]), np.zeros(0), np.eye(1) * 0.2, np.array([0.15]))
    model = PopulationModel(spec, theta, fixed_values={"k": value})
    assert model.typical()["k"] == value
    back = PopulationModel.from_dict(json.loads(json.dumps(model.to_dict())), model=MONO)
    assert back.fixed_values == {"k": value} and back.to_dict()["typical"]["k"] == value
    table = _estimates_table(
        spec, theta, np.eye(4), np.full(4, 0.1), np.zeros((4, 1)), True, fixed_values={"k": value}
    )
    assert table.set_index("parameter").loc["k", "estimate"] == value
