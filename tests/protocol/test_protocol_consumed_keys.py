"""Every protocol key a command reads later is checked when the protocol is loaded (issue 19, decisions
D-19.20): `cartrial protocol check` refuses a bad value of each with exit 2, naming the file, the YAML line
and the key path — with the rule of the engine that reads it, so `db init` or `protocol check` can no longer
pass a protocol that `relapses --protocol`, `analyse`, `escalate` or `simulate` then refuses.

The keys are enumerated from the declarations the consumers read, not listed by hand, so a field added to
one of them is covered here:

- ``endpoints.<relapse endpoint>.parameters.*``: the fields of `RelapseOptions` (neuro engine, `relapses
  --protocol`, the analysis), the fixed ``days_per_year``, one value per option across relapse endpoints;
- ``endpoints.<key>.definition`` and its ``parameters.*``: `RESPONDER_DEFINITIONS` and each definition's
  parameters (neuro engine, the analysis);
- ``analysis.options.nca_options.*``: the fields of `NcaOptions` (kinetics engine, the analysis), and every
  other field of ``analysis.options`` / ``analysis.populations``;
- ``escalation.*``: every option of the escalation registry `DESIGN_OPTIONS` (`escalate`, `simulate`), and
  the registry's rule between options (``skip_rule`` only with ``no_skip``);
- ``escalation.dlt_rules[].organs`` / ``organ_min_grade``: the organs the DLT assessment can match.

A bad value is derived from each declaration (above its range, below it, a word for a number, a number for a
word), or is a word none of them accepts.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from cartrial import examples as cartrial_examples
from cartrial.allowed import Allowed, declared
from cartrial.protocol import AnalysisOptions, AnalysisPopulations, load_protocol
from cartrial.protocol.design_options import DESIGN_OPTIONS, DesignOption
from cartrial.protocol.nca_options import NcaOptions
from cartrial.protocol.relapse_options import RelapseOptions
from cartrial.protocol.responders import RESPONDER_DEFINITIONS

from ..conftest import run_captured

EXAMPLE = cartrial_examples.path("ct103a-nmosd") / "protocol.yaml"
LINES = EXAMPLE.read_text(encoding="utf-8").splitlines()
BAD = "  # <- bad"
"""Marks the line the problem must be reported at."""


def _edit(*swaps: tuple[str, list[str]]) -> str:
    """The example protocol with each line whose text starts with `prefix` (exactly one) replaced by `new`
    (lines indented like the replaced line)."""
    lines = list(LINES)
    for prefix, new in swaps:
        found = [i for i, line in enumerate(lines) if line.strip().startswith(prefix)]
        assert len(found) == 1, (prefix, found)
        index = found[0]
        indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
        lines[index : index + 1] = [indent + line for line in new]
    return "\n".join(lines) + "\n"


def _yaml(value: Any) -> str:
    """`value` as a YAML flow scalar or sequence (JSON is YAML; a word is quoted, so ``yes`` stays text)."""
    return json.dumps(value)


def _bad_value(rule: Allowed | None) -> Any:
    """A value outside `rule` (None: an enumeration or free field, so a word none accepts)."""
    if rule is None:
        return "bogus"
    if rule.values and all(isinstance(v, bool) for v in rule.values):
        return "yes"  # text, not true: the switch must not read a word as true
    if rule.high is not None:
        return rule.high + 1
    if rule.low is not None:
        return rule.low - 1
    return "bogus"


@dataclasses.dataclass(frozen=True)
class Case:
    key: str
    """The key path the message must name."""
    text: str
    """The protocol, one line marked with `BAD`."""

    @property
    def line(self) -> int:
        return next(i for i, line in enumerate(self.text.splitlines(), 1) if line.endswith(BAD))


RELAPSE_FREE = "parameters: {require_adjudicated: false, merge_window_days: 30}"
ARR = "parameters: {pre_window_months: 24, days_per_year: 365.25"


def _relapse_cases() -> list[Any]:
    cases = []
    for option in dataclasses.fields(RelapseOptions):
        value = _bad_value(declared(RelapseOptions).get(option.name))
        text = _edit(
            (RELAPSE_FREE, ["parameters:", f"  {option.name}: {_yaml(value)}{BAD}"]),
            (ARR, ["parameters: {}"]),
        )
        cases.append(
            pytest.param(Case(f"endpoints.relapse_free.parameters.{option.name}", text), id=option.name)
        )
    unknown = _edit((RELAPSE_FREE, ["parameters:", f"  merge_window: 30{BAD}"]))
    fixed = _edit((ARR, ["parameters:", f"  days_per_year: 365{BAD}"]))
    both = _edit((ARR, ["parameters:", f"  require_adjudicated: true{BAD}"]))  # relapse_free says false
    return [
        *cases,
        pytest.param(Case("endpoints.relapse_free.parameters.merge_window", unknown), id="relapse-unknown"),
        pytest.param(
            Case("endpoints.annualized_relapse_rate.parameters.days_per_year", fixed), id="fixed-value"
        ),
        pytest.param(
            Case("endpoints.annualized_relapse_rate.parameters.require_adjudicated", both), id="contradiction"
        ),
    ]


VISION_DEFINITION = "definition: logmar_improved_0_2"
VISION_PARAMETERS = "parameters: {threshold_logmar: 0.2, min_baseline_logmar: 0.2}"


def _responder_cases() -> list[Any]:
    cases = []
    for name, definition in RESPONDER_DEFINITIONS.items():
        for parameter in definition.defaults:
            value = _bad_value(definition.allowed.get(parameter))
            text = _edit(
                (VISION_DEFINITION, [f"definition: {name}"]),
                (VISION_PARAMETERS, ["parameters:", f"  {parameter}: {_yaml(value)}{BAD}"]),
            )
            key = f"endpoints.visual_acuity_response.parameters.{parameter}"
            cases.append(pytest.param(Case(key, text), id=f"{name}.{parameter}"))
    unknown = _edit((VISION_PARAMETERS, ["parameters:", f"  min_decrease: 1{BAD}"]))
    typo = _edit((VISION_DEFINITION, [f"definition: logmar_improved_0_3{BAD}"]))
    return [
        *cases,
        pytest.param(
            Case("endpoints.visual_acuity_response.parameters.min_decrease", unknown), id="responder-unknown"
        ),
        pytest.param(Case("endpoints.visual_acuity_response.definition", typo), id="unknown-definition"),
    ]


def _nca_cases() -> list[Any]:
    cases = []
    for option in dataclasses.fields(NcaOptions):
        if option.name == "intervals":  # given as analysis.options.nca_intervals_days (below)
            continue
        value = _bad_value(declared(NcaOptions).get(option.name))
        text = _edit(("nca_options:", ["nca_options:", f"  {option.name}: {_yaml(value)}{BAD}"]))
        cases.append(pytest.param(Case(f"analysis.options.nca_options.{option.name}", text), id=option.name))
    window = _edit(("nca_options:", ["nca_options:", f"  lambda_z_window: [28, 7]{BAD}"]))
    unknown = _edit(("nca_options:", ["nca_options:", f"  blq: zero{BAD}"]))
    return [
        *cases,
        pytest.param(Case("analysis.options.nca_options.lambda_z_window", window), id="window-reversed"),
        pytest.param(Case("analysis.options.nca_options.blq", unknown), id="nca-unknown"),
    ]


def _analysis_cases() -> list[Any]:
    cases = [
        pytest.param(
            Case(f"analysis.options.{name}", _edit((f"{name}:", [f"{name}: bogus{BAD}"]))),
            id=f"options.{name}",
        )
        for name in AnalysisOptions.model_fields
    ]
    for name in AnalysisPopulations.model_fields:  # efficacy_evaluable: endpoint key -> rule
        text = _edit(("default: baseline_and_post_baseline", [f"default: bogus{BAD}"]))
        cases.append(
            pytest.param(Case(f"analysis.populations.{name}.default", text), id=f"populations.{name}")
        )
    return cases


_MINIMAL_ESCALATION = {
    "3+3": {"design": '"3+3"', "dlt_window_days": "28"},
    "boin": {"design": "boin", "target": "0.3", "max_n": "12", "dlt_window_days": "28"},
    "mtpi2": {"design": "mtpi2", "target": "0.3", "max_n": "12", "dlt_window_days": "28"},
    "i3+3": {"design": '"i3+3"', "target": "0.3", "max_n": "12", "dlt_window_days": "28"},
    "crm": {
        "design": "crm",
        "target": "0.3",
        "skeleton": "[0.1, 0.2]",
        "max_n": "12",
        "dlt_window_days": "28",
    },
    "tite-crm": {
        "design": "tite-crm",
        "target": "0.3",
        "skeleton": "[0.1, 0.2]",
        "max_n": "12",
        "dlt_window_days": "28",
    },
}


def _escalation(design: str, **changed: str) -> str:
    """The example protocol with a minimal escalation section for `design` (two dose levels), `changed`
    keys set and marked bad."""
    keys = {**_MINIMAL_ESCALATION[design], **changed}
    section = [f"  {k}: {v}{BAD if k in changed else ''}" for k, v in keys.items()]
    start = LINES.index("escalation:")
    end = next(i for i, line in enumerate(LINES) if line.startswith("# [V] press releases"))
    return "\n".join([*LINES[: start + 1], *section, "", *LINES[end:]]) + "\n"


def _bad_option(option: DesignOption) -> str:
    """A value outside the registry's declaration of `option`, as YAML."""
    if option.kind == "choice":
        return "bogus"
    if option.kind == "bool":
        return '"maybe"'
    if option.kind == "floats":
        return "[0.1, 1.5]"
    rule = option.rule
    assert rule.high is not None or rule.low is not None, option.name
    value = rule.high + 1 if rule.high is not None else rule.low - 1  # type: ignore[operator]
    return str(int(value)) if option.kind == "int" else str(value)


def _escalation_cases() -> list[Any]:
    cases = []
    for option in DESIGN_OPTIONS:
        design = "3+3" if "3+3" in option.designs else sorted(option.designs)[0]
        text = _escalation(design, **{option.field: _bad_option(option)})
        cases.append(pytest.param(Case(f"escalation.{option.field}", text), id=f"{design}.{option.field}"))
    skip = _escalation("3+3", no_skip="false", skip_rule="highest_tried")
    skip = skip.replace(f"no_skip: false{BAD}", "no_skip: false")
    # the TITE-CRM window's registry range (to 3650 days), with a schedule long enough for the DLT window
    window = _escalation("tite-crm", dlt_window_days="3651")
    window = window.replace(
        "  unscheduled:\n", "    - {name: Year 11, study_day: 4000, assessments: [vitals]}\n  unscheduled:\n"
    )
    organs = _edit(("organs: [cardiac", [f"organs: [cardiac, kidney]{BAD}"]))
    organ_grade = _edit(("organ_min_grade:", [f"organ_min_grade: {{cardiac: 2, kidney: 2}}{BAD}"]))
    # two names of one organ (the assessment matches organs case-insensitively and would keep one grade)
    organ_twice = _edit(
        (
            "organs: [cardiac",
            ["organs: [cardiac, Cardiac, skin, gastrointestinal, hepatic, pulmonary, renal]"],
        ),
        ("organ_min_grade:", [f"organ_min_grade: {{cardiac: 2, renal: 2, Cardiac: 3}}{BAD}"]),
    )
    return [
        *cases,
        pytest.param(Case("escalation.skip_rule", skip), id="skip_rule-without-no_skip"),
        pytest.param(Case("escalation.dlt_window_days", window), id="tite-crm-window-beyond-3650"),
        pytest.param(Case("escalation.dlt_rules[3].organs[1]", organs), id="dlt-organ"),
        pytest.param(
            Case("escalation.dlt_rules[3].organ_min_grade.kidney", organ_grade), id="dlt-organ-grade"
        ),
        pytest.param(
            Case("escalation.dlt_rules[3].organ_min_grade.Cardiac", organ_twice), id="dlt-organ-graded-twice"
        ),
    ]


CASES = [*_relapse_cases(), *_responder_cases(), *_nca_cases(), *_analysis_cases(), *_escalation_cases()]


def test_the_example_protocol_passes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_captured(capsys, "protocol", "check", str(EXAMPLE))
    assert code == 0 and "valid protocol" in " ".join(out.split()), err


@pytest.mark.parametrize("case", CASES)
def test_a_bad_value_of_a_consumed_key_is_refused_at_its_line(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    protocol = tmp_path / "protocol.yaml"
    protocol.write_text(case.text, encoding="utf-8")
    code, _, err = run_captured(capsys, "protocol", "check", str(protocol))
    assert code == 2, err
    assert "Traceback" not in err
    assert f"{protocol}, line {case.line}, {case.key}" in " ".join(err.split()), err


@pytest.mark.parametrize(
    ("organs", "grades"),
    [
        ("[Cardiac, skin, renal]", "{cardiac: 2, renal: 2}"),
        ("[cardiac, skin, renal]", "{ Cardiac : 2, RENAL: 2}"),
    ],
)
def test_an_organ_is_one_organ_whatever_its_case_in_the_check_and_the_assessment(
    organs: str, grades: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The protocol check compares a rule's organs as the DLT assessment matches them (case-insensitively):
    ``organs: [Cardiac]`` with ``organ_min_grade: {cardiac: 2}`` was refused ("not in `organs`, so it could
    never match") although the assessment applies it; the grade-2 heart failure is a DLT by the rule."""
    from cartrial.escalation import assess_dlt
    from cartrial.protocol.dlt import GradedEvent, Relatedness, ToxicityCategory

    protocol = tmp_path / "protocol.yaml"
    protocol.write_text(
        _edit(
            ("organs: [cardiac", [f"organs: {organs}"]), ("organ_min_grade:", [f"organ_min_grade: {grades}"])
        ),
        encoding="utf-8",
    )
    code, _, err = run_captured(capsys, "protocol", "check", str(protocol))
    assert code == 0, err
    escalation = load_protocol(protocol).escalation
    event = GradedEvent(
        subject_id="CT-001",
        category=ToxicityCategory.NON_HEMATOLOGIC,
        term="Heart failure",
        grade=2,
        scale="CTCAE v5.0",
        onset_day=3,
        relatedness=Relatedness.POSSIBLE,
    )
    assert (
        "organ_toxicity_related" in assess_dlt(event, escalation.dlt_rules, escalation.dlt_window_days).fired
    )


def test_a_protocol_with_a_bad_consumed_key_creates_no_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`db init` loads the protocol through the same path: refused with its line, before any file is made."""
    protocol = tmp_path / "protocol.yaml"
    protocol.write_text(
        _edit((RELAPSE_FREE, ["parameters:", f"  merge_window_days: 400{BAD}"])), encoding="utf-8"
    )
    database = tmp_path / "study.db"
    code, _, err = run_captured(
        capsys, "db", "init", "--url", f"sqlite:///{database}", "--protocol", str(protocol), "--admin", "a"
    )
    line = Case("", protocol.read_text(encoding="utf-8")).line
    assert code == 2 and not database.exists(), err
    assert f"line {line}, endpoints.relapse_free.parameters.merge_window_days" in " ".join(err.split()), err


def test_the_engines_read_what_the_example_sets() -> None:
    """The example's values are the ones the engines then use (no key is checked and then ignored)."""
    from cartrial.neuro import relapse_options_from_protocol, responder_definitions_from_protocol

    protocol = load_protocol(EXAMPLE)
    assert relapse_options_from_protocol(protocol).pre_window_months == 24
    assert responder_definitions_from_protocol(protocol)["walking_response"] == (
        "t25fw_20pct_faster",
        {"min_fraction_faster": 0.2},
    )
    assert protocol.analysis.options.nca().intervals == ((0.0, 28.0),)
