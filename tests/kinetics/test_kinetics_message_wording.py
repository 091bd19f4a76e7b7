"""The messages of `nca`, `kinetics fit`, `popfit` and `map` count their nouns (D-19.402): "1 subject",
"2 subjects", never "subject(s)" — as the analysis notes do since D-19.224/D-19.265 (`cartrial.wording`).

Expected forms: English agreement of a noun with the number before it (singular for 1, plural for 0 and
more; "k of n <noun>" agrees with n; a verb after a counted subject agrees with it: "1 subject has", "2
subjects have")."""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import InputError, NotEstimableError
from cartrial.kinetics import nca
from cartrial.kinetics.popfit import PopulationData
from cartrial.kinetics.popfit.pdmodel import read_individual_parameters

SRC = Path(__file__).resolve().parents[2] / "src" / "cartrial"
MESSAGE_MODULES = [
    *sorted((SRC / "kinetics").rglob("*.py")),
    SRC / "commands" / "kinetics_commands.py",
    SRC / "demo" / "popfit.py",
    SRC / "demo" / "kinetics.py",
]


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes of `tree` (module, class and function docstrings)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


@pytest.mark.parametrize("path", MESSAGE_MODULES, ids=lambda p: p.name)
def test_no_message_says_s_in_brackets(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    found = [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in skip
        and re.search(r"[a-z]\(s\)", node.value)
    ]
    assert found == [], found


def _counted(text: str, noun: str) -> list[str]:
    """The counted forms of `noun` in `text` that do not agree with their number."""
    wrong = []
    for match in re.finditer(rf"(?<![\d.])(\d+) ((?:[A-Za-z-]+ ){{0,2}}?)({noun}s?)\b", text):
        if (int(match.group(1)) == 1) == match.group(3).endswith("s"):
            wrong.append(match.group(0))
    return wrong


@settings(max_examples=property_examples(12), deadline=None)
@given(st.integers(1, 4), st.integers(0, 3))
def test_nca_notes_count_subjects_and_missing_concentrations(n_unsorted: int, n_missing: int) -> None:
    rows = []
    for i in range(4):
        times = [4.0, 0.0, 2.0, 6.0] if i < n_unsorted else [0.0, 2.0, 4.0, 6.0]
        concs = [5.0, 0.0, 10.0, np.nan if i < n_missing else 2.0]
        rows += [{"id": f"S{i}", "t": t, "c": c} for t, c in zip(times, concs, strict=True)]
    result = nca(pd.DataFrame(rows), subject="id", time="t", conc="c", time_unit="d", conc_unit="u")
    notes = " | ".join(result.notes)
    assert f"for {n_unsorted} subject{'s' if n_unsorted > 1 else ''}; sorted" in notes
    if n_missing:
        assert f"{n_missing} missing concentration{'s' if n_missing > 1 else ''} dropped" in notes
    assert _counted(notes, "subject") == [] and "(s)" not in notes


def test_one_problem_in_the_nca_input_is_singular() -> None:
    frame = pd.DataFrame({"id": "S", "t": [0.0, 1.0], "c": ["0", "abc"]})
    with pytest.raises(InputError) as raised:
        nca(frame, subject="id", time="t", conc="c", time_unit="d", conc_unit="u")
    assert "1 problem in the NCA input" in str(raised.value)


@pytest.mark.parametrize("n_empty", [1, 2])
def test_subjects_without_a_quantifiable_sample_agree_with_their_count(n_empty: int) -> None:
    values = [[np.nan, np.nan] if i < n_empty else [100.0, 50.0] for i in range(4)]
    with pytest.raises(NotEstimableError) as raised:
        PopulationData.from_arrays([f"S{i}" for i in range(4)], [[1.0, 2.0]] * 4, values, lloq=10.0)
    message = str(raised.value)
    expected = "subject S0 has no" if n_empty == 1 else "subjects S0, S1 have no"
    assert expected in message, message


@pytest.mark.parametrize("n_absent", [1, 2])
def test_missing_kinetic_parameter_columns_agree_with_their_count(n_absent: int) -> None:
    table = pd.DataFrame(
        {"subject": ["A"], "foldx": [10.0], "tmax_days": [10.0], "cmax": [1e4], "alpha_per_day": [0.3]}
    )
    if n_absent == 1:
        table["fb"] = 0.1
    with pytest.raises(InputError) as raised:
        read_individual_parameters(table, ["A"], source="ebe.csv")
    word = "column:" if n_absent == 1 else "columns:"
    assert f"missing kinetic parameter {word}" in str(raised.value)


@pytest.mark.parametrize("n_empty", [1, 2])
def test_the_pronoun_after_subjects_without_a_quantifiable_sample_agrees(n_empty: int) -> None:
    """ "subject S0 has no quantifiable sample …: their parameters … Remove them" — one subject is "it"."""
    values = [[np.nan, np.nan] if i < n_empty else [100.0, 50.0] for i in range(4)]
    with pytest.raises(NotEstimableError) as raised:
        PopulationData.from_arrays([f"S{i}" for i in range(4)], [[1.0, 2.0]] * 4, values, lloq=10.0)
    message = str(raised.value)
    if n_empty == 1:
        assert "its parameters are" in message and "Remove it " in message and "them" not in message, message
    else:
        assert "their parameters are" in message and "Remove them " in message, message


def _stein_document(omega2: list[float]) -> dict[str, object]:
    from cartrial.kinetics.models import STEIN_2019_TYPICAL
    from cartrial.kinetics.popfit import PopulationModel, PopulationSpec, Theta
    from cartrial.kinetics.popfit.structural import STEIN2019

    theta = Theta(np.log(STEIN_2019_TYPICAL.as_array()), np.zeros(0), np.diag(omega2), np.array([0.5]))
    return PopulationModel(PopulationSpec(STEIN2019), theta).to_dict()


@pytest.mark.parametrize("n_beyond", [1, 2])
def test_the_refused_variances_of_omega_are_named_in_order(n_beyond: int) -> None:
    """ "a variance of omega is out of range (of foldx; …)" read as if omega had one variance among others
    unnamed: the sentence names the parameter and agrees with the count."""
    from cartrial.kinetics.popfit import PopulationModel

    omega2 = [150.0, 150.0 if n_beyond == 2 else 0.1, 0.1, 0.1, 0.1, 0.1]
    with pytest.raises(InputError) as raised:
        PopulationModel.from_dict(_stein_document(omega2), source="estimates.json")
    message = str(raised.value)
    expected = (
        "the variance of foldx in omega is out of range"
        if n_beyond == 1
        else "the variances of foldx, tmax_days in omega are out of range"
    )
    assert expected in message, message


@pytest.mark.parametrize("value", [-0.5, float("nan")])
def test_a_variance_that_is_not_one_is_not_called_a_wide_spread(value: float) -> None:
    """Only a variance above the maximum spreads subjects "by more than a factor e^10"."""
    from cartrial.kinetics.popfit import PopulationModel
    from cartrial.kinetics.popfit.fit import _runaway_variances

    model = PopulationModel.from_dict(_stein_document([0.1] * 6), source="estimates.json")
    omega = model.theta.omega.copy()
    omega[0, 0] = value
    problems = _runaway_variances(model.spec, replace(model.theta, omega=omega))
    assert len(problems) == 1 and problems[0].startswith("omega² of foldx is "), problems
    assert "e^10" not in problems[0] and "map cannot use" in problems[0], problems[0]
    wide = omega.copy()
    wide[0, 0] = 150.0
    assert "e^10" in _runaway_variances(model.spec, replace(model.theta, omega=wide))[0]
