"""The `score responders` warning of a definition no subject is evaluable for words each subject's reason
from the kind the engine gives (`ResponderOutcome.kind`), never from the shown values and never claiming
more than the engine found (D-19.1140)."""

from __future__ import annotations

import math

import pytest

from cartrial.commands.neuro_commands import (
    _no_evaluable_warnings,
    _not_evaluable_reason,
    not_evaluable_wording,
)
from cartrial.neuro.derive import METHOD_SWITCH_EXCLUDED
from cartrial.neuro.responders import (
    BASELINE_IN_ATTACK,
    NOT_EVALUABLE,
    NotEvaluable,
    evaluate_responder,
    responder_rate,
)
from cartrial.neuro.visual_acuity import parse_acuity


def test_one_eye_during_an_attack_is_not_said_of_every_value() -> None:
    """Right eye: every pre-infusion acuity within the attack window (no baseline, named in-attack); left eye:
    baseline logMAR 0.0, below the 0.2 an improvement needs, so not evaluable. The engine: "baseline only
    during an attack (acuity_od); no other eye evaluable". The warning said "every value on or before the
    infusion is within 30 days after an attack onset", false for the left eye; it now says so of one eye,
    that no other eye is evaluable, and takes the window given (here 45 days, not the constant 30)."""
    left = parse_acuity("0.0", numeric_notation="logmar")
    outcome = evaluate_responder(
        "logmar_improved_0_2",
        "S1",
        {"acuity_od": None, "acuity_os": left},
        {"acuity_od": left, "acuity_os": left, BASELINE_IN_ATTACK: ("acuity_od",)},
    )
    assert not outcome.evaluable and outcome.kind is NotEvaluable.EYE_BASELINE_ONLY_DURING_ATTACK
    text = _not_evaluable_reason(outcome, 45)
    assert "every value on or before the infusion" not in text
    assert "an eye" in text and "no other eye evaluable" in text and "45 days" in text and "30" not in text


def test_single_measure_during_an_attack_names_the_window_given() -> None:
    outcome = evaluate_responder(
        "t25fw_20pct_faster",
        "S1",
        {"t25fw_seconds": None},
        {"t25fw_seconds": 6.0, BASELINE_IN_ATTACK: ("t25fw_seconds",)},
    )
    assert outcome.kind is NotEvaluable.BASELINE_ONLY_DURING_ATTACK
    assert "within 21 days after an attack onset" in _not_evaluable_reason(outcome, 21)


@pytest.mark.parametrize(
    ("baseline", "kind", "words"),
    [
        (0.0, NotEvaluable.BASELINE_NOT_POSITIVE, "baseline walk time not above 0 seconds"),
        (math.inf, NotEvaluable.UNABLE_TO_WALK_AT_BASELINE, "unable to walk at baseline"),
    ],
)
def test_t25fw_reasons_are_the_engines(baseline: float, kind: NotEvaluable, words: str) -> None:
    """A T25FW baseline of 0.0 s (engine: "baseline t25fw_seconds must be > 0") and a baseline unable to walk
    (engine: "unable to walk at baseline") both read "a measure missing, or no room to improve": guessed
    from the shown values. Each now reads its engine kind."""
    outcome = evaluate_responder(
        "t25fw_20pct_faster", "S1", {"t25fw_seconds": baseline}, {"t25fw_seconds": 8.0}
    )
    assert not outcome.evaluable and outcome.kind is kind
    text = _not_evaluable_reason(outcome, 30)
    assert words in text and "no room to improve" not in text


def test_method_switch_reads_the_exclusion_rule() -> None:
    """An EDSS method switch in the walking range (D-19.746) blocks the comparison: the engine's reason is
    the analysis' text ending in METHOD_SWITCH_EXCLUDED; the warning names the switch and the rule."""
    blocked = {"edss": f"EDSS baseline and follow-up scored by different methods {METHOD_SWITCH_EXCLUDED}"}
    outcome = evaluate_responder(
        "edss_decrease_0_5", "S1", {"edss": 5.0}, {"edss": 4.0, NOT_EVALUABLE: blocked}
    )
    assert not outcome.evaluable and outcome.kind is NotEvaluable.COMPARISON_EXCLUDED
    text = _not_evaluable_reason(outcome, 30)
    assert "different methods" in text and text.endswith(METHOD_SWITCH_EXCLUDED)
    summary = responder_rate(
        "edss_decrease_0_5", {"S1": ({"edss": 5.0}, {"edss": 4.0, NOT_EVALUABLE: blocked})}
    )
    (line,) = _no_evaluable_warnings([summary], 30)
    assert METHOD_SWITCH_EXCLUDED in line and ": S1" in line


@pytest.mark.parametrize(
    ("definition", "baseline", "follow_up", "kind"),
    [
        (
            "ambulation_score_decrease_1",
            {"ambulation": None},
            {"ambulation": 2},
            NotEvaluable.MISSING_BASELINE,
        ),
        (
            "ambulation_score_decrease_1",
            {"ambulation": 2},
            {"ambulation": None},
            NotEvaluable.MISSING_FOLLOW_UP,
        ),
        ("ambulation_score_decrease_1", {"ambulation": 0}, {"ambulation": 0}, NotEvaluable.NO_ROOM),
        (
            "osis_visual_decrease_1",
            {"osis_visual_od": 0},
            {"osis_visual_od": 0},
            NotEvaluable.NO_EYE_EVALUABLE,
        ),
    ],
)
def test_every_other_kind_is_given_and_worded(
    definition: str, baseline: dict[str, object], follow_up: dict[str, object], kind: NotEvaluable
) -> None:
    outcome = evaluate_responder(definition, "S1", baseline, follow_up)
    assert not outcome.evaluable and outcome.kind is kind
    assert _not_evaluable_reason(outcome, 30) == not_evaluable_wording()[kind].format(window=30)


def test_the_wording_table_covers_every_kind() -> None:
    assert set(not_evaluable_wording()) == set(NotEvaluable)
    assert (
        evaluate_responder("ambulation_score_decrease_1", "S1", {"ambulation": 3}, {"ambulation": 1}).kind
        is None
    )
