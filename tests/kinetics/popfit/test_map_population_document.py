"""`kinetics map --population FILE` reads a user's file: every way it can be wrong is a located error, exit 2
(issue 19 §4; the misuse sweep cli-sweep, D-19.337). Before: an integer of 5000 digits and a document nested
100000 deep were tracebacks, an unknown `data.time_unit` a KeyError traceback, and a negative variance in
omega, another `format` or a `parameters` list not the model's were used without a word (exit 0)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
ESTIMATES = REPO / "tests" / "data" / "popfit" / "estimates.json"
SAMPLES = REPO / "examples" / "ct103a-nmosd" / "study" / "pk_samples.csv"


def _edited(change: Any) -> str:
    document = json.loads(ESTIMATES.read_text(encoding="utf-8"))
    change(document)
    return json.dumps(document)


CASES = {
    "huge-integer": (
        ESTIMATES.read_text(encoding="utf-8").replace('"n_subjects": 12', '"n_subjects": ' + "9" * 5000),
        "cannot read the population model: not JSON: a number of more than 4300 digits",
    ),
    "deep": (
        "[" * 100000 + "]" * 100000,
        "cannot read the population model: not JSON: nested deeper than 100 levels",
    ),
    "time-unit": (
        _edited(lambda d: d["data"].__setitem__("time_unit", "fortnight")),
        "data.time_unit: not a time unit (got 'fortnight'); allowed: min | h | day | week",
    ),
    "negative-variance": (
        _edited(lambda d: d["omega"][0].__setitem__(0, -1.0)),
        "omega: omega is not a covariance matrix",
    ),
    "asymmetric-omega": (
        _edited(lambda d: d["omega"][0].__setitem__(1, 0.1)),
        "omega: omega is not a covariance matrix",
    ),
    "format": (
        _edited(lambda d: d.__setitem__("format", "cartrial.popfit/9")),
        "format: not a format this release reads; allowed: cartrial.popfit/1",
    ),
    "parameters": (
        _edited(lambda d: d.__setitem__("parameters", ["cmax"])),
        "parameters: the parameters listed are not the model's",
    ),
    # a variance no log-normal can mean was used (D-19.374)
    "huge-variance": (
        _edited(lambda d: d["omega"][0].__setitem__(0, 1e300)),
        "omega: the variance of foldx in omega is out of range (a fit that estimates one is labelled NOT "
        "CONVERGED); allowed: variances of log-normal parameters 0 to 100 on the log scale",
    ),
    # Python's words were shown: "not a cartrial population model (KeyError: 'error')" (D-19.373)
    "missing-key": (
        _edited(lambda d: d.pop("error")),
        "not a cartrial population model (the key error is missing)",
    ),
    # a traceback, a silent misreading or an error without the file before (D-19.404)
    "covariate-kind": (
        _edited(
            lambda d: d.__setitem__(
                "covariates",
                [{"parameter": "cmax", "label": "b", "kind": "quadratic", "estimate": 0.1, "centre": 1.0}],
            )
        ),
        "covariates[0].kind: not a kind of covariate effect; allowed: power | linear | categorical",
    ),
    "covariate-centre": (
        _edited(
            lambda d: d.__setitem__(
                "covariates", [{"parameter": "cmax", "label": "b", "kind": "power", "estimate": 0.1}]
            )
        ),
        "covariates[0].centre: a power effect needs its centre; allowed: a finite number > 0",
    ),
    "iiv-name": (
        _edited(lambda d: d["iiv"].__setitem__(0, "clearance")),
        "iiv[0]: not a parameter of the model; allowed: foldx | tmax_days",
    ),
    "converged-text": (
        _edited(lambda d: d.__setitem__("converged", "no")),
        "converged: not true or false; allowed: true | false",
    ),
    "problems-number": (
        _edited(lambda d: d.__setitem__("convergence_problems", 5)),
        "convergence_problems: not a list of texts",
    ),
    "data-text": (_edited(lambda d: d.__setitem__("data", "x")), "data: not a mapping"),
    "last-time-text": (
        _edited(lambda d: d["data"].__setitem__("last_time", "day 90")),
        "data.last_time: not a number",
    ),
    "units-number": (_edited(lambda d: d.__setitem__("units", 5)), "units: not a list of units"),
    "error-kind": (
        _edited(lambda d: d["error"].__setitem__("kind", "exponential")),
        "error.kind: not an allowed value; allowed: additive | proportional | combined",
    ),
    "blq-method": (
        _edited(lambda d: d.__setitem__("blq", "m9")),
        "blq: not an allowed value; allowed: m3 | m1",
    ),
    "wrong-kind": (
        _edited(lambda d: d.__setitem__("omega", "x")),
        "omega: not a matrix of the parameters of iiv; allowed: 6 rows of 6 numbers",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_population_document_it_cannot_use_is_located(cli: Any, tmp_path: Path, case: str) -> None:
    text, message = CASES[case]
    population = tmp_path / "estimates.json"
    population.write_text(text, encoding="utf-8")
    args = ["kinetics", "map", str(SAMPLES), "--patient", "CT-001", "--population", str(population)]
    result = cli(*args, "--no-figures")
    assert result.exit_code == 2, (result.exit_code, result.stderr[-1500:])
    assert "Traceback" not in result.stderr
    assert f"{population}" in result.stderr and message in result.stderr, result.stderr


def test_the_written_document_is_still_read(cli: Any) -> None:
    args = ["kinetics", "map", str(SAMPLES), "--patient", "CT-001", "--population", str(ESTIMATES)]
    assert cli(*args, "--no-figures").exit_code == 0
