"""A fitted population model referenced by a simulation scenario (issue 17): ``kinetics.population_model``
names the estimates.json of `cartrial kinetics popfit`, whose typical values, omega² and residual SD then
drive the virtual patients' kinetics; a fit that did not converge, of another model, or with covariates is
refused with the file named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cartrial.errors import InputError
from cartrial.kinetics.models import STEIN_PARAMETERS
from cartrial.simulation import load_scenario
from cartrial.simulation.models import kinetic_parameters

REPO = Path(__file__).resolve().parents[2]
FIT = REPO / "tests" / "data" / "popfit" / "estimates.json"
PROTOCOL = REPO / "src" / "cartrial" / "examples" / "ct103a-nmosd" / "protocol.yaml"


def _scenario(tmp_path: Path, **changes: object) -> tuple[Path, dict]:
    doc = json.loads(FIT.read_text())
    doc.update({"status": "converged", "converged": True, **changes})
    fit_dir = tmp_path / "fit"
    fit_dir.mkdir()
    (fit_dir / "estimates.json").write_text(json.dumps(doc))
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        f"name: popfit\nprotocol: {PROTOCOL}\nkinetics:\n  population_model: fit/estimates.json\n",
        encoding="utf-8",
    )
    return scenario, doc


def test_scenario_takes_typical_values_variability_and_residual_from_the_fit(tmp_path: Path) -> None:
    path, doc = _scenario(tmp_path)
    scenario, _ = load_scenario(path)
    kin = scenario.kinetics
    for name in STEIN_PARAMETERS:
        assert getattr(kin, name) == pytest.approx(doc["typical"][name])
    omega = np.asarray(doc["omega"])
    for k, name in enumerate(doc["iiv"]):
        assert kin.omega2[name] == pytest.approx(omega[k, k])
    assert kin.residual_sd_log == pytest.approx(doc["sigma"]["a"])
    # the virtual patients' log-parameters have the fitted variances (F_B capped at 1 aside)
    eta = np.random.default_rng(1).standard_normal((20000, 6))
    values = kinetic_parameters(kin, eta)
    for j, name in enumerate(STEIN_PARAMETERS):
        if name == "fb":
            continue
        assert np.var(np.log(values[:, j])) == pytest.approx(kin.omega2[name], rel=0.05)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"status": "NOT CONVERGED", "converged": False}, "NOT CONVERGED"),
        ({"model": "one_compartment_oral"}, "not a stein2019"),
        (
            {
                "covariates": [
                    {"parameter": "cmax", "label": "cmax~dose_level", "kind": "cat", "estimate": 0.1}
                ]
            },
            "covariate",
        ),
    ],
)
def test_unusable_fits_are_refused_with_the_file_named(
    tmp_path: Path, changes: dict[str, object], expected: str
) -> None:
    path, _ = _scenario(tmp_path, **changes)
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    assert expected in str(caught.value) and "estimates.json" in str(caught.value)


def test_a_missing_fit_file_names_the_scenario_line(tmp_path: Path) -> None:
    path, _ = _scenario(tmp_path)
    (tmp_path / "fit" / "estimates.json").unlink()
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    problem = caught.value.problems[0]
    assert problem.file == str(path) and problem.line == 4
    assert "population_model" in str(problem.field)


@pytest.mark.parametrize("omega2", [50.0, 100.0])
def test_a_variance_map_reads_drives_the_simulation(tmp_path: Path, omega2: float) -> None:
    """One range for a log-scale ω² (`cartrial.allowed.OMEGA_LOG_VARIANCE`, D-19.409): a converged fit's ω²
    up to 100 is read by `kinetics map`; the scenario refused anything above 10 ("must be ≥ 0 and ≤ 10")."""
    doc = json.loads(FIT.read_text())
    k = doc["iiv"].index("cmax")
    doc["omega"][k][k] = omega2
    path, _ = _scenario(tmp_path, omega=doc["omega"])
    scenario, _ = load_scenario(path)
    assert scenario.kinetics.omega2["cmax"] == pytest.approx(omega2)


@pytest.mark.parametrize(
    ("omega2", "scale", "accepted"),
    [(10.0, 10.0, True), (50.0, 2.0, True), (100.0, 1.0, True), (50.0, 3.0, False), (101.0, 1.0, False)],
)
def test_the_variance_simulated_is_in_the_one_range(omega2: float, scale: float, accepted: bool) -> None:
    """The variance the simulator draws with, ω² × omega2_scale, is within 0 to 100 on the log scale — the
    bound D-19.374 kept by ω² ≤ 10 and omega2_scale ≤ 10 — and is named when it is not."""
    from cartrial.simulation import parse_scenario

    text = (
        f"name: x\nprotocol: {PROTOCOL}\nkinetics:\n  omega2_scale: {scale}\n  omega2:\n    cmax: {omega2}\n"
    )
    if accepted:
        assert parse_scenario(text, "scenario.yaml").kinetics.omega2["cmax"] == omega2
    else:
        with pytest.raises(InputError) as caught:
            parse_scenario(text, "scenario.yaml")
        message = str(caught.value)
        assert "omega2.cmax" in message and "0 to 100" in message and "scenario.yaml" in message, message


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("typical", {"foldx": True}, "typical.foldx"),
        ("typical", {"cmax": "2e4"}, "typical.cmax"),
        ("sigma", {"a": True}, "sigma.a"),
        ("sigma", {"a": 1e300}, "sigma.a"),
        ("converged", "yes", "converged"),
    ],
)
def test_a_number_of_the_fit_is_read_as_map_reads_it(
    tmp_path: Path, key: str, value: object, field: str
) -> None:
    """The scenario reads the fit by the one reader of `kinetics map` (D-19.466): before, a typical value
    ``true`` was taken as 1.0, a text "2e4" as 20000, a residual SD of 1e300 was simulated and "converged":
    "yes" passed as converged."""
    doc = json.loads(FIT.read_text())
    changed = {**doc[key], **value} if isinstance(value, dict) else value
    path, _ = _scenario(tmp_path, **{key: changed})
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    fields = [p.field for p in caught.value.problems]
    assert field in fields and all(
        p.file and p.file.endswith("estimates.json") for p in caught.value.problems
    )


@pytest.mark.parametrize("covariates", [True, 5, "cmax~dose"])
def test_covariates_of_another_shape_are_refused_by_the_one_reader(
    tmp_path: Path, covariates: object
) -> None:
    """The scenario reads the fit by `PopulationModel.from_dict` before any check of its own: a
    ``covariates`` of another shape was a TypeError traceback of the scenario's own reading."""
    path, _ = _scenario(tmp_path, covariates=covariates)
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    assert all(p.file and p.file.endswith("estimates.json") for p in caught.value.problems)
    assert "covariates" in [p.field for p in caught.value.problems]


@pytest.mark.parametrize(
    ("changes", "accepted"),
    [
        ({"converged": False, "status": "converged"}, False),
        ({"converged": True, "status": "whatever"}, True),
        ({"converged": None}, True),  # no key: popfit's default, as map reads it
    ],
)
def test_converged_is_one_rule_with_map(tmp_path: Path, changes: dict[str, object], accepted: bool) -> None:
    """Whether the fit converged is its ``converged`` as `kinetics map` reads it (`from_dict`, default true);
    the scenario had a second rule (``status`` and ``converged`` default false)."""
    path, doc = _scenario(tmp_path, **changes)
    if changes.get("converged", 0) is None:
        del doc["converged"]
        (tmp_path / "fit" / "estimates.json").write_text(json.dumps(doc))
    if accepted:
        assert load_scenario(path)[0].kinetics.cmax == pytest.approx(doc["typical"]["cmax"])
    else:
        with pytest.raises(InputError) as caught:
            load_scenario(path)
        assert [p.field for p in caught.value.problems] == ["converged"]


def test_an_unknown_model_name_is_not_quoted(tmp_path: Path) -> None:
    """The file's ``model`` text is named only when it is a model name (D-12.2: it could be any text)."""
    path, _ = _scenario(tmp_path, model="SECRET-PATIENT-CT-001")
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    assert "SECRET" not in str(caught.value) and "model" in [p.field for p in caught.value.problems]


def test_a_fit_residual_sd_map_reads_is_simulated(tmp_path: Path) -> None:
    """A residual SD that `kinetics map` reads (≤ 10) was refused by the simulator (kinetics.residual_sd_log
    ≤ 5) with a located message (D-19.532); the two ranges are now one (D-19.600): the fit drives the
    simulation. The located refusal of a fit value beyond the simulator is tested on ω² × omega2_scale
    below, the one such value left."""
    path, _ = _scenario(tmp_path, sigma={"a": 7.0})
    scenario, _ = load_scenario(path)
    assert scenario.kinetics.residual_sd_log == 7.0


def test_a_fit_variance_beyond_the_simulator_once_scaled_names_omega2_scale(tmp_path: Path) -> None:
    """ω² = 20 of tmax_days is within the fit's range (≤ 100) but, times the scenario's omega2_scale 10, the
    variance simulated is not: the problem is at the fit's key and names both scenario keys of the product
    (D-19.532)."""
    path, doc = _scenario(tmp_path)
    omega = doc["omega"]
    omega[1][1] = 20.0
    (tmp_path / "fit" / "estimates.json").write_text(json.dumps({**doc, "omega": omega}))
    path.write_text(path.read_text() + "  omega2_scale: 10\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    first = str(caught.value).splitlines()[0]
    assert first.startswith(f"{tmp_path / 'fit' / 'estimates.json'}, omega[1][1]: "), first
    assert "kinetics.omega2.tmax_days" in first and "kinetics.omega2_scale" in first, first
    assert "validation error" not in str(caught.value) and "Input should" not in str(caught.value)


def test_a_value_of_another_kind_is_not_allowed_and_a_bound_out_of_range() -> None:
    """A bound refused is "out of range"; a value of another kind "not allowed" — never "out of range" for a
    value that has no range (D-19.532)."""
    from pydantic import ValidationError

    from cartrial.simulation.scenario import Kinetics, _kinetics_issues

    with pytest.raises(ValidationError) as kind:
        Kinetics.model_validate({"iiv": "perhaps"})
    with pytest.raises(ValidationError) as bound:
        Kinetics.model_validate({"dose_exponent": 4.0})  # pydantic's le=3 (residual_sd_log: D-19.600)
    assert [(i.path, i.message) for i in _kinetics_issues(kind.value)] == [(("iiv",), "not allowed")]
    assert [(i.path, i.message) for i in _kinetics_issues(bound.value)] == [
        (("dose_exponent",), "out of range")
    ]
