"""Scenario files: located errors, impossible populations reported, the CLI."""

from __future__ import annotations

import json

import pytest

from cartrial.errors import InputError
from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare


def test_reference_scenario_loads():
    scenario, protocol = load_scenario("examples/ct103a-nmosd/scenario.yaml")
    assert scenario.name == "ct103a-nmosd-reference"
    assert protocol.name == "protocol.yaml"


def test_bad_scenario_errors_name_line_and_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\n"
        "protocol: missing.yaml\n"
        "accrual:\n"
        "  candidates_per_month: -2\n"
        "toxicity:\n"
        "  crs:\n"
        "    intercepts: [1.0, 2.0]\n"
        "unknown_section: 1\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    problems = caught.value.problems
    by_line = {p.line: p for p in problems}
    assert set(by_line) == {4, 7, 8}
    assert "candidates_per_month" in str(by_line[4].field)
    assert "intercepts" in str(by_line[7].field) or "intercepts" in by_line[7].message
    assert all(p.file == str(path) for p in problems)


def test_missing_protocol_file_is_located(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nprotocol: nowhere.yaml\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    problem = caught.value.problems[0]
    assert (problem.line, problem.field, problem.value) == (2, "protocol", "nowhere.yaml")


def test_wrong_number_of_fixed_probabilities(make_scenario):
    scenario, protocol = load_scenario(make_scenario({"toxicity": {"fixed_dlt_probability": [0.1]}}))
    with pytest.raises(InputError, match="one value per dose level"):
        prepare(scenario, load_protocol(protocol), 0)


def test_impossible_eligibility_is_reported_not_looped(make_scenario):
    # nobody has a relapse: the protocol's relapse-activity rule can never be met
    path = make_scenario({"population": {"relapses_24m": {"median": 0.001, "sd_log": 0.0}}, "pool_size": 200})
    scenario, protocol = load_scenario(path)
    with pytest.raises(InputError) as caught:
        prepare(scenario, load_protocol(protocol), 0)
    message = str(caught.value)
    assert "inc_relapse_activity" in message and "0 of 200" in message


def test_bad_design_override_is_located(make_scenario):
    scenario, protocol = load_scenario(make_scenario({"design": {"overrides": {"cohort_size": 0}}}))
    with pytest.raises(InputError) as caught:
        prepare(scenario, load_protocol(protocol), 0)
    assert caught.value.problems[0].field == "design.overrides.cohort_size"


def test_cli_trial_json_and_files(cli, make_scenario, tmp_path):
    path = make_scenario({"pool_size": 100})
    out = tmp_path / "oc"
    result = cli(
        "simulate",
        "trial",
        "--scenario",
        str(path),
        "--trials",
        "200",
        "--seed",
        "1",
        "--out",
        str(out),
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["trials"] == 200
    assert abs(sum(d["selection_pct"] for d in data["doses"]) + data["no_mtd_pct"] - 100) < 1e-9
    assert {p.name for p in out.iterdir()} == {
        "oc.json",
        "doses.csv",
        "metrics.csv",
        "trials.csv",
        "summary.html",
    }
    assert "<svg" in (out / "summary.html").read_text(encoding="utf-8")


def test_cli_bad_scenario_exit_2(cli, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nprotocol: nowhere.yaml\n", encoding="utf-8")
    result = cli("simulate", "trial", "--scenario", str(path))
    assert result.exit_code == 2
    assert "nowhere.yaml" in result.stderr and "Traceback" not in result.stderr


def test_docstring_examples_of_the_simulation_package():
    import doctest

    from cartrial.simulation import scenario

    result = doctest.testmod(scenario)
    assert result.attempted >= 1 and result.failed == 0


def test_unknown_covariates_and_pd_parameters_are_located(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\n"
        "protocol: p.yaml\n"
        "toxicity:\n"
        "  crs:\n"
        "    intercepts: [1.0]\n"
        "    covariates: {shoe_size: 0.1}\n"
        "pd:\n"
        "  overrides: {k_magic: 1.0, k_kill: -1}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    located = {(p.line, str(p.value)) for p in caught.value.problems}
    assert (6, "shoe_size") in located
    assert {line for line, _ in located} >= {6, 8}


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(8)
)


@pytest.mark.parametrize("kind", ["scenario", "grid"])
def test_alias_bombs_and_duplicate_keys_are_refused(tmp_path, kind):
    import time

    from cartrial.simulation.sweep import load_grid

    load = load_scenario if kind == "scenario" else load_grid
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BOMB + "name: x\n", encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(InputError):
        load(bomb)
    assert time.perf_counter() - started < 1.0
    duplicate = tmp_path / "dup.yaml"
    duplicate.write_text("name: x\nname: y\nprotocol: p.yaml\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load(duplicate)
    assert any(p.line == 2 for p in caught.value.problems)


@pytest.mark.parametrize(
    ("start", "message"),
    [("1850-06-01", "the screening date is out of range"), ("2021-02-30", "not a calendar date")],
)
def test_accrual_start_is_a_screening_date(make_scenario, start, message):
    """Virtual candidates are screened from the accrual start: a start before 1900 (`SCREENING_DATES`) or
    a date the calendar does not have ended in a traceback when the first candidate was screened; refused
    at its line (D-19.24)."""
    path = make_scenario({"accrual": {"start_date": start}})
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    (problem,) = caught.value.problems
    assert problem.field == "accrual.start_date" and problem.message == message and problem.line
