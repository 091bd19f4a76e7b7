"""A protocol that passes `cartrial protocol check` must not make a later command fail (issue 19, decisions
D-19.20): at the largest value the check accepts, the consumer works (`screen`, `protocol show`, the dose
calculators); one step above, the check refuses the value at its line, naming the key.

Found by mutating the example protocol one key at a time (look-back months of the eligibility rules moved the
screening date out of the calendar; a dose of 1.7e308 cells/kg or mg/m² overflowed to infinity)."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cartrial import examples as cartrial_examples
from cartrial.errors import InputError
from cartrial.protocol import dose_for, load_candidate, lymphodepletion_doses, parse_protocol, screen
from cartrial.protocol.design_options import (
    DOSES,
    MAX_DAYS,
    MAX_DOSE_LEVELS,
    MAX_PATIENTS,
    PATIENTS,
    STAGGER_DAYS,
)
from cartrial.protocol.dosing import (
    MAX_CELLS_PER_KG,
    MAX_LD_DOSE_MG_PER_M2,
    MAX_TOTAL_CELLS,
    MIN_CONCENTRATION_CELLS_PER_ML,
    WEIGHT_LIMITS_KG,
)
from cartrial.protocol.eligibility import MAX_LOOKBACK_MONTHS
from cartrial.protocol.schedule import MAX_SCHEDULE_DAYS

from ..conftest import run_captured

FOLDER = cartrial_examples.path("ct103a-nmosd")
BASE = yaml.safe_load((FOLDER / "protocol.yaml").read_text(encoding="utf-8"))
CANDIDATES = sorted((FOLDER / "candidates").iterdir())

Edit = Callable[[dict[str, Any], float], None]


def _rule(criterion: str, **fixed: Any) -> Callable[[str], Edit]:
    def key(name: str) -> Edit:
        def edit(protocol: dict[str, Any], value: float) -> None:
            for c in protocol["eligibility"]["criteria"]:
                if c["id"] == criterion:
                    c["rule"].update(fixed)
                    c["rule"].pop("min_days", None)
                    c["rule"][name] = value

        return edit

    return key


def _index(criterion: str) -> int:
    return next(i for i, c in enumerate(BASE["eligibility"]["criteria"]) if c["id"] == criterion)


#: (path the message names, edit, largest allowed value): every look-back in calendar months.
LOOKBACKS = [
    (
        f"eligibility.criteria[{_index('inc_refractory')}].rule.min_duration_months",
        _rule("inc_refractory")("min_duration_months"),
    ),
    (
        f"eligibility.criteria[{_index('inc_bcell_washout')}].rule.min_months",
        _rule("inc_bcell_washout")("min_months"),
    ),
    (
        f"eligibility.criteria[{_index('inc_relapse_activity')}].rule.long_window_months",
        _rule("inc_relapse_activity", short_window_months=12)("long_window_months"),
    ),
    (
        f"eligibility.criteria[{_index('inc_relapse_activity')}].rule.long_window_months",
        _rule("inc_relapse_activity", short_window_months=12, window_unit="days")("long_window_months"),
    ),
]


def _text(edit: Edit, value: float) -> str:
    protocol = copy.deepcopy(BASE)
    edit(protocol, value)
    return yaml.safe_dump(protocol, sort_keys=False, allow_unicode=True)


@pytest.mark.parametrize(("key", "edit"), LOOKBACKS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(LOOKBACKS)])
def test_a_look_back_beyond_a_lifetime_is_refused_at_its_line(key: str, edit: Edit) -> None:
    with pytest.raises(InputError) as caught:
        parse_protocol(_text(edit, MAX_LOOKBACK_MONTHS + 1), "p.yaml")
    problems = [p for p in caught.value.problems if p.field == key]
    assert problems and problems[0].line is not None, caught.value.problems
    assert problems[0].value == MAX_LOOKBACK_MONTHS + 1


@pytest.mark.parametrize(("key", "edit"), LOOKBACKS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(LOOKBACKS)])
def test_the_longest_allowed_look_back_screens_every_example_candidate(key: str, edit: Edit) -> None:
    protocol = parse_protocol(_text(edit, MAX_LOOKBACK_MONTHS), "p.yaml")
    for path in CANDIDATES:
        result = screen(protocol, load_candidate(path))
        assert result.verdict is not None


def _level(name: str) -> Edit:
    def edit(protocol: dict[str, Any], value: float) -> None:
        protocol["dose_levels"][-1][name] = value

    return edit


def _agents(protocol: dict[str, Any], value: float) -> None:
    for agent in protocol["lymphodepletion"]["agents"]:
        agent["dose_mg_per_m2_per_day"] = value


#: (path, edit, the edge value the check accepts, the value next to it that it refuses).
DOSE_EDGES = [
    ("dose_levels[1].cells_per_kg", _level("cells_per_kg"), MAX_CELLS_PER_KG, MAX_CELLS_PER_KG * 10),
    ("dose_levels[1].max_total_cells", _level("max_total_cells"), MAX_TOTAL_CELLS, MAX_TOTAL_CELLS * 10),
    (
        "dose_levels[1].concentration_cells_per_ml",
        _level("concentration_cells_per_ml"),
        MIN_CONCENTRATION_CELLS_PER_ML,
        MIN_CONCENTRATION_CELLS_PER_ML / 10,
    ),
    (
        "lymphodepletion.agents[0].dose_mg_per_m2_per_day",
        _agents,
        MAX_LD_DOSE_MG_PER_M2,
        MAX_LD_DOSE_MG_PER_M2 * 10,
    ),
]


def _assert_refused_at_its_line(key: str, edit: Edit, beyond: float) -> None:
    """The protocol with `key` set `beyond` its range is refused, with a problem at that key's line."""
    with pytest.raises(InputError) as caught:
        parse_protocol(_text(edit, beyond), "p.yaml")
    problems = [p for p in caught.value.problems if p.field == key]
    assert problems and problems[0].line is not None, caught.value.problems


@pytest.mark.parametrize(("key", "edit", "edge", "beyond"), DOSE_EDGES, ids=[d[0] for d in DOSE_EDGES])
def test_a_dose_beyond_its_range_is_refused_at_its_line(
    key: str, edit: Edit, edge: float, beyond: float
) -> None:
    _assert_refused_at_its_line(key, edit, beyond)


@pytest.mark.parametrize(("key", "edit", "edge", "beyond"), DOSE_EDGES, ids=[d[0] for d in DOSE_EDGES])
def test_the_edge_dose_gives_finite_doses_and_the_summary_shows_them(
    key: str, edit: Edit, edge: float, beyond: float, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _text(edit, edge)
    protocol = parse_protocol(text, "p.yaml")
    for weight in WEIGHT_LIMITS_KG:
        calc = dose_for(protocol, weight, level=protocol.n_dose_levels)
        assert math.isfinite(calc.total_cells)
        assert calc.volume_ml is None or math.isfinite(calc.volume_ml)
    plan = lymphodepletion_doses(protocol, WEIGHT_LIMITS_KG[1], 272.0)
    assert all(math.isfinite(d.dose_mg) for d in plan.doses)
    path = tmp_path / "protocol.yaml"
    path.write_text(text, encoding="utf-8")
    code, out, err = run_captured(capsys, "protocol", "show", str(path), "--weight", str(WEIGHT_LIMITS_KG[1]))
    assert code == 0, err
    assert "inf" not in out.split()


def _levels(protocol: dict[str, Any], value: float) -> None:
    n = int(value)
    protocol["dose_levels"] = [
        {"level": i + 1, "label": f"level {i + 1}", "cells_per_kg": 1e5 * (i + 1)} for i in range(n)
    ]


def _expansion(protocol: dict[str, Any], value: float) -> None:
    protocol["expansion"]["n_patients"] = value


#: (path, edit, the largest count the escalation engine takes): the protocol must refuse one more, as
#: `escalate` and `simulate` do (before, 51 dose levels or 10^9 expansion patients passed the check and
#: `simulate` / `escalate replay` then refused them as "doses" / "--doses" / "n_patients").
COUNTS = [
    ("dose_levels", _levels, MAX_DOSE_LEVELS),
    ("expansion.n_patients", _expansion, MAX_PATIENTS),
]


@pytest.mark.parametrize(("key", "edit", "largest"), COUNTS, ids=[c[0] for c in COUNTS])
def test_a_count_the_escalation_engine_refuses_is_refused_at_its_line(
    key: str, edit: Edit, largest: int
) -> None:
    with pytest.raises(InputError) as caught:
        parse_protocol(_text(edit, largest + 1), "p.yaml")
    problems = [p for p in caught.value.problems if p.field == key]
    assert problems and problems[0].line is not None, caught.value.problems
    assert problems[0].allowed == (DOSES if key == "dose_levels" else PATIENTS).text()


@pytest.mark.parametrize(("key", "edit", "largest"), COUNTS, ids=[c[0] for c in COUNTS])
def test_the_largest_count_builds_the_protocols_design(key: str, edit: Edit, largest: int) -> None:
    from cartrial.escalation import design_from_spec

    protocol = parse_protocol(_text(edit, largest), "p.yaml")
    design = design_from_spec(protocol.escalation, protocol.n_dose_levels, expansion=protocol.expansion)
    assert design is not None


def _stagger(protocol: dict[str, Any], value: float) -> None:
    protocol["escalation"]["stagger_days"] = value


def test_a_stagger_beyond_the_engines_days_is_refused_at_its_line() -> None:
    """10^12 days passed the check; `simulate study` then refused the study as running past the year 9999,
    naming the expansion cohort."""
    with pytest.raises(InputError) as caught:
        parse_protocol(_text(_stagger, MAX_DAYS + 1), "p.yaml")
    problems = [p for p in caught.value.problems if p.field == "escalation.stagger_days"]
    assert problems and problems[0].line is not None, caught.value.problems
    assert problems[0].allowed == STAGGER_DAYS.text()


def test_the_longest_stagger_simulates_the_example_scenario(tmp_path: Path) -> None:
    from cartrial.simulation import load_scenario, prepare
    from cartrial.simulation.study import simulate_study

    text = _text(_stagger, MAX_DAYS)
    scenario, _ = load_scenario(FOLDER / "scenario.yaml")
    study = simulate_study(prepare(scenario, parse_protocol(text, "p.yaml")), seed=1)
    assert study is not None


def _first_visit(name: str) -> Edit:
    def edit(protocol: dict[str, Any], value: float) -> None:
        protocol["schedule"]["visits"][0][name] = value

    return edit


#: (path, edit, the edge value the check accepts, the value beyond it).
SCHEDULE = [
    ("schedule.visits[0].study_day", _first_visit("study_day"), -MAX_SCHEDULE_DAYS, -MAX_SCHEDULE_DAYS - 1),
    (
        "schedule.visits[0].window_minus_days",
        _first_visit("window_minus_days"),
        MAX_SCHEDULE_DAYS,
        MAX_SCHEDULE_DAYS + 1,
    ),
]


@pytest.mark.parametrize(("key", "edit", "edge", "beyond"), SCHEDULE, ids=[s[0] for s in SCHEDULE])
def test_a_visit_day_beyond_a_century_is_refused_at_its_line(
    key: str, edit: Edit, edge: float, beyond: float
) -> None:
    """A visit on day -10^9 passed the check; the import of any study then failed with a traceback."""
    _assert_refused_at_its_line(key, edit, beyond)


@pytest.mark.parametrize(("key", "edit", "edge", "beyond"), SCHEDULE, ids=[s[0] for s in SCHEDULE])
def test_the_earliest_allowed_visit_gives_the_edit_checks_a_date(
    key: str, edit: Edit, edge: float, beyond: float
) -> None:
    import datetime as dt

    from cartrial.store.edit_checks import earliest_assessment_day

    protocol = parse_protocol(_text(edit, edge), "p.yaml")
    earliest = earliest_assessment_day(protocol)
    assert dt.date(2021, 4, 1) + dt.timedelta(days=earliest) < dt.date(2021, 4, 1)
