"""Every number of a scenario has a declared finite range, checked when the scenario is read (issue 19 §4).

A misuse sweep of `simulate trial` (cli-sweep) found scenario numbers bounded below only: `kinetics:
{reference_cells_per_kg: 1e-300}` ran until killed, `population: {age_years: {mean: 1e300}}` and a huge
SD ended in a pydantic traceback from the candidate model, and `cmax`, `foldx`, `alpha_per_day`,
`lloq_copies_per_ug: 1e300`, … wrote a meaningless simulation with exit 0.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cartrial.errors import InputError
from cartrial.simulation import parse_scenario

HEAD = "name: t\nprotocol: protocol.yaml\n"

OUT_OF_RANGE = [
    ("kinetics: {reference_cells_per_kg: 1.0e-300}", "kinetics.reference_cells_per_kg"),
    ("kinetics: {cmax: 1.0e+300}", "kinetics.cmax"),
    ("kinetics: {foldx: 1.0e+300}", "kinetics.foldx"),
    ("kinetics: {tmax_days: 1.0e-300}", "kinetics.tmax_days"),
    ("kinetics: {alpha_per_day: 1.0e+300}", "kinetics.alpha_per_day"),
    ("kinetics: {beta_per_day: 1.0e+300}", "kinetics.beta_per_day"),
    ("kinetics: {lloq_copies_per_ug: 1.0e+300}", "kinetics.lloq_copies_per_ug"),
    ("kinetics: {persistence_day: 1.0e+300}", "kinetics.persistence_day"),
    ("population: {age_years: {mean: 1.0e+300, sd: 1}}", "population.age_years"),
    ("population: {age_years: {mean: 45, sd: 1.0e+300}}", "population.age_years"),
    ("population: {weight_kg: {mean: -50, sd: 1}}", "population.weight_kg"),
    ("population: {age_years: {mean: 45, sd: 12, min: 80, max: 16}}", "population.age_years"),
    ("population: {edss: {mean: 4, sd: 1, max: 12}}", "population.edss"),
    # log-normals (D-19.338): 1e7 relapses ran for ever, 1e9 years of disease was an OverflowError
    ("population: {relapses_24m: {median: 1.0e+7}}", "population.relapses_24m.median"),
    ("population: {disease_duration_years: {median: 1.0e+9}}", "population.disease_duration_years.median"),
    ("manufacturing: {vein_to_vein_days: {median: 1.0e+300}}", "manufacturing.vein_to_vein_days.median"),
    ("toxicity: {crs: {intercepts: [3, -1], duration_days: {median: 1.0e+9}}}", "toxicity.crs.duration_days"),
    ("population: {screening: {neutrophils_10e9_l: {median: 1, max: 1.0e+9}}}", "population.screening"),
    # the keys a second sweep found unbounded (D-19.369), and a start that leaves no room (D-19.370)
    ("data_cutoff_day: 1.0e+12", "data_cutoff_day"),
    ("accrual: {candidates_per_month: 1.0e-300}", "accrual.candidates_per_month"),
    ("pd: {titre_fall_steps: 1.0e+300}", "pd.titre_fall_steps"),
    ("pd: {titre_fall_steps: 1.0e-300}", "pd.titre_fall_steps"),
    ('accrual: {start_date: "9999-12-31"}', "accrual.start_date"),
    # each probability at its position, never the list as Python writes it (D-19.373)
    ("toxicity: {fixed_dlt_probability: [0.1, 1.5]}", "toxicity.fixed_dlt_probability[1]"),
]


def _numeric_keys(model: object, path: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    """Every number of the scenario model (a float or int field, optional or not), by its key path."""
    import typing

    from pydantic import BaseModel

    assert isinstance(model, BaseModel)
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        given = typing.get_args(info.annotation) or (info.annotation,)
        kinds = {kind for kind in given if kind is not type(None)}
        if isinstance(value, BaseModel):
            yield from _numeric_keys(value, (*path, name))
        elif kinds and kinds <= {int, float}:
            yield (*path, name)


def _nested(path: tuple[str, ...], value: float) -> str:
    """`a: {b: {c: value}}`, the flow YAML of the key path."""
    text = repr(value)
    for key in reversed(path[1:]):
        text = f"{{{key}: {text}}}"
    return f"{path[0]}: {text}"


def test_every_number_of_a_scenario_has_a_finite_range() -> None:
    """Walks the scenario model: a new number cannot be left bounded on one side only (D-19.369)."""
    from cartrial.simulation.scenario import Scenario

    keys = list(_numeric_keys(Scenario(name="t", protocol="p.yaml")))
    assert len(keys) >= 40
    accepted = []
    for path in keys:
        for value in (1.0e300, -1.0e300):
            try:
                parse_scenario(HEAD + _nested(path, value) + "\n", "s.yaml")
            except InputError:
                continue
            accepted.append((".".join(path), value))
    assert not accepted, accepted


def test_every_lognormal_of_a_scenario_has_a_range() -> None:
    """A new log-normal key cannot escape the rule: `_lognormals` finds each one and its range."""
    from cartrial.simulation.scenario import Scenario, _lognormals

    found = list(_lognormals(Scenario(name="t", protocol="p.yaml")))
    assert len(found) >= 13


@pytest.mark.parametrize(("yaml_text", "field"), OUT_OF_RANGE)
def test_a_scenario_number_outside_its_range_is_located(yaml_text: str, field: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_scenario(HEAD + yaml_text + "\n", "s.yaml")
    text = str(caught.value)
    assert f"s.yaml, line 3, {field}" in text, text
    assert "allowed:" in text, text


def test_a_typical_value_has_the_popfit_initial_rule() -> None:
    """One rule for a Stein 2019 typical value given by the user: `kinetics popfit --initial` (D-19.37)."""
    from cartrial.kinetics.popfit.structural import STEIN2019

    allowed = STEIN2019.initial_rule(STEIN2019.index("cmax")).text()
    with pytest.raises(
        InputError, match=re.escape(f"kinetics.cmax: out of range (got 1e+300); allowed: {allowed}")
    ):
        parse_scenario(HEAD + "kinetics: {cmax: 1.0e+300}\n", "s.yaml")


@pytest.mark.parametrize(
    "yaml_text",
    [
        "population: {correlations: [{between: [edss, age_years], rho: 0.5}, "
        "{between: [age_years, edss], rho: -0.5}]}",
        "population: {correlations: [{between: [edss, age_years], rho: 0.5}, "
        "{between: [edss, age_years], rho: 0.5}]}",
    ],
)
def test_a_correlation_pair_given_twice_is_refused(yaml_text: str) -> None:
    """Two correlations of the same pair (0.5 and -0.5) were accepted, the last silently winning."""
    with pytest.raises(InputError, match=r"population\.correlations\[1\]\.between: pair given twice"):
        parse_scenario(HEAD + yaml_text + "\n", "s.yaml")


def test_the_reference_scenario_is_within_every_range() -> None:
    from cartrial.simulation import load_scenario

    load_scenario(Path(__file__).resolve().parents[2] / "examples" / "ct103a-nmosd" / "scenario.yaml")


def test_a_hang_of_the_trial_simulator_is_refused_at_once(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`reference_cells_per_kg: 1e-300` ran `simulate trial` past a minute (killed)."""
    from cartrial import examples

    protocol = examples.path("ct103a-nmosd") / "protocol.yaml"
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        f"name: t\nprotocol: {protocol}\npool_size: 60\nfollow_up_days: 180\n"
        "kinetics: {reference_cells_per_kg: 1.0e-300}\n",
        encoding="utf-8",
    )
    result = cli(
        "simulate", "trial", "--scenario", str(scenario), "--trials", "5", "--out", str(tmp_path / "o")
    )
    assert result.exit_code == 2, result.stderr
    assert "kinetics.reference_cells_per_kg: out of range" in result.stderr, result.stderr


def test_an_expansion_size_has_the_protocol_rule_at_its_line() -> None:
    """`design: {expansion_patients: 20000}` passed the scenario (1 to 100000) and was refused later by the
    protocol's expansion rule as "n_patients: out of range", without file, line or key (D-19.339)."""
    from cartrial.protocol.design_options import PATIENTS

    with pytest.raises(InputError) as caught:
        parse_scenario(HEAD + "design: {expansion_patients: 20000}\n", "s.yaml")
    expected = (
        f"s.yaml, line 3, design.expansion_patients: out of range (got 20000); allowed: {PATIENTS.text()}"
    )
    assert expected in str(caught.value), str(caught.value)


def test_the_expansion_option_has_the_protocol_rule(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from cartrial.protocol.design_options import PATIENTS

    scenario = Path(__file__).resolve().parent / "data" / "tiny_scenario.yaml"
    args = ["simulate", "study", "--scenario", str(scenario), "--expansion-patients", "20000"]
    result = cli(*args, "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert f"--expansion-patients: out of range (got 20000); allowed: {PATIENTS.text()}" in result.stderr


def test_a_grid_point_outside_a_range_names_the_key_and_the_range(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A grid point a scenario check refuses was shown as "sweep point {...}: out of range (got {'model':
    'stein2019', 'foldx': 3900.0, …})": the whole section as a Python dict, no allowed text (D-19.341)."""
    scenario = Path(__file__).resolve().parent / "data" / "tiny_scenario.yaml"
    grid = tmp_path / "grid.yaml"
    grid.write_text(
        "trials: 5\naxes:\n  - parameter: kinetics.reference_cells_per_kg\n    values: [1.0e+6, 1.0e-300]\n",
        encoding="utf-8",
    )
    args = ["simulate", "sweep", "--scenario", str(scenario), "--grid", str(grid), "--workers", "0"]
    result = cli(*args, "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert (
        f"{grid}, kinetics.reference_cells_per_kg: out of range (grid point "
        "kinetics.reference_cells_per_kg=1e-300) (got 1e-300); allowed: 1 to 1000000000000 cells/kg"
    ) in result.stderr, result.stderr
    assert "{'" not in result.stderr


def test_a_design_override_the_protocol_refuses_names_the_scenario(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`design: {overrides: {start_level: 99}}` was "design.overrides.start_level: design override: out of
    range (got 99)" without the scenario file or what is allowed (D-19.341)."""
    from cartrial import examples

    scenario = tmp_path / "s.yaml"
    protocol = examples.path("ct103a-nmosd") / "protocol.yaml"
    scenario.write_text(
        f"name: t\nprotocol: {protocol}\ndesign: {{overrides: {{start_level: 99}}}}\n", "utf-8"
    )
    result = cli(
        "simulate", "trial", "--scenario", str(scenario), "--trials", "5", "--out", str(tmp_path / "o")
    )
    assert result.exit_code == 2
    assert f"{scenario}, design.overrides.start_level: design override: out of range (got 99); allowed:" in (
        result.stderr
    ), result.stderr


def test_the_persistence_day_and_the_follow_up_share_one_longest_follow_up() -> None:
    """`kinetics.persistence_day` is bounded by the longest follow-up a scenario allows: one constant,
    `MAX_FOLLOW_UP_DAYS` (3650 days), where each wrote 3650 (D-19.605)."""
    from cartrial.simulation.scenario import MAX_FOLLOW_UP_DAYS, PERSISTENCE_DAY, Scenario

    bounds = [getattr(m, "le", None) for m in Scenario.model_fields["follow_up_days"].metadata]
    assert MAX_FOLLOW_UP_DAYS == 3650
    assert PERSISTENCE_DAY.high == MAX_FOLLOW_UP_DAYS and MAX_FOLLOW_UP_DAYS in bounds
