"""Grades checked case by case against the source text (docs/science/toxicity-grading.md; ASTCT 2019, EHA/EBMT
ICAHT 2023): cases where the engine gave a grade the rule does not give, without a word."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import InputError
from cartrial.grading.crs import grade_crs
from cartrial.grading.episodes import EpisodeSummary, icans_episodes
from cartrial.grading.icaht import IcahtOptions, UnsampledDays, grade_icaht, grade_t_icaht

# ------------ ICAHT: end of follow-up (D-19.673)


def test_early_icaht_recovery_after_the_last_early_count_is_not_never_recovered() -> None:
    """§5.1: "An ANC ≤ 500/µL episode that starts by day 3 and lasts to the end of follow-up counts as grade
    4". ANC 300/µL daily on days 0-10, then 3000/µL on day 35: the subject is followed beyond day 30 and
    recovered, so follow-up did not end on day 10. Linear interpolation (H4 default) between day 10 (300) and
    day 35 (3000) rises 108/µL a day: day 11 408 (≤ 500), day 12 516 (> 500), so ANC ≤ 500/µL on days 0-11,
    12 days: grade 2 (7-13 days), not grade 4 "to the end of follow-up (day 10)"."""
    days = [*range(11), 35]
    anc = [300.0] * 11 + [3000.0]
    got = grade_icaht(days, anc)
    assert got.early_days_anc_le_500 == 12
    assert got.early_grade == 2, got.early_rule


def test_early_icaht_still_low_after_day_30_is_grade_4() -> None:
    """The same subject still at 400/µL on day 35: interpolated, every day 0-30 is ≤ 500/µL, 31 days: grade 4
    (§5.1, ≥ 31 days, H1 default)."""
    got = grade_icaht([*range(11), 35], [300.0] * 11 + [400.0])
    assert got.early_days_anc_le_500 == 31
    assert got.early_grade == 4


def test_early_icaht_follow_up_ending_in_the_window_stays_grade_4() -> None:
    """Counts that end on day 10 (last follow-up, e.g. death) with ANC ≤ 500/µL since day 0: the grader's
    never-recovered rule (§5.1) applies, grade 4."""
    got = grade_icaht(list(range(11)), [300.0] * 11)
    assert got.early_grade == 4


def test_early_icaht_locf_carries_the_last_early_count_to_day_30() -> None:
    """H4 ``locf``: a day is below when the most recent count on or before it is below. ANC 300/µL on days
    0-10 and 3000/µL on day 35: days 11-30 carry 300, so 31 days ≤ 500/µL: grade 4."""
    got = grade_icaht(
        [*range(11), 35], [300.0] * 11 + [3000.0], IcahtOptions(unsampled_days=UnsampledDays.LOCF)
    )
    assert got.early_days_anc_le_500 == 31
    assert got.early_grade == 4


def _early_grade_of_days(days_le_500: int) -> int:
    """§5.1 ANC ≤ 500/µL row: 1-6 days 1, 7-13 2, 14-30 3, ≥ 31 4 (H1 default 31)."""
    return 4 if days_le_500 >= 31 else 3 if days_le_500 >= 14 else 2 if days_le_500 >= 7 else 1


@settings(max_examples=property_examples(150), deadline=None)
@given(n_low=st.integers(min_value=1, max_value=29), later_day=st.integers(min_value=31, max_value=100))
def test_early_icaht_interpolates_to_a_recovery_after_day_30(n_low: int, later_day: int) -> None:
    """ANC 300/µL daily on days 0..n_low-1, 3001/µL on `later_day` > 30 (H4 linear, every gap interpolated):
    day n_low-1+k is ≤ 500/µL when 300 + 2701·k/gap ≤ 500, gap = later_day - (n_low-1), i.e. 2701·k ≤ 200·gap
    (never a tie); the episode runs from day 0, so the grade is that of its length in days 0-30 (§5.1), and
    a recovery seen after day 30 is never "to the end of follow-up" at the last early count."""
    gap = later_day - (n_low - 1)
    extra = max(k for k in range(gap) if 2701 * k <= 200 * gap)
    days_le_500 = min(n_low + extra, 31)
    got = grade_icaht([*range(n_low), later_day], [300.0] * n_low + [3001.0])
    assert got.early_days_anc_le_500 == days_le_500
    assert got.early_grade == _early_grade_of_days(days_le_500), got.early_rule


@settings(max_examples=property_examples(100), deadline=None)
@given(
    n_low=st.integers(min_value=1, max_value=29),
    later_day=st.integers(min_value=31, max_value=100),
    mode=st.sampled_from(["linear", "locf", "sampled_only"]),
)
def test_early_icaht_a_later_recovery_never_raises_the_grade(n_low: int, later_day: int, mode: str) -> None:
    """Adding a count > 500/µL after day 30 (a recovery seen later) never makes the early grade worse than
    the same series whose follow-up ends at its last early count (monotonicity guard, §5.1)."""
    days, anc = list(range(n_low)), [300.0] * n_low
    options = IcahtOptions(unsampled_days=mode)  # type: ignore[arg-type]
    ended = grade_icaht(days, anc, options).early_grade
    followed = grade_icaht([*days, later_day], [*anc, 3000.0], options).early_grade
    assert ended is not None and followed is not None
    assert followed <= ended


def test_early_t_icaht_days_before_a_count_after_day_30_are_interpolated() -> None:
    """§5.3 early T-ICAHT: PLT < 20 ×10^9/L for 1-13 days grade 3, ≥ 14 days grade 4. Platelets 10 ×10^9/L
    daily on days 0-12, 100 on day 35 (H4 linear): 10 + 90·k/23 < 20 for k = 1, 2 (k < 2.56), so days 0-14
    are < 20: 15 days, grade 4 (the last early count on day 12 no longer ends the window, D-19.673)."""
    got = grade_t_icaht([*range(13), 35], [10.0] * 13 + [100.0])
    assert got.early_days_plt_lt_20 == 15
    assert got.early_grade == 4


def test_late_icaht_two_counts_of_one_day_are_not_non_transient() -> None:
    """§5.2: late ICAHT needs non-transient neutropenia, at least two values below the threshold (H3 default
    2), and the lowest count of a day decides that day (module rule, D-12.1). ANC 80 and 90/µL drawn on day 45
    (a repeat the same day) and 2000/µL on days 60 and 90: one day ≤ 100/µL, the second-lowest day is 2000:
    late grade 0, not 4."""
    got = grade_icaht([0, 45, 45, 60, 90], [3000.0, 80.0, 90.0, 2000.0, 2000.0])
    assert got.late_grade == 0, got.late_rule
    assert got.late_nadir_per_ul == 80.0
    # on two days it is non-transient: grade 4
    assert grade_icaht([0, 45, 46, 60], [3000.0, 80.0, 90.0, 2000.0]).late_grade == 4


def test_late_t_icaht_two_tests_of_one_day_count_once() -> None:
    """§5.3: late T-ICAHT grades need ≥ 2 tests below the threshold; two platelet counts of 40 ×10^9/L on
    day 45 (one day) and 150 on days 60 and 90: fewer than two days < 100, late grade 0 (not 2)."""
    got = grade_t_icaht([0, 45, 45, 60, 90], [150.0, 40.0, 40.0, 150.0, 150.0])
    assert got.late_grade == 0, got.late_rule


def test_sampled_only_unsampled_days_are_no_recovery() -> None:
    """H4 ``sampled_only`` counts sampled days only; a recovery that separates two episodes is ≥ 3 days above
    the threshold (H2), and ANC recovery is "three consecutive values on different days ≥ 0.5 ×10^9/L"
    (toxicity-grading.md §5.4, CIBMTR): values, so days without a count are not a recovery. ANC 300/µL
    every day 0-20 but not sampled on days 5-7, 2000/µL on days 21-23: one episode of 18 sampled days, grade
    3 (14-30 days), not two episodes (5 and 13 days: grade 2)."""
    days = [d for d in range(24) if d not in (5, 6, 7)]
    anc = [300.0 if d <= 20 else 2000.0 for d in days]
    got = grade_icaht(days, anc, IcahtOptions(unsampled_days=UnsampledDays.SAMPLED_ONLY))
    assert got.early_days_anc_le_500 == 18
    assert got.early_grade == 3, got.early_rule
    # three sampled values above (days 5-7 at 2000/µL) are a recovery: 5 and 13 days, grade 2
    series = [300.0] * 5 + [2000.0] * 3 + [300.0] * 13 + [2000.0] * 3
    recovered = grade_icaht(list(range(24)), series, IcahtOptions(unsampled_days=UnsampledDays.SAMPLED_ONLY))
    assert recovered.early_days_anc_le_500 == 13 and recovered.early_grade == 2


# ------------ CRS: vasopressors need hypotension (D-19.674)


@pytest.mark.parametrize(("vasopressors", "vasopressin"), [(1, False), (2, False), (0, True)])
def test_grade_crs_refuses_vasopressors_with_hypotension_false(vasopressors: int, vasopressin: bool) -> None:
    """ASTCT 2019 CRS table: grade 3 is hypotension "requiring a vasopressor with or without vasopressin",
    grade 4 "requiring multiple vasopressors (excluding vasopressin)". Vasopressors with hypotension=false is
    the contradiction the forms refuse (D-3.2); `grade_crs` graded it as no hypotension (grade 1 with fever,
    not 3 or 4) without a word."""
    with pytest.raises(InputError) as caught:
        grade_crs(
            temperature_c=38.5,
            fever_masked=False,
            hypotension=False,
            vasopressors=vasopressors,
            vasopressin=vasopressin,
            oxygen="none",
        )
    assert ("vasopressin" if vasopressin else "vasopressors") in str(caught.value)


# ------------ ICANS: not assessable is not grade 0 (D-19.675)


def _icans_episodes(
    consciousness: list[str], ice: list[float | None], other: list[bool], seizure: list[str]
) -> list[EpisodeSummary]:
    import pandas as pd

    from cartrial.columns import RowProblems
    from cartrial.grading.tables import parse_icans_frame

    n = len(consciousness)
    frame = pd.DataFrame(
        {
            "subject_id": ["S1"] * n,
            "assessed_at": [f"2024-01-{15 + k}T08:00Z" for k in range(n)],
            "consciousness": consciousness,
            "seizure": seizure,
            "motor": "none",
            "cerebral_edema": "none",
            "ice_total": ice,
            "consciousness_other_cause": other,
        }
    )
    infused = {"S1": datetime(2024, 1, 10, tzinfo=UTC)}
    return icans_episodes(parse_icans_frame(frame, RowProblems("icans")), infused)


def test_a_sedated_day_does_not_resolve_an_icans_episode() -> None:
    """ASTCT 2019 ICANS table: ICE grade 4 is "0, because the patient is unarousable and cannot be assessed";
    ICANS grades findings not attributable to another cause (ICANS-5: sedating medication). A patient
    unarousable because sedated (e.g. intubated after a prolonged seizure) cannot be assessed: that day is
    not ICANS grade 0, so it cannot be the "first day of grade 0" that resolves the episode (A6). Seizure
    > 5 min on 15 Jan (grade 4), sedated 16-17 Jan, alert with ICE 10 on 18 Jan: one episode, grade 4,
    resolved on 18 Jan (3 days), not on 16 Jan (1 day)."""
    episodes = _icans_episodes(
        ["awakens_to_tactile", "unarousable", "unarousable", "alert"],
        [2, None, None, 10],
        [False, True, True, False],
        ["prolonged_or_repetitive", "none", "none", "none"],
    )
    assert [(e.episode, e.max_grade) for e in episodes] == [(1, 4)]
    assert episodes[0].resolved_at == datetime(2024, 1, 18, 8, tzinfo=UTC)
    assert episodes[0].duration_days == 3.0


def test_a_sedated_day_then_icans_again_is_one_episode() -> None:
    """The same patient still at ICE 5 (grade 2) after sedation: the episode never had an assessable grade-0
    day, so it is one episode (grade 4, ongoing), not two."""
    episodes = _icans_episodes(
        ["awakens_to_tactile", "unarousable", "awakens_spontaneously"],
        [2, None, 5],
        [False, True, False],
        ["prolonged_or_repetitive", "none", "none"],
    )
    assert [(e.episode, e.max_grade, e.resolved_at) for e in episodes] == [(1, 4, None)]


def test_a_sedated_assessment_is_not_counted_without_an_episode_either() -> None:
    """D-19.675: an assessment that cannot grade ICANS (unarousable from sedation, no other finding) is left
    out of an episode's `n_assessments`; the "no episode" row counted it. Alert with ICE 10, then sedated:
    no episode, 1 assessable assessment (was 2)."""
    episodes = _icans_episodes(["alert", "unarousable"], [10, None], [False, True], ["none", "none"])
    assert [(e.episode, e.max_grade, e.n_assessments) for e in episodes] == [(0, 0, 1)]


# ------------ Legacy CRS: one vasopressor without its dose is not "low dose" (D-19.677)


@pytest.mark.parametrize("scale", ["Lee 2014", "CARTOX"])
def test_legacy_one_vasopressor_with_no_dose_of_any_agent_is_not_gradable(scale: str) -> None:
    """Lee 2014 / CARTOX (toxicity-grading.md §3.1-3.2): hypotension on a low dose of one vasopressor is
    grade 2, on a high dose grade 3; "high dose" is judged from the agent's dose (§3.2). One vasopressor
    recorded (`vasopressors=1`) with every dose 0 or blank says nothing about that agent's dose: the grade is
    2 or 3, not gradable (the module's rule: a grade only when the known criteria decide it) — it was graded
    2 as a "low-dose vasopressor"."""
    from cartrial.grading.crs import OxygenDevice
    from cartrial.grading.legacy import LegacyObservation, VasopressorDoses, grade_legacy_crs

    obs = LegacyObservation(
        temperature_c=38.5,
        hypotension=True,
        vasopressors=1,
        vasopressin=False,
        oxygen=OxygenDevice.NONE,
        doses=VasopressorDoses(),
        organ_toxicity_grade=0,
        transaminase_grade=0,
        life_threatening_hypotension=False,
    )
    got = grade_legacy_crs(obs, scale)
    assert got.grade is None, got.rule
    assert "vasopressor doses" in got.missing_inputs
    # the agent's dose given: decided (noradrenaline 25 µg/min ≥ 20: high dose, grade 3; 5: low dose, 2)
    high = VasopressorDoses(norepinephrine_ug_min=25.0)
    low = VasopressorDoses(norepinephrine_ug_min=5.0)
    assert grade_legacy_crs(LegacyObservation(**{**obs.__dict__, "doses": high}), scale).grade == 3
    assert grade_legacy_crs(LegacyObservation(**{**obs.__dict__, "doses": low}), scale).grade == 2


# ------------ ICAHT: no recovery seen after the window's last known day (D-19.673, D-19.678)

SAMPLED_ONLY = IcahtOptions(unsampled_days=UnsampledDays.SAMPLED_ONLY)
GAP_7 = IcahtOptions(max_interpolated_days=7)


@pytest.mark.parametrize(
    ("days", "anc", "options"),
    [
        # ANC 300/µL daily days 0-28 and again 300 on day 31 (days 29-30 not sampled)
        ([*range(29), 31], [300.0] * 30, SAMPLED_ONLY),
        # 300 on days 0-10, 400 on days 35 and 60 (days 11-30 not sampled)
        ([*range(11), 35, 60], [300.0] * 11 + [400.0, 400.0], SAMPLED_ONLY),
        # weekly 300 on days 0-28, 400 on day 35
        ([0, 7, 14, 21, 28, 35], [300.0] * 5 + [400.0], SAMPLED_ONLY),
    ],
)
def test_early_icaht_still_low_after_the_last_known_day_is_never_recovered(
    days: list[int], anc: list[float], options: IcahtOptions
) -> None:
    """§5.1: an ANC ≤ 500/µL episode that starts by day 3 and lasts to the end of follow-up is grade 4. Below
    500/µL from day 0 to the last day of days 0-30 with a known value, and the next count (after day 30) still
    ≤ 500/µL: no recovery is seen, the subject never recovered in the window: grade 4 (the same series without
    the later count, follow-up ending at the last early count, is grade 4: more evidence of not recovering
    cannot lower the grade)."""
    early = [d for d in days if d <= 30]
    ended = grade_icaht(early, anc[: len(early)], options)
    assert ended.early_grade == 4
    got = grade_icaht(days, anc, options)
    assert got.early_grade == 4, got.early_rule
    assert "without recovery" in got.early_rule


def test_early_icaht_recovery_after_the_last_known_day_is_not_never_recovered() -> None:
    """The mirror: 300/µL daily on days 0-28 and 3000/µL on day 31 (sampled_only): the first count after the
    last sampled day of the window shows recovery, so the episode is graded by its 29 sampled days, grade 3
    (14-30 days)."""
    got = grade_icaht([*range(29), 31], [300.0] * 29 + [3000.0], SAMPLED_ONLY)
    assert got.early_days_anc_le_500 == 29
    assert got.early_grade == 3, got.early_rule


def test_days_beyond_the_gap_limit_split_episodes_as_in_the_grader() -> None:
    """H4: with `max_interpolated_days` the days of a longer unsampled run stay missing, and the grader's
    heatwaveR `exceedance` counts a missing day as not below and joins runs only across ≤ 2 days, so such a
    run (≥ 8 days under the limit 7) splits an episode (D-19.680); ``sampled_only`` does not: its unsampled
    days are no recovery (D-19.678). ANC 300/µL on days 0-5 and 16-28 (days 6-15 a run of 10 unsampled days),
    no later count (follow-up ends on day 28): limit 7 -> episodes 0-5 (6 days) and 16-28 (13 days), the
    second reaches day 28 but starts after day 3: 13 days, grade 2 (7-13 days); the grader simulated by hand
    gives the same. ``sampled_only`` -> one episode of 6 + 13 = 19 sampled days from day 0 to the last
    count: grade 4."""
    days = [*range(6), *range(16, 29)]
    anc = [300.0] * len(days)
    limited = grade_icaht(days, anc, GAP_7)
    assert (limited.early_days_anc_le_500, limited.early_grade) == (13, 2)
    sampled = grade_icaht(days, anc, SAMPLED_ONLY)
    assert (sampled.early_days_anc_le_500, sampled.early_grade) == (19, 4)
    # T-ICAHT: platelets 10 ×10^9/L on the same days: < 20 on days 0-5 and 16-28, 6 + 13 = 19 cumulative
    # days, grade 4 (≥ 14) under both
    for options in (GAP_7, SAMPLED_ONLY):
        t = grade_t_icaht(days, [10.0] * len(days), options)
        assert t.early_days_plt_lt_20 == 19 and t.early_grade == 4


def test_gap_limit_days_at_the_window_end_are_no_never_recovered() -> None:
    """The grader reads counts of days 0-30 only: 300/µL daily on days 0-20 and 100/µL on day 35, limit 7:
    days 21-30 lie in a run of 14 unsampled days, missing, not below; the episode 0-20 does not reach day 30
    (the window's end, a count follows day 30): 21 days, grade 3, not grade 4 (D-19.680, D-19.681). Without
    the later count the follow-up ends on day 20 and the episode reaches it: grade 4."""
    got = grade_icaht([*range(21), 35], [300.0] * 21 + [100.0], GAP_7)
    assert (got.early_days_anc_le_500, got.early_grade) == (21, 3), got.early_rule
    assert grade_icaht([*range(21)], [300.0] * 21, GAP_7).early_grade == 4


@pytest.mark.parametrize("options", [SAMPLED_ONLY, GAP_7])
def test_a_count_after_day_100_says_nothing_about_the_early_window(options: IcahtOptions) -> None:
    """300/µL daily on days 0-20 and 300/µL on day 365 only: the count follows day 30, so the window ends on
    day 30 and days 21-30 are unknown; the look-ahead for "no recovery seen" reads days 31-100 only (the
    late window's range), and there is none: 21 days, grade 3 (14-30), not grade 4 (D-19.681)."""
    got = grade_icaht([*range(21), 365], [300.0] * 22, options)
    assert (got.early_days_anc_le_500, got.early_grade) == (21, 3), got.early_rule


ALL_MODES = [
    IcahtOptions(),
    IcahtOptions(unsampled_days=UnsampledDays.LOCF),
    SAMPLED_ONLY,
    GAP_7,
    IcahtOptions(max_interpolated_days=3),
]
EARLY_SERIES = st.lists(
    st.tuples(st.integers(-3, 30), st.sampled_from([50.0, 90.0, 300.0, 480.0, 520.0, 2000.0])),
    min_size=1,
    max_size=10,
)


@settings(max_examples=property_examples(200), deadline=None)
@given(
    series=EARLY_SERIES,
    later=st.lists(st.tuples(st.integers(31, 100), st.sampled_from([0.0, 90.0, 300.0, 500.0])), min_size=1),
    options=st.sampled_from(ALL_MODES[:3]),
)
def test_early_icaht_a_later_low_count_never_lowers_the_grade(
    series: list[tuple[int, float]], later: list[tuple[int, float]], options: IcahtOptions
) -> None:
    """Counts ≤ 500/µL on days 31-100 (follow-up continues, no recovery seen) never lower the early or late
    ICAHT grade against the same series ending at its last count, under ``linear``, ``locf`` and
    ``sampled_only``; for T-ICAHT, platelets < 20 ×10^9/L on days 31-100 likewise. It does not hold under a
    gap limit (the grader's rule: the later count extends the window to day 30 and the unsampled days before
    it, beyond the limit, are not below; `test_gap_limit_days_at_the_window_end_are_no_never_recovered`), nor
    for a count after day 100 under ``sampled_only`` (no look-ahead beyond day 100, D-19.681)."""
    if not any(d >= 0 for d, _ in series):
        return
    days, anc = [d for d, _ in series], [a for _, a in series]
    more_days, more = [*days, *(d for d, _ in later)], [*anc, *(a for _, a in later)]
    before, after = grade_icaht(days, anc, options), grade_icaht(more_days, more, options)
    assert before.early_grade is not None and after.early_grade is not None
    assert after.early_grade >= before.early_grade, (before.early_rule, after.early_rule)
    plt = [a / 30.0 for a in anc]  # 50-2000 cells/µL → 1.7-67 ×10^9/L
    low_plt = [*plt, *(a / 30.0 for _, a in later)]  # ≤ 500/30 < 20
    t_before, t_after = grade_t_icaht(days, plt, options), grade_t_icaht(more_days, low_plt, options)
    assert (t_after.early_grade or 0) >= (t_before.early_grade or 0)


@settings(max_examples=property_examples(200), deadline=None)
@given(
    series=EARLY_SERIES,
    later_day=st.integers(31, 100),
    options=st.sampled_from(ALL_MODES[2:]),
)
def test_early_icaht_a_later_recovery_never_raises_the_grade_sampled_or_gap_limited(
    series: list[tuple[int, float]], later_day: int, options: IcahtOptions
) -> None:
    """The other direction, where no later count bounds interpolation: a count > 500/µL after day 30 never
    raises the early grade under ``sampled_only`` or beyond a gap limit (for ``linear`` and ``locf`` with the
    episode from day 0 see `test_early_icaht_a_later_recovery_never_raises_the_grade`)."""
    limit = options.max_interpolated_days
    if not any(d >= 0 for d, _ in series):
        return
    if limit is not None and later_day - max(d for d, _ in series) - 1 <= limit:
        return  # the later count would bound the unsampled days by interpolation
    days, anc = [d for d, _ in series], [a for _, a in series]
    before = grade_icaht(days, anc, options).early_grade
    after = grade_icaht([*days, later_day], [*anc, 3000.0], options).early_grade
    assert before is not None and after is not None and after <= before


# ------------ CRS form: vasopressors with a normal systolic pressure (D-19.679)


def test_vasopressors_with_a_normal_sbp_name_the_sbp_field() -> None:
    """A CRS row with `hypotension` blank, `systolic_bp_mmhg` 104 and `vasopressors` 1: hypotension is
    derived from the SBP (≥ 90 mmHg: false, A4), and the row is refused, but the user never wrote
    "hypotension=false"; a vasopressor keeps the SBP ≥ 90. The problem names `systolic_bp_mmhg` and says what
    to enter (hypotension=true when the vasopressor treats hypotension)."""
    import pandas as pd

    from cartrial.columns import RowProblems
    from cartrial.grading.tables import parse_crs_frame

    frame = pd.DataFrame(
        {
            "subject_id": ["S1"],
            "assessed_at": ["2024-01-15T08:00Z"],
            "temperature_c": ["38.5"],
            "fever_masked": ["false"],
            "hypotension": [""],
            "systolic_bp_mmhg": ["104"],
            "vasopressors": ["1"],
            "vasopressin": ["false"],
            "oxygen": ["none"],
        }
    )
    problems = RowProblems("crs_assessments")
    parse_crs_frame(frame, problems)
    (problem,) = problems.all()
    text = str(problem)
    assert problem.field == "vasopressors"
    assert "systolic_bp_mmhg" in text and "hypotension=false" not in text
    assert "hypotension=true" in text
