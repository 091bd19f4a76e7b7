"""Named responder definitions (walking, bladder, vision). Expected outcomes by hand from each definition's
documented rule."""

from __future__ import annotations

from datetime import date

import pytest

from cartrial.errors import ConfigurationError
from cartrial.neuro.responders import (
    DEFAULT_RESPONDERS,
    RESPONDER_DEFINITIONS,
    Domain,
    baseline_and_follow_up,
    evaluate_responder,
    responder_rate,
)
from cartrial.neuro.visual_acuity import parse_acuity


def test_decrease_definitions_and_evaluability() -> None:
    """ambulation_score_decrease_1: 3 -> 2 improved; 2 -> 2 not; baseline 0 not evaluable; missing not
    evaluable. The percentage is over evaluable patients and records definition and n."""
    measures = {
        "A": ({"ambulation": 3}, {"ambulation": 2}),
        "B": ({"ambulation": 2}, {"ambulation": 2}),
        "C": ({"ambulation": 0}, {"ambulation": 0}),
        "D": ({"ambulation": 4}, {"ambulation": None}),
    }
    summary = responder_rate("ambulation_score_decrease_1", measures)
    assert (summary.n_subjects, summary.n_evaluable, summary.n_responders) == (4, 2, 1)
    assert summary.percent == 50.0
    assert summary.definition == "ambulation_score_decrease_1"
    assert summary.parameters == {"min_decrease": 1}
    assert "1/2 evaluable" in summary.label()


def test_parameters_override_and_unknown_names() -> None:
    """A protocol may change a parameter by name; unknown definitions or parameters are errors."""
    measures = {"A": ({"pyramidal": 3}, {"pyramidal": 2})}
    assert responder_rate("pyramidal_fs_decrease_1", measures, {"min_decrease": 2}).n_responders == 0
    with pytest.raises(ConfigurationError):
        responder_rate("nope", measures)
    with pytest.raises(ConfigurationError):
        responder_rate("pyramidal_fs_decrease_1", measures, {"threshold": 1})


def test_t25fw_20_percent_faster() -> None:
    """t25fw_20pct_faster: 10 s -> 8 s is exactly 20 % faster (responder); 10 -> 8.5 is not."""
    assert evaluate_responder(
        "t25fw_20pct_faster", "A", {"t25fw_seconds": 10.0}, {"t25fw_seconds": 8.0}
    ).responder
    assert not evaluate_responder(
        "t25fw_20pct_faster", "A", {"t25fw_seconds": 10.0}, {"t25fw_seconds": 8.5}
    ).responder


def test_vision_logmar_per_eye() -> None:
    """logmar_improved_0_2: an eye with baseline logMAR >= 0.2 improving by >= 0.2 (§2.3) in either eye;
    normal eyes are not evaluable; CF -> 20/200 is an ordinal improvement."""

    def va(text: str):
        return parse_acuity(text)

    improved = evaluate_responder(
        "logmar_improved_0_2", "A", {"acuity_od": va("20/100"), "acuity_os": va("20/20")},
        {"acuity_od": va("20/50"), "acuity_os": va("20/20")},
    )  # fmt: skip
    assert improved.evaluable and improved.responder
    normal = evaluate_responder(
        "logmar_improved_0_2", "B", {"acuity_od": va("20/20"), "acuity_os": va("20/25")},
        {"acuity_od": va("20/20"), "acuity_os": va("20/20")},
    )  # fmt: skip
    assert not normal.evaluable
    off_chart = evaluate_responder(
        "logmar_improved_0_2", "C", {"acuity_od": va("CF")}, {"acuity_od": va("20/200")}
    )
    assert off_chart.responder


def test_osis_per_eye_and_sphincter() -> None:
    """osis_visual_decrease_1 per eye; osis_sphincter_decrease_1 on the sphincter grade (Wingerchuk 1999)."""
    assert evaluate_responder("osis_visual_decrease_1", "A", {"osis_visual_od": 3, "osis_visual_os": 0},
                              {"osis_visual_od": 2, "osis_visual_os": 0}).responder  # fmt: skip
    assert evaluate_responder(
        "osis_sphincter_decrease_1", "A", {"osis_sphincter": 2}, {"osis_sphincter": 1}
    ).responder


def test_defaults_cover_each_domain() -> None:
    """Each domain has a documented default definition that exists."""
    assert set(DEFAULT_RESPONDERS) == set(Domain)
    assert all(name in RESPONDER_DEFINITIONS for name in DEFAULT_RESPONDERS.values())
    assert all(d.source and d.description for d in RESPONDER_DEFINITIONS.values())


def test_baseline_and_follow_up_choice() -> None:
    """Baseline = last value on or before infusion; follow-up = last after it (default) or best (lowest)."""
    visits = [(date(2021, 1, 1), 3), (date(2021, 1, 10), 4), (date(2021, 2, 1), 1), (date(2021, 3, 1), 2)]
    assert baseline_and_follow_up(visits, date(2021, 1, 10)) == (4, 2)
    assert baseline_and_follow_up(visits, date(2021, 1, 10), "best") == (4, 1)
    assert baseline_and_follow_up(visits, date(2020, 12, 1)) == (None, 2)


def test_t25fw_unable_to_walk() -> None:
    """Unable to walk is worse than any time: at follow-up not improved; at baseline not evaluable."""
    inf = float("inf")
    after = evaluate_responder("t25fw_20pct_faster", "A", {"t25fw_seconds": 10.0}, {"t25fw_seconds": inf})
    assert after.evaluable and after.responder is False
    before = evaluate_responder("t25fw_20pct_faster", "A", {"t25fw_seconds": inf}, {"t25fw_seconds": 8.0})
    assert not before.evaluable


@pytest.mark.parametrize(
    ("baseline", "follow_up", "parameters"),
    [
        # the logMAR 0.2 line of a metric chart and of the §2.1 reference row (decimal 0.63) [V]
        ("6/9.5", "6/6", None),
        ("decimal 0.63", "decimal 1.0", None),
        # the 0.5 line (20/63 = decimal 0.32, §2.1) with an eligibility of 0.5 and a 0.3 threshold
        ("20/63", "20/32", {"threshold_logmar": 0.3, "min_baseline_logmar": 0.5}),
        ("decimal 0.32", "decimal 0.63", {"threshold_logmar": 0.3, "min_baseline_logmar": 0.5}),
    ],
)
def test_vision_baseline_on_the_eligibility_line_is_evaluable(
    baseline: str, follow_up: str, parameters: dict[str, float] | None
) -> None:
    """An eye whose baseline is the chart line of ``min_baseline_logmar`` is eligible and a two-line (or
    three-line) gain from it responds: the line is read in whole letters as the change is (§2.1: one line
    = 0.1 logMAR = 5 letters; D-19.683, D-19.684), not excluded because its printed value is 0.0004-0.005
    short of the nominal logMAR."""
    outcome = evaluate_responder(
        "logmar_improved_0_2", "A", {"acuity_od": parse_acuity(baseline)},
        {"acuity_od": parse_acuity(follow_up)}, parameters,
    )  # fmt: skip
    assert outcome.evaluable
    assert outcome.responder


@pytest.mark.parametrize("minimum", [0.25, 0.15, 0.35])
def test_vision_baseline_exactly_at_a_minimum_between_letters_is_evaluable(minimum: float) -> None:
    """A baseline exactly at ``min_baseline_logmar`` is eligible even when the minimum is not a whole
    letter (0.25 = 12.5 letters, §2.1): letters only widen the rule (D-19.684)."""
    outcome = evaluate_responder(
        "logmar_improved_0_2", "A", {"acuity_od": parse_acuity(f"logMAR {minimum}")},
        {"acuity_od": parse_acuity("logMAR -0.3")}, {"min_baseline_logmar": minimum},
    )  # fmt: skip
    assert outcome.evaluable
    assert outcome.responder


@pytest.mark.parametrize(("baseline", "minimum"), [("logMAR 0.19", 0.2), ("logMAR -0.11", -0.1)])
def test_vision_baseline_half_a_letter_below_the_minimum_is_not_evaluable(
    baseline: str, minimum: float
) -> None:
    """Half a letter (0.01 logMAR) below the minimum is short whatever the sign, as half a letter short of
    the change threshold is (D-19.683, D-19.684): 0.19 with 0.2 and -0.11 with -0.1."""
    outcome = evaluate_responder(
        "logmar_improved_0_2", "A", {"acuity_od": parse_acuity(baseline)},
        {"acuity_od": parse_acuity("logMAR -0.3")}, {"min_baseline_logmar": minimum},
    )  # fmt: skip
    assert not outcome.evaluable
