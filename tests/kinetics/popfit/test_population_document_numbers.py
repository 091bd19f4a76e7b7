"""Every number `kinetics map --population` reads of an estimates.json is a JSON number in its range, refused
at its key with the file and the range (D-19.464). Before, a residual SD of 1e300 was used (exit 0), a
typical value given as ``true`` was read as 1.0 and one given as the text ``"2e4"`` as 20000."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import InputError
from cartrial.kinetics.popfit import PopulationModel

REPO = Path(__file__).resolve().parents[3]
ESTIMATES = REPO / "tests" / "data" / "popfit" / "estimates.json"
SAMPLES = REPO / "examples" / "ct103a-nmosd" / "study" / "pk_samples.csv"


def _document() -> dict[str, Any]:
    return dict(json.loads(ESTIMATES.read_text(encoding="utf-8")))


def _set(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    document = _document()
    target: Any = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


# (the edited key, its value, the key path the error names, what the error says is allowed)
CASES = {
    "sigma-huge": (("sigma", "a"), 1e300, "sigma.a", "at most 10"),
    "sigma-true": (("sigma", "a"), True, "sigma.a", "at most 10"),
    "sigma-text": (("sigma", "a"), "0.3", "sigma.a", "at most 10"),
    "sigma-zero": (("sigma", "a"), 0, "sigma.a", "greater than 0"),
    "typical-true": (("typical", "foldx"), True, "typical.foldx", "a number"),
    "typical-text": (("typical", "cmax"), "2e4", "typical.cmax", "a number"),
    "omega-true": (("omega", 1, 1), True, "omega[1][1]", "a number"),
    "omega-text": (("omega", 0, 1), "0", "omega[0][1]", "a number"),
    "value-unit-true": (("data", "value_unit"), True, "data.value_unit", "a unit"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_number_of_the_population_file_is_checked_at_its_key(cli: Any, tmp_path: Path, case: str) -> None:
    path, value, key, allowed = CASES[case]
    population = tmp_path / "estimates.json"
    population.write_text(json.dumps(_set(path, value)), encoding="utf-8")
    args = ["kinetics", "map", str(SAMPLES), "--patient", "CT-001", "--population", str(population)]
    result = cli(*args, "--no-figures")
    assert result.exit_code == 2, (result.exit_code, result.stderr[-1500:])
    shown = " ".join(result.stderr.split())
    assert f"{population}, {key}:" in shown, shown
    assert "allowed:" in shown and allowed in shown.split(f"{key}:")[1], shown
    assert "Traceback" not in result.stderr


def test_an_infinite_number_of_the_population_file_is_refused_by_the_json_reader(
    cli: Any, tmp_path: Path
) -> None:
    """``data.last_time`` written as ``Infinity`` (Python's json writes a float inf so) was refused at its key
    (D-19.464); since D-19.1046 the one JSON reader refuses the token first, located at its line and column
    (RFC 8259 §6: Infinity is not a JSON number). Changed by design from the key-located case
    ``last-time-infinite`` of the test above."""
    population = tmp_path / "estimates.json"
    population.write_text(json.dumps(_set(("data", "last_time"), math.inf)), encoding="utf-8")
    args = ["kinetics", "map", str(SAMPLES), "--patient", "CT-001", "--population", str(population)]
    result = cli(*args, "--no-figures")
    assert result.exit_code == 2, (result.exit_code, result.stderr[-1500:])
    shown = " ".join(result.stderr.split())
    assert str(population) in shown and "NaN and Infinity are not JSON numbers" in shown, shown
    assert "line 1, column" in shown, shown
    assert "Traceback" not in result.stderr


def test_a_covariate_estimate_given_as_true_is_refused() -> None:
    document = _set(
        ("covariates",),
        [
            {
                "parameter": "cmax",
                "label": "w",
                "kind": "power",
                "estimate": True,
                "centre": 70.0,
                "covariate": "w",
            }
        ],
    )
    with pytest.raises(InputError) as caught:
        PopulationModel.from_dict(document, source="e.json")
    assert [(p.file, p.field) for p in caught.value.problems] == [("e.json", "covariates[0].estimate")]


def test_every_bad_number_is_named_at_once() -> None:
    document = _set(("sigma", "a"), True)
    document["typical"]["fb"] = "0.01"
    with pytest.raises(InputError) as caught:
        PopulationModel.from_dict(document, source="e.json")
    assert {p.field for p in caught.value.problems} == {"sigma.a", "typical.fb"}


@settings(max_examples=property_examples(150), deadline=None)
@given(
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.integers(min_value=-(10**400), max_value=10**400),
        st.text(max_size=5),
    )
)
def test_a_log_scale_residual_sd_is_read_only_in_its_range(value: Any) -> None:
    """An SD of log y above 10 spreads a sample by a factor e^10 per SD (the bound of a log-scale between-
    subject SD, D-19.374); ≤ 0 is no SD. A bool or a text is no number whatever it spells; an integer beyond
    a float (401 digits) is no finite number."""
    document = _set(("sigma", "a"), value)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    accepted = number and 0 < value <= 10  # NaN and ±inf compare False; a huge int compares exactly
    try:
        model = PopulationModel.from_dict(document, source="e.json")
    except InputError as caught:
        assert not accepted, caught
        assert [p.field for p in caught.problems] == ["sigma.a"]
    else:
        assert accepted
        assert model.theta.sigma[0] == float(value)


@pytest.mark.parametrize(("scale", "kind", "sigma", "beyond"), [
    ("log", "additive", [10.5], ["a"]), ("log", "additive", [10.0], []),
    ("linear", "combined", [2e15, 11.0], ["a", "b"]), ("linear", "proportional", [0.3], []),
])  # fmt: skip
def test_popfit_labels_the_residuals_map_refuses(
    scale: str, kind: str, sigma: list[float], beyond: list[str]
) -> None:
    """The fit's label and map's refusal are one rule: a residual map would refuse is a convergence problem
    saying "kinetics map cannot use this fit" (as D-19.400 for the variances)."""
    import numpy as np

    from cartrial.kinetics.popfit import ErrorModel, PopulationSpec, Theta, get_model
    from cartrial.kinetics.popfit.fit import _runaway_residuals

    spec = PopulationSpec(get_model("biexponential"), ErrorModel(kind, scale))
    theta = Theta(np.zeros(4), np.zeros(0), np.eye(4), np.array(sigma))
    problems = _runaway_residuals(spec, theta, "mg/L")
    assert [p.split()[1] for p in problems] == beyond
    assert all("kinetics map cannot use this fit" in p for p in problems)
    document = PopulationModel(spec, theta).to_dict()
    if beyond:
        with pytest.raises(InputError) as caught:
            PopulationModel.from_dict(document, source="e.json")
        assert [p.field for p in caught.value.problems] == [f"sigma.{n}" for n in beyond]
    else:
        PopulationModel.from_dict(document, source="e.json")


HUGE = 10**400
"""An integer JSON holds and a float does not (Python's json reads it as an int; float() overflows)."""


@settings(max_examples=property_examples(60), deadline=None)
@given(
    st.sampled_from(
        [("typical", "cmax"), ("typical", "fb"), ("omega", 0, 0), ("omega", 1, 0), ("sigma", "a")]
    ),
    st.integers(min_value=HUGE // 10, max_value=HUGE * 10) | st.integers(max_value=-HUGE // 10),
)
def test_an_integer_beyond_a_float_is_refused_at_its_key(path: tuple[Any, ...], value: int) -> None:
    """A 401-digit integer became inf and then an OverflowError traceback (exit 1); it is "not a finite
    number" at its key."""
    document = _set(path, value)
    if path[0] == "omega":  # symmetric, so the covariance rule is not what refuses it
        document["omega"][path[2]][path[1]] = value
    with pytest.raises(InputError) as caught:
        PopulationModel.from_dict(document, source="e.json")
    key = path[0] + ("." + path[1] if path[0] != "omega" else f"[{path[1]}][{path[2]}]")
    problems = {p.field: p.message for p in caught.value.problems}
    assert key in problems and "not a finite number" in problems[key], problems
    assert all(p.file == "e.json" and p.value is None for p in caught.value.problems)


def test_a_huge_integer_in_the_file_is_said_by_map(cli: Any, tmp_path: Path) -> None:
    population = tmp_path / "estimates.json"
    population.write_text(json.dumps(_set(("typical", "cmax"), HUGE)), encoding="utf-8")
    args = ["kinetics", "map", str(SAMPLES), "--patient", "CT-001", "--population", str(population)]
    result = cli(*args, "--no-figures")
    assert result.exit_code == 2 and "Traceback" not in result.stderr, result.stderr[-1500:]
    assert f"{population}, typical.cmax: not a finite number" in " ".join(result.stderr.split())


@pytest.mark.parametrize(
    ("omega", "field"),
    [
        ("flat-with-true", "omega"),
        ("flat", "omega"),
        ("short-row", "omega[2]"),
        ("rows-of-text", "omega[0]"),
    ],
)
def test_omega_is_a_matrix_of_the_iiv_parameters(omega: str, field: str) -> None:
    """Ω is len(iiv) rows of len(iiv) numbers, as popfit writes it: a flat list of the entries was reshaped
    and read past the number check (a ``true`` in it as 1.0)."""
    document = _document()
    rows = document["omega"]
    flat = [v for row in rows for v in row]
    if omega == "flat-with-true":
        flat[0] = True
        document["omega"] = flat
    elif omega == "flat":
        document["omega"] = flat
    elif omega == "short-row":
        document["omega"][2] = rows[2][:-1]
    else:
        document["omega"][0] = "0.1"
    with pytest.raises(InputError) as caught:
        PopulationModel.from_dict(document, source="e.json")
    assert field in [p.field for p in caught.value.problems], caught.value.problems
    assert all(p.file == "e.json" for p in caught.value.problems)
