"""Every DLT rule of the example protocol can fire on the events the engines produce (found after issue 13):
graded CRS/ICANS carry no investigator relatedness (they are attributed to the product by definition, ASTCT
2019), adverse events carry a CTCAE term but no organ (the organ comes from the term's organ class), and
the committee's judgement is a recorded flag. Each fired rule cites its source."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial import examples
from cartrial.escalation import assess_dlt
from cartrial.escalation.dlt import RELATEDNESS_BY_DEFINITION_SOURCE, attributed_relatedness, event_organ
from cartrial.protocol import load_protocol
from cartrial.protocol.dlt import GradedEvent, Relatedness, ToxicityCategory
from cartrial.protocol.organs import ORGAN_SOURCE, ORGAN_TERMS, organ_of

PROTOCOL = load_protocol(examples.path("ct103a-nmosd") / "protocol.yaml")
RULES = list(PROTOCOL.escalation.dlt_rules)
WINDOW = PROTOCOL.escalation.dlt_window_days


def _event(category: ToxicityCategory, term: str, grade: int, **kw: object) -> GradedEvent:
    return GradedEvent("S1", category, term, grade, "test", onset_day=5.0, duration_days=3.0, **kw)  # type: ignore[arg-type]


def test_graded_icans_of_grade_3_fires_the_related_icans_rule() -> None:
    # a graded ICANS episode as the grading engine makes it: no relatedness recorded
    icans = _event(ToxicityCategory.ICANS, "Immune effector cell-associated neurotoxicity syndrome", 3)
    verdict = assess_dlt(icans, RULES, WINDOW)
    assert verdict.fired == ("icans_grade_3_related",)
    assert "Lee" in verdict.citations["icans_grade_3_related"]
    assert RELATEDNESS_BY_DEFINITION_SOURCE in verdict.citations["icans_grade_3_related"]
    assert not assess_dlt(_event(ToxicityCategory.ICANS, "ICANS", 2), RULES, WINDOW).is_dlt


@pytest.mark.parametrize("category", [ToxicityCategory.CRS, ToxicityCategory.ICANS])
@pytest.mark.parametrize("recorded", [None, *Relatedness])
def test_crs_and_icans_are_related_by_definition(
    category: ToxicityCategory, recorded: Relatedness | None
) -> None:
    relatedness, source = attributed_relatedness(_event(category, "x", 3, relatedness=recorded))
    assert relatedness is Relatedness.DEFINITE and source == RELATEDNESS_BY_DEFINITION_SOURCE


def test_other_categories_keep_the_investigators_relatedness() -> None:
    for recorded in (None, *Relatedness):
        event = _event(ToxicityCategory.NON_HEMATOLOGIC, "Nausea", 3, relatedness=recorded)
        assert attributed_relatedness(event)[0] is recorded


@pytest.mark.parametrize(
    ("term", "grade", "organ", "fires"),
    [
        ("Alanine aminotransferase increased", 3, "hepatic", True),
        ("Alanine aminotransferase increased", 2, "hepatic", False),
        ("Acute kidney injury", 2, "renal", True),  # renal from grade 2
        ("Creatinine increased", 2, "renal", True),
        ("Heart failure", 2, "cardiac", True),  # cardiac from grade 2
        ("Sinus tachycardia", 1, "cardiac", False),
        ("Rash maculo-papular", 3, "skin", True),
        ("Diarrhoea", 3, "gastrointestinal", True),  # British spelling of the CTCAE term
        ("Hypoxia", 3, "pulmonary", True),
        ("Fatigue", 4, None, False),  # general disorders: no organ of the rule
    ],
)
def test_adverse_event_terms_map_to_organs_and_the_organ_rule_fires(
    term: str, grade: int, organ: str | None, fires: bool
) -> None:
    event = _event(ToxicityCategory.NON_HEMATOLOGIC, term, grade, relatedness=Relatedness.POSSIBLE)
    assert organ_of(term) == organ and event_organ(event) == organ
    verdict = assess_dlt(event, RULES, WINDOW)
    assert ("organ_toxicity_related" in verdict.fired) is fires
    if fires:
        citation = verdict.citations["organ_toxicity_related"]
        assert ORGAN_SOURCE in citation and "investigator" in citation and organ in citation
    # an unrelated organ toxicity is not a DLT by this rule
    unrelated = _event(ToxicityCategory.NON_HEMATOLOGIC, term, grade, relatedness=Relatedness.UNLIKELY)
    assert "organ_toxicity_related" not in assess_dlt(unrelated, RULES, WINDOW).fired


def test_an_organ_given_with_the_event_wins_over_the_term() -> None:
    event = _event(
        ToxicityCategory.NON_HEMATOLOGIC, "Fatigue", 3, organ="hepatic", relatedness=Relatedness.DEFINITE
    )
    assert event_organ(event) == "hepatic"
    assert "organ_toxicity_related" in assess_dlt(event, RULES, WINDOW).fired


@given(st.sampled_from(sorted({(o, t) for o, terms in ORGAN_TERMS.items() for t in terms})))
def test_every_listed_term_maps_to_its_organ_whatever_its_case_and_spacing(pair: tuple[str, str]) -> None:
    organ, term = pair
    assert organ_of(f"  {term.upper()} ") == organ


def test_the_committee_rule_fires_on_a_recorded_judgement_and_cites_it() -> None:
    judged = _event(ToxicityCategory.NON_HEMATOLOGIC, "Fatigue", 2, judged_dlt_by_committee=True)
    verdict = assess_dlt(judged, RULES, WINDOW)
    assert verdict.fired == ("committee_judged",)
    assert "judgement" in verdict.citations["committee_judged"]
    assert not assess_dlt(_event(ToxicityCategory.NON_HEMATOLOGIC, "Fatigue", 2), RULES, WINDOW).is_dlt


def test_every_fired_rule_cites_the_protocol_rule() -> None:
    events = [
        _event(ToxicityCategory.CRS, "Cytokine release syndrome", 4),
        _event(ToxicityCategory.DEATH, "Death NOS", 5, relatedness=Relatedness.POSSIBLE),
        GradedEvent("S1", ToxicityCategory.HEMATOLOGIC, "Neutrophil count decreased", 4, "t", 3.0, 10.0),
    ]
    for event in events:
        verdict = assess_dlt(event, RULES, WINDOW)
        assert verdict.is_dlt
        assert set(verdict.citations) == set(verdict.fired)
        for rule_id, citation in verdict.citations.items():
            assert f"escalation.dlt_rules {rule_id}" in citation
        assert verdict.as_dict()["citations"] == dict(verdict.citations)
