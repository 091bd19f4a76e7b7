"""DLT assessment: every clause of the `DltRule` semantics (cartrial.protocol.dlt.DltRule docstring)."""

from __future__ import annotations

import dataclasses

import pytest

from cartrial.errors import InputError
from cartrial.escalation import assess_dlt, subject_dlt
from cartrial.protocol.dlt import DltRule, GradedEvent, Relatedness, ToxicityCategory

BASE = GradedEvent(
    subject_id="CT-001",
    category=ToxicityCategory.HEMATOLOGIC,
    term="neutrophil count decreased",
    grade=3,
    scale="CTCAE v5.0",
    onset_day=5,
    duration_days=10,
    relatedness=Relatedness.PROBABLE,
    organ=None,
)


def _rule(**kwargs: object) -> DltRule:
    return DltRule(id=str(kwargs.pop("id", "r")), description="test rule", **kwargs)  # type: ignore[arg-type]


def _ev(**changes: object) -> GradedEvent:
    return dataclasses.replace(BASE, **changes)  # type: ignore[arg-type]


def test_category_none_matches_any_category() -> None:
    """category None = any category."""
    assert assess_dlt(_ev(category=ToxicityCategory.CRS), [_rule(min_grade=3)], 28).is_dlt
    result = assess_dlt(_ev(), [_rule(category=ToxicityCategory.CRS)], 28)
    assert not result.is_dlt and "category" in result.not_fired["r"][0]


def test_min_grade() -> None:
    """grade >= min_grade."""
    assert assess_dlt(_ev(grade=3), [_rule(min_grade=3)], 28).is_dlt
    assert not assess_dlt(_ev(grade=2), [_rule(min_grade=3)], 28).is_dlt


def test_organ_min_grade_overrides_for_listed_organs() -> None:
    """grade >= organ_min_grade[organ] for the listed organs (e.g. cardiac from grade 2)."""
    rule = _rule(min_grade=3, organ_min_grade={"cardiac": 2})
    assert assess_dlt(_ev(grade=2, organ="cardiac"), [rule], 28).is_dlt
    assert not assess_dlt(_ev(grade=2, organ="hepatic"), [rule], 28).is_dlt


def test_organs_filter() -> None:
    """organ in `organs` when given."""
    rule = _rule(min_grade=3, organs=["hepatic", "renal"])
    assert assess_dlt(_ev(organ="renal"), [rule], 28).is_dlt
    result = assess_dlt(_ev(organ="skin"), [rule], 28)
    assert not result.is_dlt and "organ" in " ".join(result.not_fired["r"])
    assert not assess_dlt(_ev(organ=None), [rule], 28).is_dlt


def test_exclude_terms_case_insensitive() -> None:
    """term not in exclude_terms."""
    rule = _rule(min_grade=3, exclude_terms=["Lymphocyte count decreased"])
    assert not assess_dlt(_ev(term="lymphocyte count decreased"), [rule], 28).is_dlt
    assert assess_dlt(_ev(term="platelet count decreased"), [rule], 28).is_dlt


def test_min_duration_is_strictly_greater() -> None:
    """min_duration_days means "> N days": 7 days does not meet "> 7 days", 7.5 does; unknown
    duration says so."""
    rule = _rule(min_grade=3, min_duration_days=7)
    assert not assess_dlt(_ev(duration_days=7), [rule], 28).is_dlt
    assert assess_dlt(_ev(duration_days=7.5), [rule], 28).is_dlt
    unknown = assess_dlt(_ev(duration_days=None), [rule], 28)
    assert not unknown.is_dlt and "duration unknown" in unknown.not_fired["r"][0]
    ongoing = assess_dlt(_ev(duration_days=None, onset_day=5, ongoing_at_day=13), [rule], 28)
    assert ongoing.is_dlt  # still ongoing on day 13: already 8 days > 7


def test_min_relatedness_order() -> None:
    """relatedness at least min_relatedness, ordered unrelated < unlikely < possible < probable < definite."""
    rule = _rule(min_grade=3, min_relatedness=Relatedness.POSSIBLE)
    for level, expected in [
        (Relatedness.UNRELATED, False),
        (Relatedness.UNLIKELY, False),
        (Relatedness.POSSIBLE, True),
        (Relatedness.PROBABLE, True),
        (Relatedness.DEFINITE, True),
    ]:
        assert assess_dlt(_ev(relatedness=level), [rule], 28).is_dlt is expected
    missing = assess_dlt(_ev(relatedness=None), [rule], 28)
    assert not missing.is_dlt and "not assessed" in missing.not_fired["r"][0]


def test_exclude_underlying_disease() -> None:
    """not due to the underlying disease when exclude_underlying_disease."""
    rule = _rule(min_grade=3, exclude_underlying_disease=True)
    assert not assess_dlt(_ev(due_to_underlying_disease=True), [rule], 28).is_dlt
    assert assess_dlt(_ev(due_to_underlying_disease=True), [_rule(min_grade=3)], 28).is_dlt


def test_committee_judgement() -> None:
    """committee_judgement rules match events the safety review committee judged to be DLTs."""
    rule = _rule(committee_judgement=True)
    assert not assess_dlt(_ev(grade=2), [rule], 28).is_dlt
    assert assess_dlt(_ev(grade=2, judged_dlt_by_committee=True), [rule], 28).is_dlt


def test_only_onset_within_window_counts() -> None:
    """Only events with onset within the DLT window (day 0 to window, inclusive) count."""
    rule = _rule(min_grade=3)
    assert assess_dlt(_ev(onset_day=28), [rule], 28).is_dlt
    late = assess_dlt(_ev(onset_day=29), [rule], 28)
    assert not late.is_dlt and not late.in_window and "outside the DLT window" in late.not_fired["r"][0]
    assert not assess_dlt(_ev(onset_day=-1), [rule], 28).is_dlt


def test_which_rules_fired_and_why_others_did_not() -> None:
    """The assessment lists every rule that fired and the reasons of the others."""
    rules = [_rule(id="a", min_grade=3), _rule(id="b", min_grade=4), _rule(id="c", min_grade=3)]
    result = assess_dlt(_ev(grade=3), rules, 28)
    assert result.fired == ("a", "c")
    assert "grade 3 is below 4" in result.not_fired["b"][0]


def test_subject_dlt() -> None:
    """subject_dlt: a subject has a DLT when any of their events is one; events of one subject only."""
    rules = [_rule(min_grade=4)]
    verdict = subject_dlt([_ev(grade=3), _ev(grade=4, term="febrile neutropenia")], rules, 28)
    assert verdict.is_dlt and [e.term for e in verdict.dlt_events] == ["febrile neutropenia"]
    assert not subject_dlt([_ev(grade=3)], rules, 28).is_dlt
    with pytest.raises(InputError):
        subject_dlt([_ev(), _ev(subject_id="CT-002")], rules, 28)


def test_cohort_outcomes_from_graded_events() -> None:
    """Graded events + DLT rules -> the escalation history (no database): CT-002 has a grade 4 event."""
    from cartrial.escalation import cohort_outcomes

    rules = [_rule(min_grade=4)]
    events = [_ev(subject_id="CT-002", grade=4), _ev(subject_id="CT-001", grade=2)]
    outcomes, verdicts = cohort_outcomes([(1, ["CT-001", "CT-002", "CT-003"])], events, rules, 28)
    assert str(outcomes) == "1NTN"
    assert verdicts["CT-002"].is_dlt and not verdicts["CT-003"].is_dlt
    with pytest.raises(InputError, match="not assigned"):
        cohort_outcomes([(1, ["CT-001"])], events, rules, 28)
