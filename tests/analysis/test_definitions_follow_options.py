"""A reported number's stated definition is the rule the analysis used, not the default's (D-19.982-985).

Before: the TEAE key findings defined a TEAE as "starting on or after the first lymphodepletion dose" under
``analysis.options.treatment_emergent_start: infusion`` too (the datasets counted from the infusion day);
the EDSS key finding defined the baseline as "last on or before day 0" under the default
``edss_baseline_visit: outside_relapse``, which leaves out a visit within 30 days after a relapse onset
(D-19.864; the population's own description said so); `lab_shift` was titled "CTCAE v5.0" when the labs
were graded by CTCAE v6.0 (``analysis.options.ctcae_version``); the relapse-free key finding counted
"from day 0 to the last assessment" under ``relapse_follow_up_end: cutoff`` too.

Expected texts: the rules as docs/analysis.md and `cartrial.protocol.analysis_spec` state them
(TreatmentEmergentStart: "on or after the infusion day"; EdssBaselineVisit: the last EDSS on or before day 0,
not within `relapse_exclusion_days` = 30 days after a relapse onset unless ``last``), and the version the
grading engine reports it used (`derive_lab_grades` options).
"""

from __future__ import annotations

import pytest
from tests.analysis.test_lab_baseline_treatment_start import POPULATIONS, _tables

from cartrial.analysis import safety
from cartrial.analysis.findings import efficacy_findings, safety_findings
from cartrial.analysis.toxicity import lab_datasets


def _with_options(protocol, **options):  # type: ignore[no-untyped-def]
    changed = protocol.analysis.options.model_copy(update=options)
    return protocol.model_copy(update={"analysis": protocol.analysis.model_copy(update={"options": changed})})


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("infusion", "adverse event with onset on or after the infusion day, on or before the cut-off"),
        (
            "lymphodepletion",
            "adverse event with onset on or after the first lymphodepletion dose (infusion day without one), "
            "on or before the cut-off",
        ),
    ],
)
def test_the_teae_findings_define_a_teae_by_the_study_rule(snapshot, analysis, rule, expected) -> None:  # type: ignore[no-untyped-def]
    from cartrial.protocol.analysis_spec import TreatmentEmergentStart

    protocol = _with_options(snapshot.protocol, treatment_emergent_start=TreatmentEmergentStart(rule))
    findings = safety_findings(analysis.datasets, analysis.populations, protocol)
    teae = [f for f in findings if f.source == "teae_summary"]
    assert teae
    for finding in teae:
        assert finding.definition.startswith(expected), finding.definition
        if rule == "infusion":
            assert "lymphodepletion dose" not in finding.definition.split(";")[0]


@pytest.mark.parametrize(
    ("visit", "expected"),
    [
        ("outside_relapse", "(the last on or before day 0 not within 30 days after a relapse onset)"),
        ("last", "(the last on or before day 0)"),
    ],
)
def test_the_edss_finding_states_the_baseline_rule_used(snapshot, analysis, visit, expected) -> None:  # type: ignore[no-untyped-def]
    from cartrial.protocol.analysis_spec import EdssBaselineVisit

    protocol = _with_options(snapshot.protocol, edss_baseline_visit=EdssBaselineVisit(visit))
    finding = next(
        f
        for f in efficacy_findings(analysis.datasets, analysis.populations, protocol)
        if f.source == "edss_change"
    )
    assert f"last EDSS minus baseline EDSS {expected}" in finding.definition, finding.definition


def test_the_edss_finding_says_what_its_population_says(analysis) -> None:  # type: ignore[no-untyped-def]
    """The example protocol sets ``edss_baseline_visit: last`` (its edss_change is "from the screening
    value", D-19.869): finding and population both state that rule, and neither the other."""
    finding = next(f for f in analysis.findings if f.source == "edss_change")
    population = analysis.populations["efficacy:edss_change"].definition
    assert "(the last on or before day 0)" in finding.definition
    assert "(the last on or before day 0)" in population
    assert "relapse onset" not in finding.definition and "relapse onset" not in population


@pytest.mark.parametrize("version", ["5.0", "6.0"])
def test_lab_shift_is_titled_by_the_ctcae_version_graded(version: str) -> None:
    tables = _tables()  # neutrophil counts: CTCAE v6.0 changed them (reference toxicity-grading.md)
    tables["labs"] = tables["labs"].assign(analyte="neutrophils", lln="1.8")
    labs = safety.graded_labs(tables, version, "lymphodepletion")
    shift = lab_datasets(tables, POPULATIONS, version, labs)["lab_shift"]
    assert shift.title.startswith(f"CTCAE v{version} haematology"), shift.title
    # a caller's version that is not the one the labs were graded by: the grading's (it made the grades)
    other = lab_datasets(tables, POPULATIONS, "5.0" if version == "6.0" else "6.0", labs)["lab_shift"]
    assert other.title.startswith(f"CTCAE v{version} haematology"), other.title


@pytest.mark.parametrize(
    ("end", "expected"),
    [
        (
            "last_contact",
            # only the contact forms count, and a later relapse extends it (D-19.587; D-19.988)
            "from day 0 to the last contact (the latest date on or before the cut-off of an EDSS, visual "
            "acuity, OSIS, timed walk, CRS or ICANS assessment, a lab, a PK or PD sample, or the infusion; "
            "never after a death or a dated end of study), or a later relapse onset (never past the end of "
            "study);",
        ),
        (
            "cutoff",
            "from day 0 to the cut-off, or the death or the end of study when earlier (its date, or when it "
            "is undated the last contact: the latest date on or before the cut-off of an EDSS",
        ),
    ],
)
def test_the_relapse_free_finding_states_the_end_of_follow_up_used(snapshot, analysis, end, expected) -> None:  # type: ignore[no-untyped-def]
    """``analysis.options.relapse_follow_up_end`` (D-19.83, D-19.92): the follow-up after infusion ends at
    the last contact (default) or at the cut-off; the finding said "to the last assessment" under both."""
    from cartrial.protocol.analysis_spec import FollowUpEnd

    protocol = _with_options(snapshot.protocol, relapse_follow_up_end=FollowUpEnd(end))
    finding = next(
        f
        for f in efficacy_findings(analysis.datasets, analysis.populations, protocol)
        if f.source == "relapse_free_km"
    )
    assert expected in finding.definition, finding.definition


def test_the_follow_up_text_names_the_contact_forms_counted() -> None:
    """The last-contact words name exactly the forms `last_contact` reads (D-19.988)."""
    from cartrial.analysis.efficacy import CONTACT_FORMS
    from cartrial.analysis.populations import CONTACT_COLUMNS

    assert set(CONTACT_COLUMNS) == CONTACT_FORMS


@pytest.mark.parametrize(
    ("rule", "serious", "words"),
    [
        ("lymphodepletion", 2, "on or after the first lymphodepletion dose (infusion day without one)"),
        ("infusion", 1, "on or after the infusion day"),
    ],
)
def test_the_teae_finding_counts_and_defines_by_the_analysed_rule(snapshot, rule, serious, words) -> None:  # type: ignore[no-untyped-def]
    """End to end (review of D-19.982): `analyse` under each ``treatment_emergent_start``, the count and the
    definition of one finding together. By hand (the example's adverse_events.csv): the only serious event is
    CT-006's of 2021-09-14, after its infusion (2021-08-24); a serious event is added for CT-001 on
    2021-04-25, after its first lymphodepletion dose (2021-04-23) and before its infusion (2021-04-27): 2 of
    the 12 infused counted from lymphodepletion, 1 from the infusion."""
    import dataclasses

    import pandas as pd

    from cartrial.analysis import analyse
    from cartrial.protocol import parse_protocol

    events = snapshot.tables["adverse_events"]
    row = events[events["subject_id"] == "CT-001"].iloc[[0]].copy()
    row["term"], row["category"], row["started_on"], row["ended_on"] = "Pyrexia", "other", "2021-04-25", ""
    row["grade"], row["serious"], row["serious_hospitalisation"] = "2", "true", "true"
    if "record_id" in row:
        row["record_id"] = str(int(pd.to_numeric(events["record_id"]).max()) + 1)
    tables = dict(snapshot.tables) | {"adverse_events": pd.concat([events, row], ignore_index=True)}
    text = snapshot.protocol_yaml.replace(
        "    treatment_emergent_start: lymphodepletion\n", f"    treatment_emergent_start: {rule}\n"
    )
    protocol = parse_protocol(text)
    result = analyse(dataclasses.replace(snapshot, tables=tables, protocol=protocol))
    [finding] = [
        f for f in result.findings if "had a serious treatment-emergent adverse event" in f.statement
    ]
    assert (finding.numerator, finding.denominator) == (serious, 12)
    assert finding.definition == f"adverse event with onset {words}, on or before the cut-off"


def test_the_edss_finding_counts_and_defines_by_the_analysed_baseline_rule(snapshot) -> None:  # type: ignore[no-untyped-def]
    """End to end (review of D-19.983): `analyse` under each ``edss_baseline_visit``, the count and the
    definition together. By hand (tests/analysis/test_edss_baseline_visit_option.py): with a relapse onset
    of CT-002 added 14 days before its only pre-infusion EDSS, ``outside_relapse`` leaves CT-002 without a
    baseline, ``last`` keeps it: the finding's evaluable patients differ by CT-002 alone, and each finding
    states its own rule."""
    from tests.analysis.conftest import analyse_with_ct002_attack

    found = {}
    for visit, rule in (
        ("outside_relapse", "(the last on or before day 0 not within 30 days after a relapse onset)"),
        ("last", "(the last on or before day 0)"),
    ):
        result = analyse_with_ct002_attack(snapshot, "edss_baseline_visit", visit)
        [finding] = [f for f in result.findings if f.statement.startswith("EDSS fell from baseline")]
        assert f"last EDSS minus baseline EDSS {rule}" in finding.definition, finding.definition
        found[visit] = finding
    assert found["last"].denominator == found["outside_relapse"].denominator + 1
