"""The protocol's `analysis:` section: defaults equal the documented conventions, the example protocol
states them explicitly, and every bad value is an error at its YAML line."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial import examples as cartrial_examples
from cartrial.errors import InputError, Problem
from cartrial.protocol import (
    AnalysisOptions,
    AnalysisSpec,
    EdssBaselineVisit,
    EfficacyEvaluableRule,
    ResponderBaselineVisit,
    dlt_window_complete,
    load_protocol,
    parse_protocol,
)

BASE = """\
study: {id: DEMO, title: Demo, indication: NMOSD, phase: "1", sponsor: Demo,
        product: {name: CAR-T, target_antigen: BCMA}}
dose_levels: [{level: 1, label: low, cells_per_kg: 500000}]
escalation: {design: "3+3", dlt_window_days: 28}
schedule: {visits: [{name: Day 28, study_day: 28, assessments: [edss]}]}
eligibility: {criteria: [{id: adult, kind: inclusion, text: Adult, rule: {type: age_range, min_years: 18}}]}
endpoints:
  vision:
    name: Vision
    kind: efficacy
    description: Visual acuity response
    measure: visual_acuity_response
    definition: logmar_improved_0_2
  arr:
    name: ARR
    kind: efficacy
    description: Annualised relapse rate
    measure: annualized_relapse_rate
"""
# BASE has 18 lines; the analysis section below starts on line 19


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(InputError) as caught:
        parse_protocol(text, "test.yaml")
    return caught.value.problems


def test_without_the_section_every_option_is_the_documented_default() -> None:
    protocol = parse_protocol(BASE)
    options = protocol.analysis.options
    assert (options.persistence_day, options.nca_intervals_days) == (180.0, [(0.0, 28.0)])
    assert options.relapse_follow_up_end.value == "last_contact"
    assert options.treatment_emergent_start.value == "lymphodepletion"
    assert (options.proportion_ci.value, options.rate_ci.value, options.ctcae_version) == (
        "clopper_pearson",
        "exact_poisson",
        "5.0",
    )
    assert (
        protocol.analysis.populations.efficacy_rule("vision")
        is EfficacyEvaluableRule.BASELINE_AND_POST_BASELINE
    )
    assert protocol.analysis == AnalysisSpec()


def test_the_example_protocol_states_the_defaults_explicitly() -> None:
    path = cartrial_examples.path("ct103a-nmosd") / "protocol.yaml"
    assert "\nanalysis:\n" in path.read_text(encoding="utf-8")
    protocol = load_protocol(path)
    # the defaults, but for the EDSS baseline of its "change in EDSS from the screening value" (D-19.869)
    # and the responder baseline from the same screening visit (D-19.896)
    assert protocol.analysis == AnalysisSpec(
        options=AnalysisOptions(
            edss_baseline_visit=EdssBaselineVisit.LAST,
            responder_baseline_visit=ResponderBaselineVisit.LAST,
        )
    )
    assert "persistence_day" in protocol.analysis.options.model_fields_set  # but written out


def test_per_endpoint_rule() -> None:
    text = (
        BASE
        + "analysis:\n  populations:\n    efficacy_evaluable:\n"
        + "      {default: all_infused, vision: baseline_and_post_baseline}\n"
    )
    rules = parse_protocol(text).analysis.populations
    assert rules.efficacy_rule("vision") is EfficacyEvaluableRule.BASELINE_AND_POST_BASELINE
    assert rules.efficacy_rule("other") is EfficacyEvaluableRule.ALL_INFUSED


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"6.0"', "CTCAE v6.0 criteria are implemented for neutrophils and platelets only"),
        ("6.0", "CTCAE v6.0 criteria are implemented for neutrophils and platelets only"),
        ('"4.03"', "not an allowed value"),
        ("true", "not an allowed value"),
    ],
)
def test_ctcae_version_is_one_the_analysis_can_grade_every_lab_by(value: str, message: str) -> None:
    """The cut-off analysis grades every laboratory analyte by the protocol's version, and v6.0 is
    implemented for neutrophils and platelets only: a protocol choosing it passed `protocol check` and
    every analysis of a study with haemoglobin labs then failed (D-19.23). Refused at its line."""
    problems = problems_of(BASE + f"analysis:\n  options:\n    ctcae_version: {value}\n")
    assert [(p.line, p.field, p.allowed) for p in problems] == [(21, "analysis.options.ctcae_version", "5.0")]
    assert problems[0].message.startswith(message)


@pytest.mark.parametrize("value", ['"5.0"', "5.0", "5"])
def test_ctcae_version_5_quoted_or_not(value: str) -> None:
    text = BASE + f"analysis:\n  options:\n    ctcae_version: {value}\n"
    assert parse_protocol(text).analysis.options.ctcae_version == "5.0"


@pytest.mark.parametrize(
    ("section", "line", "field", "fragment"),
    [
        (
            "analysis:\n  options:\n    persistence_day: -5\n",
            21,
            "analysis.options.persistence_day",
            "out of range > 0",  # message and allowed, not the parser's sentence (D-19.1456)
        ),
        ("analysis:\n  options:\n    rate_ci: wald\n", 21, "analysis.options.rate_ci", "exact_poisson"),
        (
            "analysis:\n  options:\n    nca_intervals_days: [[28, 0]]\n",
            21,
            "analysis.options.nca_intervals_days[0]",
            "end after it starts",
        ),
        ("analysis:\n  options:\n    colour: blue\n", 21, "analysis.options.colour", ""),
        (
            "analysis:\n  populations:\n    efficacy_evaluable: {walking: all_infused}\n",
            21,
            "analysis.populations.efficacy_evaluable.walking",
            "no such endpoint",
        ),
        (
            "analysis:\n  populations:\n    efficacy_evaluable: {arr: all_infused}\n",
            21,
            "analysis.populations.efficacy_evaluable.arr",
            "not a responder endpoint (the evaluable-population rule applies to responder endpoints only) "
            "default | vision",
        ),
        (
            "analysis:\n  populations:\n    efficacy_evaluable: {vision: everyone}\n",
            21,
            "analysis.populations.efficacy_evaluable.vision",
            "all_infused",
        ),
    ],
)
def test_bad_values_are_errors_at_their_line(section: str, line: int, field: str, fragment: str) -> None:
    problems = problems_of(BASE + section)
    assert len(problems) == 1, problems
    problem = problems[0]
    assert problem.line == line, problem
    assert field in (problem.field or ""), problem
    assert fragment in f"{problem.message} {problem.allowed or ''}", problem


@given(st.dates(), st.integers(-400, 400), st.integers(1, 120))
def test_dlt_window_complete_counts_calendar_days_from_day_0(
    infused: dt.date, offset: int, window: int
) -> None:
    try:
        as_of = infused + dt.timedelta(days=offset)
    except OverflowError:
        return
    days, complete = dlt_window_complete(infused, as_of, window)
    assert days == offset
    assert complete == (offset >= window)


def test_a_repeated_nca_interval_is_refused_at_its_line_naming_the_value() -> None:
    """`[[0, 28], [0, 28]]` was merged into one AUC without a word; each repeat is refused at its own line
    with the value and the line of its first occurrence (`cartrial.protocol.nca_options.repeated_intervals`,
    the rule of the CLI's ``--interval`` too)."""
    section = "analysis:\n  options:\n    nca_intervals_days:\n"
    section += "      - [0, 28]\n      - [0, 7]\n      - [0.0, 28]\n"
    problems = problems_of(BASE + section)
    assert [(p.line, p.field, p.value) for p in problems] == [
        (24, "analysis.options.nca_intervals_days[2]", "[0, 28]")
    ]
    assert "repeats nca_intervals_days[0] (line 22)" in problems[0].message
    flow = problems_of(BASE + "analysis:\n  options:\n    nca_intervals_days: [[0, 28], [0, 28]]\n")
    assert [(p.line, p.field, p.value) for p in flow] == [
        (21, "analysis.options.nca_intervals_days[1]", "[0, 28]")
    ]
