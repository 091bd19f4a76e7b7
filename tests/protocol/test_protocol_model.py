"""The protocol model: every section of the reference protocol, and every bad-input case of decisions §2
(malformed YAML, unknown key, duplicate key, zero/negative dose, weight bounds, overlapping visit windows,
DLT window beyond follow-up, unknown design, CRM skeleton not increasing), each reported with its line.

Reference values: ct103a-nmosd-trial.md (§1 identity, §2 eligibility, §3 doses and lymphodepletion, §4
DLT template of NCT06958939, §5 typical schedule); design rules: dose-escalation.md §3-§8.
"""

from __future__ import annotations

import pytest

from cartrial import examples as cartrial_examples
from cartrial.errors import InputError, Problem
from cartrial.protocol import (
    Assessment,
    CrmModel,
    DesignName,
    EndpointKind,
    EscalationSpec,
    Protocol,
    Relatedness,
    ThreePlusThreeVariant,
    ToxicityCategory,
    load_protocol,
    parse_protocol,
)

MINIMAL = """\
study:
  id: T-1
  title: Test study
  indication: NMOSD
  phase: phase_1
  sponsor: Test sponsor
  product: {name: X, target_antigen: BCMA}
dose_levels:
  - level: 1
    label: low
    cells_per_kg: 500000
  - level: 2
    label: high
    cells_per_kg: 1000000
escalation:
  design: "3+3"
  dlt_window_days: 28
schedule:
  visits:
    - name: Day 0
      study_day: 0
      assessments: [infusion, vitals]
    - name: Day 7
      study_day: 7
      window_minus_days: 1
      window_plus_days: 1
      assessments: [labs]
    - name: Day 28
      study_day: 28
      window_minus_days: 3
      window_plus_days: 3
      assessments: [edss]
eligibility:
  criteria:
    - id: inc_age
      kind: inclusion
      text: Age 18-75
      rule: {type: age_range, min_years: 18, max_years: 75}
"""
# line numbers in MINIMAL used below
LINE_SECOND_CELLS = 14
LINE_DESIGN = 16
LINE_DLT_WINDOW = 17
LINE_VISIT_DAY7 = 23
LINE_VISIT_DAY28 = 28


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(InputError) as caught:
        parse_protocol(text, "test.yaml")
    return caught.value.problems


def only_problem(text: str) -> Problem:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]


@pytest.fixture(scope="module")
def reference() -> Protocol:

    return load_protocol(cartrial_examples.path("ct103a-nmosd") / "protocol.yaml")


def test_minimal_protocol_is_valid_with_documented_defaults() -> None:
    """Defaults: 3+3 variant deescalation (dose-escalation.md §3 default B), cohort 3, no_skip, stagger 0;
    CRM prior variance 1.34 (dfcrm, dose-escalation.md §7.1); no dose rounding (3 s.f. when chosen)."""
    protocol = parse_protocol(MINIMAL)
    esc = protocol.escalation
    assert esc.design is DesignName.THREE_PLUS_THREE
    assert esc.variant is ThreePlusThreeVariant.DEESCALATION
    assert (esc.cohort_size, esc.no_skip, esc.stagger_days, esc.prior_var) == (3, True, 0, 1.34)
    assert esc.cutoff_eliminate == 0.95
    assert esc.model is CrmModel.EMPIRIC and esc.method.value == "bayes"
    assert protocol.dose_rounding.method.value == "none" and protocol.dose_rounding.significant_figures == 3
    assert protocol.lymphodepletion is None and protocol.expansion is None and protocol.endpoints == {}


# ------------------------------------------------------------------------------- reference protocol


def test_reference_study_identity(reference: Protocol) -> None:
    """ct103a-nmosd-trial.md §1: NCT04561557, Tongji Hospital, CT103A targeting BCMA, early phase 1."""
    assert reference.study.registry_id == "NCT04561557"
    assert reference.study.product.target_antigen == "BCMA"
    assert "Tongji" in reference.study.sponsor
    assert reference.study.phase == "early_phase_1"


def test_reference_dose_levels(reference: Protocol) -> None:
    """§3: level 1 = 0.5×10^6, level 2 = 1.0×10^6 CAR+ T cells/kg; no cap or bounds (not retrieved)."""
    assert [(d.level, d.cells_per_kg) for d in reference.dose_levels] == [(1, 5e5), (2, 1e6)]
    assert all(
        d.max_total_cells is None and d.concentration_cells_per_ml is None for d in reference.dose_levels
    )


def test_reference_lymphodepletion(reference: Protocol) -> None:
    """§3 registry: Cy 300 and Flu 30 mg/m²/day on days −4, −3, −2; fludarabine over 30 minutes."""
    assert reference.lymphodepletion is not None
    agents = {a.name: a for a in reference.lymphodepletion.agents}
    assert agents["cyclophosphamide"].dose_mg_per_m2_per_day == 300
    assert agents["fludarabine"].dose_mg_per_m2_per_day == 30
    assert agents["cyclophosphamide"].days == agents["fludarabine"].days == [-4, -3, -2]
    assert agents["fludarabine"].infusion_minutes == 30
    assert reference.lymphodepletion.bsa_method.value == "mosteller"


def test_reference_escalation_and_expansion(reference: Protocol) -> None:
    """§1/§3: 3 per level, 3+3; expansion of 6 at 1.0×10^6/kg = level 2; DLT window 28 days (§4 template)."""
    esc = reference.escalation
    assert esc.design is DesignName.THREE_PLUS_THREE and esc.cohort_size == 3
    # variant not reported [U]: the project default B (dose-escalation.md §3)
    assert esc.variant is ThreePlusThreeVariant.DEESCALATION
    assert esc.dlt_window_days == 28
    assert reference.expansion is not None
    assert (reference.expansion.dose_level, reference.expansion.n_patients) == (2, 6)
    assert reference.dose_level(reference.expansion.dose_level).cells_per_kg == 1e6


def test_reference_dlt_rules_follow_the_s103_template(reference: Protocol) -> None:
    """§4 (NCT06958939): CRS grade 4-5; ICANS ≥ 3 possibly related; haematological grade 3 > 7 days,
    not disease-related, lymphopenia excluded; organ toxicity ≥ 3 possibly related with cardiac and renal
    from grade 2; treatment-related death; committee judgement."""
    rules = {r.id: r for r in reference.escalation.dlt_rules}
    assert rules["crs_grade_4_5"].category is ToxicityCategory.CRS and rules["crs_grade_4_5"].min_grade == 4
    icans = rules["icans_grade_3_related"]
    assert (icans.category, icans.min_grade, icans.min_relatedness) == (
        ToxicityCategory.ICANS,
        3,
        Relatedness.POSSIBLE,
    )
    heme = rules["hematologic_grade_3_over_7_days"]
    assert heme.min_grade == 3 and heme.min_duration_days == 7 and heme.exclude_underlying_disease
    assert "lymphopenia" in heme.exclude_terms
    organ = rules["organ_toxicity_related"]
    assert organ.organ_min_grade == {"cardiac": 2, "renal": 2} and organ.min_grade == 3
    assert set(organ.organs or []) == {"cardiac", "skin", "gastrointestinal", "hepatic", "pulmonary", "renal"}
    assert rules["treatment_related_death"].min_grade == 5
    assert rules["committee_judged"].committee_judgement


def test_reference_schedule(reference: Protocol) -> None:
    """§5 typical schedule: lymphodepletion days −4..−2, infusion day 0, PK on days 1, 4, 7, 10, 14, 21,
    28; EDSS at baseline and months 1, 3, 6, 12; suspected-relapse visit."""
    visits = reference.schedule.visits
    pk_days = [v.study_day for v in visits if Assessment.PK in v.assessments]
    assert {1, 4, 7, 10, 14, 21, 28}.issubset(pk_days)
    edss_days = [v.study_day for v in visits if Assessment.EDSS in v.assessments]
    assert {28, 90, 180, 365}.issubset(edss_days) and min(edss_days) < 0
    assert [v.study_day for v in visits if Assessment.LYMPHODEPLETION in v.assessments] == [-4, -3, -2]
    assert reference.schedule.visit_for_day(0) is not None and reference.schedule.visit_for_day(
        0
    ).name.startswith("Day 0")  # type: ignore[union-attr]
    assert reference.schedule.unscheduled[0].name == "Suspected relapse"
    assert reference.schedule.last_study_day >= reference.escalation.dlt_window_days


def test_reference_eligibility_from_the_registry(reference: Protocol) -> None:
    """§2 registry: age 18-75, 2015 IPND NMOSD, AQP4-IgG+, ≥ 1 immunosuppressant > 1 year with poor control,
    relapse activity 2 in 12 or 3 in 24 with 1 in 12."""
    rules = {c.id: c.rule for c in reference.eligibility.criteria}
    age = rules["inc_age"]
    assert (age.min_years, age.max_years) == (18, 75)  # type: ignore[union-attr]
    assert rules["inc_diagnosis"].criteria == "ipnd_2015"  # type: ignore[union-attr]
    assert rules["inc_aqp4_igg"].type == "aqp4_igg_seropositive"
    refractory = rules["inc_refractory"]
    assert (refractory.min_agents, refractory.min_duration_months) == (1, 12)  # type: ignore[union-attr]
    relapse = rules["inc_relapse_activity"]
    assert (
        relapse.short_window_months,  # type: ignore[union-attr]
        relapse.long_window_months,  # type: ignore[union-attr]
        relapse.min_in_short_window,  # type: ignore[union-attr]
        relapse.min_in_long_window,  # type: ignore[union-attr]
        relapse.min_in_short_window_with_long,  # type: ignore[union-attr]
    ) == (12, 24, 2, 3, 1)


def test_reference_endpoints(reference: Protocol) -> None:
    """§4/§6 domains: DLT rate, CRS, ICANS (safety); EDSS, visual acuity, relapse-free, ARR (efficacy);
    Cmax, Tmax, AUC0-28 (PK); AQP4-IgG change (PD)."""
    kinds = {key: spec.kind for key, spec in reference.endpoints.items()}
    for key in ("dlt_rate", "crs", "icans"):
        assert kinds[key] is EndpointKind.SAFETY
    for key in ("edss_change", "visual_acuity_response", "relapse_free", "annualized_relapse_rate"):
        assert kinds[key] is EndpointKind.EFFICACY
    for key in ("car_t_cmax", "car_t_tmax", "car_t_auc_0_28"):
        assert kinds[key] is EndpointKind.PK
    assert kinds["aqp4_igg_change"] is EndpointKind.PD
    assert reference.endpoints["dlt_rate"].role.value == "primary"


def test_unverified_reference_values_carry_a_comment(examples_dir) -> None:  # type: ignore[no-untyped-def]
    """Decisions §2: every unverified value carries a YAML comment saying so ([U])."""
    text = (examples_dir / "ct103a-nmosd" / "protocol.yaml").read_text()
    for marker in (
        "dlt_window_days",
        "bsa_method",
        "variant",
        "stagger_days",
        "merge_window_days",
        "id: inc_neutrophils",
        "id: inc_platelets",
        "id: inc_alt",
        "id: inc_creatinine_clearance",
        "id: exc_active_infection",
        "id: exc_pregnancy",
        "id: exc_cardiac",
        "id: inc_edss",
        "id: inc_bcell_washout",
    ):
        block = text[text.index(marker) - 600 : text.index(marker) + 200]
        assert "[U]" in block, marker


# ------------------------------------------------------------------------------------- bad input


def test_malformed_yaml_reports_the_parser_line_and_column() -> None:
    """A YAML syntax error names the line (and column) from the parser, not a traceback."""
    text = MINIMAL.replace('  design: "3+3"', '  design: ["3+3"')
    problem = only_problem(text)
    assert "malformed YAML" in problem.message and "column" in problem.message
    assert problem.line is not None and problem.line >= LINE_DESIGN
    assert problem.file == "test.yaml"


def test_tab_indentation_and_empty_file() -> None:
    """YAML forbids tab indentation (parser error with its line); an empty file or a non-mapping document is
    a clear error."""
    assert "malformed YAML" in only_problem("study:\n\tid: x\n").message
    assert "empty" in only_problem("").message
    assert "mapping" in only_problem("- a\n- b\n").message


def test_unknown_key_is_an_error_with_allowed_keys() -> None:
    """extra="forbid": an unknown key is named, with its line and the keys allowed there."""
    text = MINIMAL.replace("  dlt_window_days: 28", "  dlt_window_days: 28\n  colour: blue")
    problem = only_problem(text)
    assert problem.message == "unknown key 'colour'"
    assert problem.line == LINE_DLT_WINDOW + 1
    assert problem.field == "escalation.colour"
    assert (
        problem.allowed is not None and "skeleton" in problem.allowed and "dlt_window_days" in problem.allowed
    )


def test_unknown_top_level_key_and_unknown_rule_key() -> None:
    """Decisions §2: unknown keys are errors, also at the top level and inside an eligibility rule (allowed
    keys listed)."""
    problems = problems_of(MINIMAL + "extras: 1\n")
    assert problems[0].field == "extras" and "endpoints" in (problems[0].allowed or "")
    text = MINIMAL.replace("max_years: 75}", "max_years: 75, min_age: 3}")
    problem = only_problem(text)
    assert problem.field == "eligibility.criteria[0].rule.min_age"
    assert "max_years" in (problem.allowed or "")


def test_duplicate_key_is_an_error_naming_both_lines() -> None:
    """A key given twice in a mapping is an error naming both lines (PyYAML would silently keep the last)."""
    text = MINIMAL.replace("  id: T-1\n", "  id: T-1\n  id: T-2\n")
    problem = only_problem(text)
    assert "duplicate key 'id'" in problem.message and "line 2" in problem.message
    assert problem.line == 3


@pytest.mark.parametrize("dose", ["0", "-1000000"])
def test_zero_or_negative_dose_is_an_error(dose: str) -> None:
    """Decisions §2 acceptance: a zero or negative cells/kg dose is an error at its line (allowed: > 0)."""
    text = MINIMAL.replace("cells_per_kg: 1000000", f"cells_per_kg: {dose}")
    problems = problems_of(text)
    assert problems[0].field == "dose_levels[1].cells_per_kg"
    assert problems[0].line == LINE_SECOND_CELLS
    assert problems[0].allowed == "> 0.0"


def test_dose_levels_must_increase_and_be_numbered_in_order() -> None:
    """Dose levels are numbered 1..K in order with increasing cells/kg (dose-escalation.md notation: 1 =
    lowest)."""
    text = MINIMAL.replace("cells_per_kg: 1000000", "cells_per_kg: 400000").replace("level: 2", "level: 3")
    problems = problems_of(text)
    fields = {p.field for p in problems}
    assert fields == {"dose_levels[1].level", "dose_levels[1].cells_per_kg"}


@pytest.mark.parametrize(
    ("bounds", "message", "allowed"),
    [
        # message and allowed, not the parser's sentence (D-19.1456)
        ("min_weight_kg: -5", "out of range", "> 0.0"),
        ("max_weight_kg: 900", "out of range", "≤ 500.0"),
        ("min_weight_kg: 120\n    max_weight_kg: 40", "greater than min_weight_kg", None),
    ],
)
def test_weight_bounds_outside_limits_are_errors(bounds: str, message: str, allowed: str | None) -> None:
    """Decisions §2 acceptance: weight bounds outside (0, 500] kg or min ≥ max are errors at their line."""
    text = MINIMAL.replace("    cells_per_kg: 500000\n", f"    cells_per_kg: 500000\n    {bounds}\n")
    problem = only_problem(text)
    assert message in problem.message
    if allowed is not None:
        assert problem.allowed == allowed
    assert problem.field is not None and problem.field.startswith("dose_levels[0].")
    assert problem.line is not None and problem.line >= 12


def test_overlapping_visit_windows_name_both_visits_and_lines() -> None:
    """Day 7 ±1 (6-8) and Day 28 widened to −21 (7-31) share day 7 and 8."""
    text = MINIMAL.replace("window_minus_days: 3", "window_minus_days: 21")
    problem = only_problem(text)
    assert "'Day 28'" in problem.message and "'Day 7'" in problem.message
    assert problem.line == LINE_VISIT_DAY28
    assert f"line {LINE_VISIT_DAY7}" in problem.message


def test_touching_windows_overlap_but_adjacent_ones_do_not() -> None:
    """Windows are inclusive day ranges: 6-8 and 8-31 share day 8 (error); 6-8 and 9-31 do not."""
    assert (
        "overlaps" in only_problem(MINIMAL.replace("window_minus_days: 3", "window_minus_days: 20")).message
    )
    parse_protocol(MINIMAL.replace("window_minus_days: 3", "window_minus_days: 19"))


def test_visits_must_be_chronological_and_uniquely_named() -> None:
    """Visit names identify visits in later data: each is used once."""
    text = MINIMAL.replace("name: Day 28", "name: Day 7")
    assert "used twice" in only_problem(text).message


def test_dlt_window_longer_than_follow_up() -> None:
    """The DLT window (35 days) exceeds the last visit's day (28) → error at the window's line, naming
    the last visit and its line."""
    text = MINIMAL.replace("dlt_window_days: 28", "dlt_window_days: 35")
    problem = only_problem(text)
    assert problem.field == "escalation.dlt_window_days" and problem.line == LINE_DLT_WINDOW
    assert "'Day 28'" in problem.message and f"line {LINE_VISIT_DAY28}" in problem.message
    assert problem.allowed == "≤ 28"


def test_unknown_design_name_lists_the_designs() -> None:
    """Decisions §2 acceptance: an unknown design name is an error at its line listing the six designs of
    dose-
    escalation.md."""
    problem = only_problem(MINIMAL.replace('design: "3+3"', "design: rolling-six"))
    assert problem.field == "escalation.design" and problem.line == LINE_DESIGN
    assert problem.value == "rolling-six"
    for name in ("3+3", "boin", "mtpi2", "i3+3", "crm", "tite-crm"):
        assert name in (problem.allowed or "")


def crm(skeleton: str, extra: str = "") -> str:
    return MINIMAL.replace(
        'design: "3+3"', f"design: crm\n  target: 0.25\n  max_n: 24\n  skeleton: {skeleton}{extra}"
    )


def test_crm_skeleton_not_increasing_points_at_the_element() -> None:
    """dose-escalation.md §7.1: s_1 < … < s_K. The offending element is named as skeleton[1]."""
    problem = only_problem(crm("[0.2, 0.1]"))
    assert problem.field == "escalation.skeleton[1]"
    assert problem.line == LINE_DESIGN + 3
    assert "strictly increasing" in problem.message and problem.allowed == "> 0.2"
    multi_line = crm("\n    - 0.10\n    - 0.10")
    problem = only_problem(multi_line)
    assert problem.field == "escalation.skeleton[1]" and problem.line == LINE_DESIGN + 5


def test_crm_skeleton_length_and_range() -> None:
    """dose-escalation.md §7.1: one skeleton value per dose level, each a probability in (0, 1); CRM needs a
    skeleton."""
    assert "2 dose levels" in only_problem(crm("[0.1, 0.2, 0.3]")).message
    problems = problems_of(crm("[0.1, 1.2]"))
    allowed = (
        "greater than 0 and less than 1"  # the registry's declaration (cartrial.protocol.design_options)
    )
    assert any(
        p.field == "escalation.skeleton[1]" and p.message == "out of range" and p.allowed == allowed
        for p in problems
    )
    assert (
        "needs a skeleton"
        in only_problem(MINIMAL.replace('design: "3+3"', "design: crm\n  target: 0.3\n  max_n: 20")).message
    )


def test_crm_valid_spec_and_type_error_in_skeleton_path() -> None:
    """A valid CRM spec keeps the dfcrm prior variance 1.34; a non-number in the skeleton is reported as
    skeleton[1]."""
    protocol = parse_protocol(crm("[0.1, 0.25]"))
    assert protocol.escalation.skeleton == [0.1, 0.25] and protocol.escalation.prior_var == 1.34
    problem = problems_of(crm("[0.1, high]"))[0]
    assert problem.field == "escalation.skeleton[1]" and problem.value == "high"


def test_design_specific_fields() -> None:
    """3+3 rejects a skeleton and a target; BOIN needs a target and max_n; 3+3 needs cohorts of 3."""
    problems = problems_of(
        MINIMAL.replace('design: "3+3"', 'design: "3+3"\n  skeleton: [0.1, 0.2]\n  target: 0.3')
    )
    assert {p.field for p in problems} == {"escalation.skeleton", "escalation.target"}
    assert all("does not apply" in p.message for p in problems)
    problems = problems_of(MINIMAL.replace('design: "3+3"', "design: boin"))
    assert {p.field for p in problems} == {"escalation.target", "escalation.max_n"}
    assert (
        "cohorts of 3"
        in only_problem(MINIMAL.replace('design: "3+3"', 'design: "3+3"\n  cohort_size: 4')).message
    )
    assert (
        "variant"
        in only_problem(
            MINIMAL.replace(
                'design: "3+3"', "design: boin\n  target: 0.3\n  max_n: 30\n  variant: escalation_only"
            )
        ).field
    )  # type: ignore[operator]


@pytest.mark.parametrize("target", ["0", "1", "1.5"])
def test_target_must_be_a_probability(target: str) -> None:
    """The target DLT probability lies strictly between 0 and 1 (dose-escalation.md notation phi)."""
    problem = problems_of(MINIMAL.replace('design: "3+3"', f"design: boin\n  target: {target}\n  max_n: 30"))[
        0
    ]
    assert problem.field == "escalation.target"


def test_escalation_spec_for_every_design_in_python() -> None:
    """All six design names validate with their required parameters (the escalation engine's contract)."""
    for design, extra in [
        ("3+3", {"variant": "deescalation"}),
        ("boin", {"target": 0.3, "max_n": 30, "cutoff_eliminate": 0.95}),
        ("mtpi2", {"target": 0.3, "max_n": 30, "eps1": 0.05, "eps2": 0.05}),
        ("i3+3", {"target": 0.3, "max_n": 30}),
        (
            "crm",
            {"target": 0.25, "max_n": 20, "skeleton": [0.1, 0.2], "model": "logistic", "method": "bayes"},
        ),
        ("tite-crm", {"target": 0.25, "max_n": 20, "skeleton": [0.1, 0.2], "tite_scheme": "adaptive"}),
    ]:
        spec = EscalationSpec.model_validate({"design": design, "dlt_window_days": 28, **extra})
        assert spec.design.value == design
        assert spec.parameters()["design"] == design


def test_expansion_level_must_exist() -> None:
    """The expansion cohort names an existing 1-based dose level."""
    problem = only_problem(MINIMAL + "expansion: {dose_level: 3, n_patients: 6}\n")
    assert problem.field == "expansion.dose_level" and problem.allowed == "1 to 2"


def test_eligibility_rule_errors_are_located() -> None:
    """Unknown rule type lists the types; washout cannot be an exclusion rule; duplicate criterion ids."""
    problem = only_problem(MINIMAL.replace("type: age_range, min_years: 18, max_years: 75", "type: bmi"))
    assert problem.field == "eligibility.criteria[0].rule" and "relapse_activity" in (problem.allowed or "")
    washout = MINIMAL.replace("kind: inclusion", "kind: exclusion").replace(
        "type: age_range, min_years: 18, max_years: 75",
        "type: washout, therapy_classes: [anti_cd20], min_days: 180",
    )
    assert "inclusion criterion" in only_problem(washout).message
    assert (
        "give exactly one"
        in only_problem(
            MINIMAL.replace(
                "type: age_range, min_years: 18, max_years: 75", "type: washout, therapy_classes: [anti_cd20]"
            )
        ).message
    )


def test_every_problem_is_reported_at_once() -> None:
    """Several independent errors in different sections come back together, sorted by line."""
    text = (
        MINIMAL.replace("cells_per_kg: 500000", "cells_per_kg: -1")
        .replace('design: "3+3"', "design: nope")
        .replace("assessments: [labs]", "assessments: [labs, telepathy]")
        .replace("  id: T-1\n", "  id: T-1\n  colour: red\n")
    )
    problems = problems_of(text)
    assert len(problems) == 4
    assert [p.line for p in problems] == sorted(p.line or 0 for p in problems)
    assert any(
        p.field and p.field.endswith("assessments[1]") and "edss" in (p.allowed or "") for p in problems
    )


def test_error_text_names_file_line_field_and_allowed() -> None:
    """House rule: the message names the file, line, field and what is allowed."""
    with pytest.raises(InputError) as caught:
        parse_protocol(MINIMAL.replace('design: "3+3"', "design: nope"), "p.yaml")
    text = str(caught.value)
    assert (
        "p.yaml" in text and f"line {LINE_DESIGN}" in text and "escalation.design" in text and "boin" in text
    )


def test_load_protocol_missing_file_names_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A missing protocol file is an InputError naming the file."""
    with pytest.raises(InputError, match="file not found") as caught:
        load_protocol(tmp_path / "nope.yaml")
    assert str(tmp_path / "nope.yaml") in str(caught.value)


def test_dlt_rule_organ_grades_are_checked_and_located() -> None:
    """An organ-specific grade must be 1-5 and name an organ the rule covers (else it can never match)."""
    text = MINIMAL.replace(
        "  dlt_window_days: 28\n",
        "  dlt_window_days: 28\n  dlt_rules:\n    - id: organ\n      description: d\n"
        "      organs: [hepatic]\n      organ_min_grade:\n        cardiac: 7\n",
    )
    problems = problems_of(text)
    assert {p.field for p in problems} == {"escalation.dlt_rules[0].organ_min_grade.cardiac"}
    assert {p.line for p in problems} == {LINE_DLT_WINDOW + 6}
    assert len(problems) == 2


def test_duplicate_key_in_json_candidate(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """JSON candidate files also refuse duplicate keys (json.loads would keep the last silently)."""
    from cartrial.protocol import load_candidate

    file = tmp_path / "c.json"
    file.write_text('{\n  "id": "A",\n  "id": "B"\n}\n')
    with pytest.raises(InputError, match="duplicate key") as caught:
        load_candidate(file)
    assert caught.value.problems[0].line == 3


def test_every_duplicate_key_in_json_candidate_is_reported_with_its_path_and_lines() -> None:
    """D-19.547: a JSON candidate gets the YAML reader's report of keys given twice — every one, its field
    path, its line and the line of the first — not only the first repeat the JSON parser meets."""
    from cartrial.protocol.yaml_source import read_json

    text = (
        '{\n "id": "SCR-9",\n "sex": "F",\n "sex": "M",\n "relapses": [\n  {"onset_date": "2020-01-01"},\n'
        '  {"onset_date": "2021-01-01",\n   "onset_date": "2021-02-01"}\n ]\n}\n'
    )
    problems = read_json(text, "c.json")[2]
    assert [(p.line, p.field) for p in problems] == [(4, "sex"), (8, "relapses[1].onset_date")]
    assert "first given at line 3" in problems[0].message and "first given at line 7" in problems[1].message


def test_duplicate_json_key_is_refused_when_yaml_cannot_give_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """JSON the YAML composer cannot read loses the lines of its fields, not the refusal of a repeated key."""
    from cartrial.protocol import yaml_source

    def cannot_compose(text: str, source: str) -> None:
        raise InputError(Problem("cannot compose", file=source))

    monkeypatch.setattr(yaml_source, "read_yaml", cannot_compose)
    assert yaml_source.read_json('{"id": "A"}', "c.json")[0] == {"id": "A"}
    with pytest.raises(InputError, match="'id' is given twice") as caught:
        yaml_source.read_json('{\n "id": "A",\n "id": "B"\n}', "c.json")
    assert caught.value.problems[0].line == 3


def test_cross_section_errors_are_reported_with_field_errors_elsewhere() -> None:
    """A bad study section does not hide the DLT-window-versus-follow-up problem or the skeleton length."""
    text = (
        MINIMAL.replace("  id: T-1\n", "  id: T-1\n  colour: red\n")
        .replace("dlt_window_days: 28", "dlt_window_days: 35")
        .replace('design: "3+3"', "design: crm\n  target: 0.25\n  max_n: 24\n  skeleton: [0.1, 0.2, 0.3]")
    )
    problems = problems_of(text)
    fields = [p.field for p in problems]
    assert fields == ["study.colour", "escalation.skeleton", "escalation.dlt_window_days"]


def test_pure_python_yaml_loader_gives_the_same_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """The libyaml composer is used when PyYAML has it; the pure-Python fallback reports the same lines."""
    import yaml

    from cartrial.protocol import yaml_source

    cases = [
        MINIMAL.replace("dlt_window_days: 28", "dlt_window_days: 35"),
        MINIMAL.replace('design: "3+3"', "design: nope"),
        MINIMAL.replace("  id: T-1\n", "  id: T-1\n  id: T-2\n"),
        MINIMAL.replace('  design: "3+3"', '  design: ["3+3"'),
    ]
    fast = [[(p.line, p.field) for p in problems_of(text)] for text in cases]
    monkeypatch.setattr(yaml_source, "_Loader", yaml.SafeLoader)
    slow = [[(p.line, p.field) for p in problems_of(text)] for text in cases]
    assert fast == slow
    assert parse_protocol(MINIMAL).study.id == "T-1"


def test_protocol_round_trips_through_its_json_dump(reference: Protocol) -> None:
    """A dumped protocol (as stored by the study database) validates back to an equal protocol."""
    assert Protocol.model_validate(reference.model_dump(mode="json")) == reference


def test_a_protocol_crm_by_maximum_likelihood_is_refused_at_its_line() -> None:
    """A CRM by maximum likelihood has no estimate before the first DLT (dfcrm's crm needs heterogeneity):
    `escalate next`, `simulate study` and `escalate replay` refused a trial's first decision while `simulate
    trial` took the grid's edge as the estimate. Without a two-stage start such a protocol cannot run
    (D-19.36)."""
    text = MINIMAL.replace(
        'design: "3+3"', "design: crm\n  target: 0.25\n  max_n: 20\n  skeleton: [0.1, 0.2]\n  method: mle"
    )
    problem = only_problem(text)
    assert (problem.field, problem.value, problem.allowed) == ("escalation.method", "mle", "bayes")
    assert problem.message.startswith("a CRM by maximum likelihood cannot choose the first doses")
