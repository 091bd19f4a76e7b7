"""Invariants of the neuro engine not yet held by a property test, each derived from
docs/science/neuro-outcomes.md (audit-neuro):

- §1.10: the open calculators disagree only in one direction — the npm ``edss`` (JS) result is the higher
  one — and, with the cerebral grade-1 rule (a) held equal, only inside the 4.0-5.0 band; the default
  (a from R; b, c, d from JS) lies between the two presets.
- §1.7: in the Kurtzke variant walking farther with the same aid never raises the EDSS (every gap option),
  and with the default gap rules needing more aid at the same distance never lowers it.
- §1.2: the visual FS implied by acuity does not depend on which eye is given first, stays in 0-6, and the
  better-eye rule adds at most one grade.
- §3: the OSIS visual grade orders the off-chart levels CF <= HM <= LP <= NLP, every chart acuity at most CF.
- §5: the worsening thresholds fall (never rise) as the reference EDSS rises; an improvement threshold,
  where defined, is reachable on the scale (at most the reference); a confirmed worsening is
  relapse-associated exactly when a relapse began within 90 days before its onset or between its onset
  and its confirmation.
- §6: the dilution intervals of the series tile [0, inf) in order, log10 moves by 0.5 per step (within
  the rounding of the printed dilutions), and a fall in steps is antisymmetric and additive.
"""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.neuro.disability import (
    DisabilityOptions,
    confirmed_disability_change,
    improvement_threshold,
    worsening_threshold,
)
from cartrial.neuro.edss_scale import (
    FS_MAX,
    FS_NAMES,
    EdssOptions,
    FunctionalSystems,
    KurtzkeGapOptions,
    edss,
    edss_kurtzke,
)
from cartrial.neuro.osis import osis_visual_from_acuity
from cartrial.neuro.titres import DEFAULT_SERIES, parse_titre_step, titre_fell, titre_interval, titre_steps
from cartrial.neuro.visual_acuity import format_logmar, parse_acuity, visual_fs_from_acuity

_FS = st.tuples(*(st.integers(0, FS_MAX[name]) for name in FS_NAMES))
_SMALL_FS = st.tuples(*(st.integers(0, min(FS_MAX[name], 4)) for name in FS_NAMES))  # the 4.0-5.0 band
_JS = EdssOptions.from_preset("edss_js")
_R = EdssOptions.from_preset("edsscalculator_r")
_R_CEREBRAL_AS_JS = EdssOptions.from_preset("edsscalculator_r", cerebral_grade1_as_zero=False)

_EDSS_STEPS = [0.0, *(x / 2 for x in range(2, 21))]  # §1: 0, 1.0, 1.5, ..., 10 (there is no 0.5)


# --- §1.10 ----------------------------------------------------------------------------------------------


@settings(max_examples=property_examples(400), deadline=None)
@given(st.one_of(_FS, _SMALL_FS), st.integers(0, 16))
def test_r_preset_never_above_default_never_above_js(vector: tuple[int, ...], ambulation: int) -> None:
    """§1.10 [V]: "in every case the JS result is the higher one". Each option of the R preset lowers or keeps
    the step against the default (a: cerebral 1 counts 0 in both; b 4.0 < 4.5; c 4.5 < 5.0; d: the
    ambulation catch-alls give 4.0/4.5 instead of 5.0), and the default differs from the JS preset only by
    a (cerebral 1 -> 0, a lower FS), so R <= default <= JS."""
    fs = FunctionalSystems(*vector)
    r, default, js = (edss(fs, ambulation, options).edss for options in (_R, EdssOptions(), _JS))
    assert r <= default <= js


@settings(max_examples=property_examples(400), deadline=None)
@given(st.one_of(_FS, _SMALL_FS), st.integers(0, 16))
def test_presets_disagree_only_in_the_4_to_5_band(vector: tuple[int, ...], ambulation: int) -> None:
    """§1.10 [V]: all disagreements between the JS and the R calculators lie in the 4.0-5.0 band (causes b,
    c, d). Held here with the cerebral grade-1 rule (a) equal in both: a alone moves low steps too (cerebral
    grade 1 alone is 1.0 in JS and 0 in R, §1.4), which random comparisons rarely meet. Ambulation >= 3
    fixes the EDSS in both (§1.6), so they agree there."""
    fs = FunctionalSystems(*vector)
    js = edss(fs, ambulation, _JS).edss
    r = edss(fs, ambulation, _R_CEREBRAL_AS_JS).edss
    if js != r:
        assert 4.0 <= r < js <= 5.0
        assert ambulation <= 2


# --- §1.7 ------------------------------------------------------------------------------------------------

_GAPS = st.builds(
    KurtzkeGapOptions,
    no_aid_under_100m_step=st.sampled_from([5.5, 6.0]),
    unilateral_under_100m_step=st.sampled_from([6.0, 6.5]),
    bilateral_over_20m_step=st.sampled_from([6.0, 6.5]),
)
_AIDS = ("none", "unilateral", "bilateral")
_DISTANCES = st.one_of(
    st.floats(0, 1000, allow_nan=False),
    st.sampled_from([0.0, 4.9, 5.0, 20.0, 20.5, 99.0, 100.0, 200.0, 300.0]),
)


@settings(max_examples=property_examples(300), deadline=None)
@given(_SMALL_FS, st.sampled_from(_AIDS), _DISTANCES, _DISTANCES, _GAPS)
def test_kurtzke_walking_farther_never_raises_edss(
    vector: tuple[int, ...], aid: str, one: float, other: float, gaps: KurtzkeGapOptions
) -> None:
    """§1.5/§1.7: Kurtzke's walking steps are "at least about" distances (5.0 ~200 m, 5.5 ~100 m, 6.0 aid
    ~100 m, 6.5 bilateral aid ~20 m, 7.0 < ~5 m even with aid), and every gap rule sits between the steps
    around it, so with the same aid a longer distance never gives a higher EDSS, whatever the gap options."""
    fs = FunctionalSystems(*vector)
    near, far = sorted((one, other))
    assert edss_kurtzke(fs, far, aid, gaps=gaps).edss <= edss_kurtzke(fs, near, aid, gaps=gaps).edss


@settings(max_examples=property_examples(300), deadline=None)
@given(_SMALL_FS, _DISTANCES)
def test_kurtzke_more_aid_never_lowers_edss_under_the_default_gaps(
    vector: tuple[int, ...], distance: float
) -> None:
    """§1.5/§1.7 with the default gap rules (no aid < 100 m 6.0, unilateral < 100 m 6.5, bilateral > 20 m
    6.5): at one distance, no aid <= unilateral <= bilateral aid. (Not under every option combination:
    bilateral > 20 m at 6.0 with unilateral < 100 m at 6.5 ranks 50 m with two crutches below 50 m with
    one; each option is a reading of a gap in the text.)"""
    fs = FunctionalSystems(*vector)
    steps = [edss_kurtzke(fs, distance, aid).edss for aid in _AIDS]
    assert steps == sorted(steps)


# --- §1.2 and §3 ----------------------------------------------------------------------------------------


@settings(max_examples=property_examples(200), deadline=None)
@given(st.floats(-0.3, 2.0), st.floats(-0.3, 2.0))
def test_visual_fs_from_acuity_is_symmetric_bounded_and_adds_at_most_one(one: float, other: float) -> None:
    """§1.2: the grade is read from the worse eye, then raised by one (grades 3-5 only) when the better eye
    is <= 0.333 — so the order of the eyes does not matter, the grade is within the raw range 0-6, and the
    better eye changes it by 0 or 1 against a normal (20/20) fellow eye."""
    a = parse_acuity(format_logmar(one, digits=3))
    b = parse_acuity(format_logmar(other, digits=3))
    grade = visual_fs_from_acuity(a, b)
    assert grade == visual_fs_from_acuity(b, a)
    assert 0 <= grade <= 6
    worse = a if a.logmar >= b.logmar else b  # type: ignore[operator]
    alone = visual_fs_from_acuity(worse, parse_acuity("20/20"))
    assert grade - alone in (0, 1)


@pytest.mark.parametrize("hand_motion_grade", [5, 6])
def test_osis_visual_orders_the_off_chart_levels(hand_motion_grade: int) -> None:
    """§3 (Wingerchuk 1999 Table 1): 4 is 20/200 to 20/800, 5 counts fingers, 6 light perception, 7 no light
    perception; hand motion lies between CF and LP under either option. So every chart acuity grades at
    most CF, and CF <= HM <= LP <= NLP."""
    grades = [
        osis_visual_from_acuity(parse_acuity(level), hand_motion_grade=hand_motion_grade)
        for level in ("CF", "HM", "LP", "NLP")
    ]
    assert grades == sorted(grades) and grades[0] == 5 and grades[-1] == 7
    for chart in ("20/20", "20/30", "20/60", "20/200", "20/800", "20/2000"):
        assert osis_visual_from_acuity(parse_acuity(chart)) <= grades[0]


# --- §5 -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("thresholds", ["nmosd_trial", "ms_cdw"])
def test_worsening_threshold_never_rises_with_the_reference(thresholds: str) -> None:
    """§5: both tables ask less as the reference rises (2.0 or 1.5 from 0, 1.0 in the middle band, 0.5 from
    the top band), and every threshold is a whole number of EDSS half-steps in {0.5, 1.0, 1.5, 2.0}."""
    values = [worsening_threshold(ref, thresholds) for ref in _EDSS_STEPS]
    assert all(later <= earlier for earlier, later in itertools.pairwise(values))
    assert set(values) <= {0.5, 1.0, 1.5, 2.0}


@pytest.mark.parametrize("definition", ["cdi_common", "affirm", "kalincik_2015"])
def test_improvement_threshold_is_reachable_on_the_scale(definition: str) -> None:
    """§5: a decrease is only evaluable when the scale has room for it: a defined threshold is at most the
    reference (EDSS 0 is the floor), and the thresholds from a reference of 1.0 up never rise with it."""
    pairs = [(ref, improvement_threshold(ref, definition)) for ref in _EDSS_STEPS]
    for ref, need in pairs:
        if need is not None:
            assert 0 < need <= ref
    defined = [need for ref, need in pairs if need is not None]
    assert all(later <= earlier for earlier, later in itertools.pairwise(defined))


@settings(max_examples=property_examples(200), deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 400), st.sampled_from(_EDSS_STEPS)),
        min_size=1,
        max_size=10,
        unique_by=lambda v: v[0],
    ),
    st.sampled_from(_EDSS_STEPS),
    st.lists(st.integers(-200, 400), max_size=4),
)
def test_relapse_associated_exactly_when_a_relapse_is_in_the_window(
    follow: list[tuple[int, float]], baseline: float, relapses: list[int]
) -> None:
    """§5 [V]: a confirmed worsening is relapse-associated (RAW) if a relapse occurred within 90 days before
    onset or between onset and confirmation, otherwise PIRA — whatever visits the relapses exclude."""
    outcome = confirmed_disability_change([(0, baseline), *follow], "worsening", relapse_days=relapses)
    event = outcome.confirmed
    if event is None:
        return
    expected = any(event.onset_day - 90 <= r <= event.confirmation_day for r in relapses)
    assert event.relapse_associated is expected
    assert outcome.options == DisabilityOptions().as_dict()


# --- §6 -------------------------------------------------------------------------------------------------

_TITRES = ["negative", *(f"1:{d}" for d in DEFAULT_SERIES)]


def test_dilution_intervals_tile_the_line_in_half_log10_steps() -> None:
    """§6: the true end-point lies between the last positive and the first negative dilution, "negative" is
    below 1:10 and the top dilution is right-censored, so the intervals of the ordinal steps 0-7 join end to
    end from 0 to infinity; the dilutions are spaced by sqrt(10), log10 moving by 0.5 per step (the printed
    dilutions 32, 320, 3200 round 10^1.5, 10^2.5, 10^3.5 to within 0.006 log10)."""
    intervals = [titre_interval(parse_titre_step(text)) for text in _TITRES]
    assert intervals[0][0] == 0.0 and intervals[-1][1] == math.inf
    assert all(low < high for low, high in intervals)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(intervals))
    logs = [parse_titre_step(text).log10_titre for text in _TITRES[1:]]
    for k, value in enumerate(logs):
        assert value == pytest.approx(1.0 + 0.5 * k, abs=0.006)
    assert [parse_titre_step(text).index for text in _TITRES] == list(range(len(_TITRES)))


@settings(max_examples=property_examples(200), deadline=None)
@given(st.sampled_from(_TITRES), st.sampled_from(_TITRES), st.sampled_from(_TITRES), st.integers(1, 7))
def test_titre_steps_are_antisymmetric_additive_and_define_a_fall(
    a: str, b: str, c: str, min_steps: int
) -> None:
    """§6 ordinal steps: the change a -> b is minus the change b -> a, a -> c is a -> b plus b -> c, and the
    titre fell by at least `min_steps` exactly when the change is at most -`min_steps`."""
    assert titre_steps(a, b) == -titre_steps(b, a)
    assert titre_steps(a, c) == titre_steps(a, b) + titre_steps(b, c)
    assert titre_fell(a, b, min_steps=min_steps) is (titre_steps(a, b) <= -min_steps)
