"""Review of D-19.788/789 (D-19.790-792): a count after day 100 does not close the late window; the late
T-ICAHT flag does not depend on the option for unsampled days; "never recovered" is tested on the episode that
reaches the last known day.

Expected values by hand from the EHA/EBMT 2023 tables (toxicity-grading.md §5.1-5.3): late ICAHT is the grade
of the second-lowest daily ANC of days 31-100 (≤ 1500 → 1, ≤ 1000 → 2, ≤ 500 → 3, ≤ 100 → 4); late T-ICAHT:
two tests < 20 ×10^9/L and < 20 for 1-13 days → 3, ≥ 14 days → 4; early ICAHT: an ANC ≤ 500/µL episode
starting by `never_recovered_from_day` and lasting to the end of follow-up → 4."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.grading import IcahtOptions, UnsampledDays, grade_icaht, grade_t_icaht

OPTIONS = {
    "linear": IcahtOptions(),
    "locf": IcahtOptions(unsampled_days=UnsampledDays.LOCF),
    "max_interpolated_days=7": IcahtOptions(max_interpolated_days=7),
    "sampled_only": IcahtOptions(unsampled_days=UnsampledDays.SAMPLED_ONLY),
}


def test_a_low_count_after_day_100_keeps_the_late_anc_flag() -> None:
    """ANC 800 d35, 90 d45, 90 d101: the late values are 800 and 90 (day 101 is outside days 31-100) →
    second-lowest 800 → grade 2; days 46-100 have no count and are bounded by 90 on both sides: one more
    value at 90 → grade 4, so grade 2 is a lower bound (with or without a follow-up day: the day-101 count
    shows follow-up went on)."""
    for follow_up in (200, None):
        g = grade_icaht([35, 45, 101], [800.0, 90.0, 90.0], follow_up_day=follow_up)
        assert (g.late_grade, g.late_lower_bound) == (2, True)
        assert "at least" in g.late_rule


def test_a_recovered_count_after_day_100_clears_the_late_anc_flag() -> None:
    """ANC 800 d35, 90 d45, 3000 d101: the days between may be anything up to 3000; a value at 3000 leaves
    the second-lowest at 800: grade 2, not a lower bound (the D-19.681 pattern)."""
    g = grade_icaht([35, 45, 101], [800.0, 90.0, 3000.0], follow_up_day=200)
    assert (g.late_grade, g.late_lower_bound) == (2, False)


def test_a_t_icaht_count_after_day_100_fills_the_late_window_to_day_100() -> None:
    """Platelets 10 d31 and d35, 15 d105 (linear; within 7 days of day 100, round-2 review: was d120, a count
    that far no longer fills the grid): days 36-100 lie between 10 and 15, all < 20, so days 31-100 are 70
    days < 20 → grade 4; the same as with the last count on day 100 (70 days → 4)."""
    assert grade_t_icaht([31, 35, 105], [10.0, 10.0, 15.0]).late_grade == 4
    assert grade_t_icaht([31, 35, 100], [10.0, 10.0, 15.0]).late_grade == 4
    assert grade_t_icaht([31, 35, 105], [10.0, 10.0, 15.0]).late_days_plt_lt_20 == 70


def test_a_t_icaht_count_after_day_100_under_sampled_only_flags_the_unknown_days() -> None:
    """sampled_only: days 36-100 have no value: the days seen are 2 (d31, d35) → grade 3; read at 15 (the
    higher of the two counts bounding them) they are 65 more days < 20 → grade 4: a lower bound. With 50 on
    day 105 (within 7 days of day 100; was day 120, which no longer bounds the days, round-2 review) the days
    between may be ≥ 20: no bound."""
    opts = OPTIONS["sampled_only"]
    g = grade_t_icaht([31, 35, 105], [10.0, 10.0, 15.0], opts)
    assert (g.late_grade, g.late_lower_bound) == (3, True)
    g = grade_t_icaht([31, 35, 105], [10.0, 10.0, 50.0], opts)
    assert (g.late_grade, g.late_lower_bound) == (3, False)


@pytest.mark.parametrize("name", list(OPTIONS))
def test_late_t_icaht_flag_does_not_depend_on_the_unsampled_day_option(name: str) -> None:
    """Platelets 10 on days 31 and 35, follow-up to day 100: 2-5 days < 20 seen → grade 3 under every option;
    the platelets staying at 10 to day 100 would be ≥ 14 days → 4: a lower bound whatever the option."""
    g = grade_t_icaht([31, 35], [10.0, 10.0], OPTIONS[name], follow_up_day=100)
    assert (g.late_grade, g.late_lower_bound) == (3, True)
    assert "at least" in g.late_rule


@pytest.mark.parametrize("name", list(OPTIONS))
def test_late_anc_flag_does_not_depend_on_the_unsampled_day_option(name: str) -> None:
    """ANC 800 d35, 90 d45, follow-up to day 200: grade 2, a lower bound under every option (values, not
    days)."""
    g = grade_icaht([35, 45], [800.0, 90.0], OPTIONS[name], follow_up_day=200)
    assert (g.late_grade, g.late_lower_bound) == (2, True)


def test_never_recovered_is_the_episode_reaching_the_end_not_the_first_longest() -> None:
    """never_recovered_from_day=10; ANC 400 d0-2, 600 d3-5, 400 d6-8, the last count d8 the end of follow-up
    (D-19.682): episodes d0-2 and d6-8 (3 days each, split by a 3-day recovery); the one from d6 starts by
    day 10 and lasts to the end of follow-up → grade 4."""
    days = list(range(9))
    anc = [400.0] * 3 + [600.0] * 3 + [400.0] * 3
    g = grade_icaht(days, anc, IcahtOptions(never_recovered_from_day=10))
    assert g.early_grade == 4
    assert "from day 6" in g.early_rule


def test_never_recovered_with_a_one_day_recovery() -> None:
    """min_recovery_days=1: ANC 400, 600, 400 on days 0-2: day 1 is a recovery, episodes d0 and d2; the one
    from d2 starts by day 3 (default) and reaches the last count → grade 4 (as it is when extended to day
    4)."""
    opts = IcahtOptions(min_recovery_days=1)
    assert grade_icaht([0, 1, 2], [400.0, 600.0, 400.0], opts).early_grade == 4
    assert grade_icaht([0, 1, 2, 3, 4], [400.0, 600.0, 400.0, 400.0, 400.0], opts).early_grade == 4


def test_a_late_grade_0_is_never_flagged_or_shown_at_least_0() -> None:
    """ANC 1200 on day 40 only, followed to day 150: grade 0 (two values needed), not a lower bound; platelets
    90 on day 40 only: grade 0 too. The analysis never shows "≥ 0" (a 0 lower bound says nothing)."""
    from cartrial.analysis.toxicity import icaht_grade_text

    assert (grade_icaht([40], [1200.0], follow_up_day=150).late_lower_bound) is False
    assert (grade_t_icaht([40], [90.0], follow_up_day=150).late_lower_bound) is False
    row = {"late_icaht_grade": 0, "late_icaht_pending": False, "late_icaht_lower_bound": True}
    assert icaht_grade_text(row, "late_icaht_grade") == "0"
    row = {"late_icaht_grade": None, "late_icaht_pending": True, "late_icaht_at_least": 0}
    assert icaht_grade_text(row, "late_icaht_grade") == "pending"


def test_the_follow_up_dates_help_names_the_late_bounds(cli) -> None:  # type: ignore[no-untyped-def]
    """`grade icaht --follow-up-dates` also flags the late ICAHT and late T-ICAHT lower bounds (D-19.788)."""
    code, out, _ = cli("grade", "icaht", "--help")
    text = " ".join(out.replace("│", " ").split())
    assert code == 0 and "late ICAHT or late T-ICAHT grade a lower bound" in text


def _late_grade_by_hand(value: float) -> int:
    """EHA/EBMT 2023 late ICAHT thresholds (§5.2): ≤ 100 → 4, ≤ 500 → 3, ≤ 1000 → 2, ≤ 1500 → 1."""
    return 4 if value <= 100 else 3 if value <= 500 else 2 if value <= 1000 else 1 if value <= 1500 else 0


ANC = st.sampled_from([50.0, 90.0, 100.0, 300.0, 500.0, 800.0, 1000.0, 1200.0, 1500.0, 2500.0])


@settings(max_examples=property_examples(150), deadline=None)
@given(
    late=st.dictionaries(st.integers(31, 100), ANC, min_size=2, max_size=6),
    after=st.dictionaries(st.integers(101, 180), ANC, max_size=2),
    follow_up=st.one_of(st.none(), st.integers(31, 250)),
    option=st.sampled_from(list(OPTIONS)),
)
def test_late_anc_flag_characterised_independently(
    late: dict[int, float], after: dict[int, float], follow_up: int | None, option: str
) -> None:
    """k = 2 (non-transient: the grade of the second-lowest daily value). One more value M on the open days
    changes the second-lowest v2 to min(v2, M) (M is at least the lowest value: it is the last count's level,
    or the higher of it and the first count after day 100 when within 7 days of it), so the grade rises iff
    grade(M) > grade(v2).
    Hence, independently of the code: flagged iff there are open days (the last count of days 31-100 is before
    day 100 when a count follows day 100, else before the follow-up day capped at day 100), the grade seen is
    ≥ 1, and grade(M) > grade(v2); with no count after day 100 M is the last value, so this is "the last daily
    value is the strict minimum and its grade is higher than the second-lowest's". Any unsampled-day
    option."""
    days = sorted(late) + sorted(after)
    values = [late[d] for d in sorted(late)] + [after[d] for d in sorted(after)]
    g = grade_icaht(days, values, OPTIONS[option], follow_up_day=follow_up)
    ordered = sorted(late.values())
    v2 = ordered[1]
    last = max(late)
    # only a count within 7 days after day 100 bounds the open days (round-2 review, D-19.790)
    level = late[last] if not after or min(after) > 107 else max(late[last], after[min(after)])
    open_days = last < 100 if after else follow_up is not None and min(100, follow_up) > last
    expected = (
        open_days and _late_grade_by_hand(v2) >= 1 and _late_grade_by_hand(level) > _late_grade_by_hand(v2)
    )
    assert g.late_grade == _late_grade_by_hand(v2)
    assert g.late_lower_bound is expected
    if not after:  # the brief's wording, checked against the derivation above
        strict_min = late[last] < min(v for d, v in late.items() if d != last)
        assert expected == (
            open_days
            and strict_min
            and _late_grade_by_hand(v2) >= 1
            and _late_grade_by_hand(late[last]) > _late_grade_by_hand(v2)
        )


PLT = st.sampled_from([10.0, 15.0, 19.0, 20.0, 30.0, 60.0, 120.0])


@settings(max_examples=property_examples(100), deadline=None)
@given(
    late=st.dictionaries(st.integers(31, 100), PLT, min_size=1, max_size=5),
    after=st.dictionaries(st.integers(101, 160), PLT, max_size=2),
    follow_up=st.integers(31, 250),
    option=st.sampled_from(list(OPTIONS)),
)
def test_late_t_icaht_bound_with_later_counts_and_every_option(
    late: dict[int, float], after: dict[int, float], follow_up: int, option: str
) -> None:
    """Under every option and with counts after day 100: the follow-up day changes no late T-ICAHT grade, a
    grade 0 or 4 is never flagged, and a flagged grade is raised when the open days (after the last count of
    days 31-100 to the follow-up day capped at day 100, or to day 100 when a count follows it) are sampled
    daily at the level they may stay at (the last count's, or the higher of it and the first count after
    day 100 when within 7 days of it)."""
    opts = OPTIONS[option]
    days = sorted(late) + sorted(after)
    plt = [late[d] for d in sorted(late)] + [after[d] for d in sorted(after)]
    t = grade_t_icaht(days, plt, opts, follow_up_day=follow_up)
    assert (
        t.late_grade == grade_t_icaht(days, plt, opts).late_grade or after
    )  # no follow-up role with `after`
    assert t.late_grade == grade_t_icaht(days, plt, opts, follow_up_day=250).late_grade
    if t.late_lower_bound:
        assert t.late_grade in (1, 2, 3)
        last = max(late)
        level = late[last] if not after or min(after) > 107 else max(late[last], after[min(after)])
        end = 100 if after else min(100, follow_up)
        filled = list(range(last + 1, end + 1))
        raised = grade_t_icaht(days + filled, plt + [level] * len(filled), opts)
        assert raised.late_grade is not None and t.late_grade is not None and raised.late_grade > t.late_grade


# Round-2 review (D-19.790, D-19.791): only a count within 7 days after day 100 (TRAILING_CARRY_DAYS, the
# grader's carry) bounds the open days of days 31-100 and fills the late grid toward it; the late T-ICAHT
# flag reads the days after the last count of days 31-100 whatever the unsampled-day option.


@pytest.mark.parametrize(
    ("name", "days_seen"),
    [("linear", 5), ("locf", 5), ("max_interpolated_days=7", 5), ("sampled_only", 2)],
)
def test_a_late_t_icaht_count_long_after_day_100_leaves_the_days_open_under_every_option(
    name: str, days_seen: int
) -> None:
    """Platelets 10 on days 31 and 35, 15 on day 120 (20 days after day 100: says only that follow-up went
    on). The grade is that of days 31-35: filled options 5 days < 20, sampled_only 2 days → grade 3; the
    platelets staying at 10 on days 36-100 would be 70 days → grade 4: flagged under every option."""
    g = grade_t_icaht([31, 35, 120], [10.0, 10.0, 15.0], OPTIONS[name])
    assert (g.late_grade, g.late_days_plt_lt_20, g.late_lower_bound) == (3, days_seen, True)
    assert "day 36 to day 100" in g.late_rule


@pytest.mark.parametrize("name", ["max_interpolated_days=7", "sampled_only"])
def test_a_near_count_after_day_100_does_not_hide_the_open_days_under_a_gap_option(name: str) -> None:
    """Platelets 10 on days 31 and 35, 15 on day 103 (within 7 days of day 100). The gap 35 → 103 exceeds 7
    days, so neither option fills days 36-102: grade 3 from days 31-35; days 36-100 read at 15 (the higher
    of the bounding counts) are 65 more days < 20 → grade 4: flagged."""
    g = grade_t_icaht([31, 35, 103], [10.0, 10.0, 15.0], OPTIONS[name])
    assert (g.late_grade, g.late_lower_bound) == (3, True)


def test_a_recovered_anc_count_long_after_day_100_does_not_clear_the_flag() -> None:
    """ANC 800 d35, 90 d45, 3000 d365, follow-up to day 400: day 365 is 265 days after day 100, so days
    46-100 stay open at 90: second-lowest 800 → grade 2; one more value at 90 → grade 4: flagged (as
    without the day-365 count)."""
    g = grade_icaht([35, 45, 365], [800.0, 90.0, 3000.0], follow_up_day=400)
    assert (g.late_grade, g.late_lower_bound) == (2, True)
    assert grade_icaht([35, 45], [800.0, 90.0], follow_up_day=400).late_lower_bound


def test_a_far_count_after_day_100_does_not_fill_the_late_t_icaht_grid() -> None:
    """Linear: platelets 10 on d31 and d35, 200 on d365: days 36-100 are not interpolated toward day 365;
    days 31-35 are 5 days < 20 → grade 3 (flagged: staying at 10 to day 100 → 4)."""
    g = grade_t_icaht([31, 35, 365], [10.0, 10.0, 200.0])
    assert (g.late_grade, g.late_days_plt_lt_20, g.late_lower_bound) == (3, 5, True)


def test_the_rule_text_names_both_counts_bounding_the_open_days() -> None:
    """ANC 800 d35, 90 d45, 300 d101: grade 2 (second-lowest 800); days 46-100 read at 300 (the higher of
    90 and 300) → second-lowest 300 → grade 3: flagged; the text gives each count on its own day."""
    g = grade_icaht([35, 45, 101], [800.0, 90.0, 300.0], follow_up_day=200)
    assert (g.late_grade, g.late_lower_bound) == (2, True)
    assert "ANC 90/µL on day 45 and 300/µL on day 101 (the higher read)" in g.late_rule
    t = grade_t_icaht([31, 35], [10.0, 10.0], follow_up_day=100)
    assert "platelets 10 ×10^9/L on day 35" in t.late_rule and "higher" not in t.late_rule


def _late_t_by_hand(below_100: int, below_50: int, below_20: int, days_below_20: int) -> int:
    """EHA/EBMT 2023 late T-ICAHT (§5.3), k = 2 tests below: < 20 ×10^9/L for ≥ 14 days → 4, 1-13 days → 3;
    else < 50 → 2; else < 100 → 1."""
    if below_20 >= 2 and days_below_20 >= 1:
        return 4 if days_below_20 >= 14 else 3
    return 2 if below_50 >= 2 else 1 if below_100 >= 2 else 0


@settings(max_examples=property_examples(150), deadline=None)
@given(
    late=st.dictionaries(st.integers(31, 100), PLT, min_size=1, max_size=6),
    after=st.dictionaries(st.integers(101, 130), PLT, max_size=2),
    follow_up=st.one_of(st.none(), st.integers(31, 250)),
)
def test_late_t_icaht_flag_iff_raised_by_hand_under_sampled_only(
    late: dict[int, float], after: dict[int, float], follow_up: int | None
) -> None:
    """Both directions (flagged ⇔ raised), worked out without grade_t_icaht: under `sampled_only` with
    `min_recovery_days=1` (no merging of runs) the days < 20 are the sampled days < 20, so the grade seen is
    `_late_t_by_hand` of the counts of days 31-100. Open days: after the last count of days 31-100 to day 100
    when a count follows day 100, else to the follow-up day capped at day 100; their level M is the last
    count's, or the higher of it and the first count after day 100 when that is within 7 days of day 100.
    Raised: one more test at M, and every open day < 20 when M < 20. Flagged iff open days exist, the grade
    seen is 1-3 and the raised grade is higher."""
    opts = IcahtOptions(unsampled_days=UnsampledDays.SAMPLED_ONLY, min_recovery_days=1)
    days = sorted(late) + sorted(after)
    plt = [late[d] for d in sorted(late)] + [after[d] for d in sorted(after)]
    g = grade_t_icaht(days, plt, opts, follow_up_day=follow_up)
    values = list(late.values())

    def counts(vs: list[float]) -> tuple[int, int, int]:
        return sum(v < 100 for v in vs), sum(v < 50 for v in vs), sum(v < 20 for v in vs)

    n100, n50, n20 = counts(values)
    seen = _late_t_by_hand(n100, n50, n20, n20)
    assert g.late_grade == seen
    last = max(late)
    near = min(after) if after and min(after) <= 107 else None
    level = late[last] if near is None else max(late[last], after[near])
    end = 100 if after else None if follow_up is None else min(100, follow_up)
    open_days = 0 if end is None else max(0, end - last)
    u100, u50, u20 = counts([*values, level])
    raised = _late_t_by_hand(u100, u50, u20, n20 + (open_days if level < 20 else 0))
    assert g.late_lower_bound is (open_days > 0 and 1 <= seen <= 3 and raised > seen)
