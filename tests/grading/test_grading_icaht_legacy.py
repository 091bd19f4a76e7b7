"""ICAHT (Rejeski K et al., EHA/EBMT consensus, Blood 2023;142:865-877; thresholds of toxicity-grading.md
§5.1-5.2, options H1-H4 of §5.5) and legacy CRS scales (Lee 2014, Blood 124:188; CARTOX, Neelapu et al.
Nat Rev Clin Oncol 2018;15:47; as tabulated in PMC7006459 Table 2; toxicity-grading.md §3)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import ConfigurationError
from cartrial.grading import (
    HighDoseVasopressorThresholds,
    IcahtOptions,
    LegacyObservation,
    OxygenDevice,
    UnsampledDays,
    VasopressorDoses,
    grade_icaht,
    grade_legacy_crs,
    grade_t_icaht,
    is_high_dose,
)

DAILY = list(range(0, 31))


def daily(anc_by_day: dict[range | int, float], default: float = 2000.0) -> tuple[list[int], list[float]]:
    values = []
    for day in DAILY:
        value = default
        for key, anc in anc_by_day.items():
            if (isinstance(key, range) and day in key) or day == key:
                value = anc
        values.append(value)
    return DAILY, values


@pytest.mark.parametrize(
    ("low_days", "expected"),
    [(0, 0), (1, 1), (6, 1), (7, 2), (13, 2), (14, 3), (26, 3)],
)
def test_early_grade_by_days_anc_le_500(low_days: int, expected: int) -> None:
    """Early ICAHT (§5.1): ANC ≤ 500/µL for 1-6 days grade 1, 7-13 grade 2, 14-30 grade 3 (episode starting
    after day 3 so the never-recovered rule does not apply)."""
    days, anc = daily({range(5, 5 + low_days): 400.0})
    result = grade_icaht(days, anc)
    assert result.early_days_anc_le_500 == low_days
    assert result.early_grade == expected


def test_threshold_is_inclusive_500_and_100() -> None:
    """§5.1: thresholds are ANC ≤ 500/µL and ≤ 100/µL (inclusive)."""
    days, anc = daily({range(5, 12): 500.0})
    assert grade_icaht(days, anc).early_grade == 2
    days, anc = daily({range(5, 12): 100.0})
    result = grade_icaht(days, anc)
    assert result.early_days_anc_le_100 == 7 and result.early_grade == 3


def test_anc_le_100_row() -> None:
    """§5.1: ANC ≤ 100/µL for 7-13 days grade 3, ≥ 14 days grade 4; grade = the higher of the two rows."""
    days, anc = daily({range(5, 19): 50.0})  # 14 days ≤ 100
    assert grade_icaht(days, anc).early_grade == 4
    days, anc = daily({range(5, 11): 50.0})  # 6 days ≤ 100 → only the 500 row: 6 days → grade 1
    assert grade_icaht(days, anc).early_grade == 1


def test_never_recovering_from_day_3_is_grade_4() -> None:
    """§5.1 grader rule: an ANC ≤ 500 episode starting by day 3 lasting to the end of follow-up is grade 4."""
    days, anc = daily({range(2, 31): 300.0})  # 29 days, never recovers
    assert grade_icaht(days, anc).early_grade == 4
    days, anc = daily({range(4, 31): 300.0})  # starts on day 4: 27 days → grade 3
    assert grade_icaht(days, anc).early_grade == 3


def test_early_g4_min_days_option_h1() -> None:
    """H1: days ≤ 500/µL for early grade 4 default 31 (grader); a 30-day threshold changes a 30-day
    episode."""
    days, anc = daily({range(1, 31): 300.0})
    opts = IcahtOptions(early_g4_min_days=31, never_recovered_from_day=0)
    assert grade_icaht(days, anc, opts).early_grade == 3
    assert (
        grade_icaht(days, anc, IcahtOptions(early_g4_min_days=30, never_recovered_from_day=0)).early_grade
        == 4
    )


def test_merging_short_recoveries_option_h2() -> None:
    """H2 / §5.1: episodes separated by a recovery shorter than 3 days merge (gap days counted); with
    min_recovery_days=2 a 2-day recovery separates them."""
    days, anc = daily({range(5, 10): 300.0, range(12, 17): 300.0})  # 5 low, 2 recovered, 5 low
    merged = grade_icaht(days, anc)
    assert merged.early_days_anc_le_500 == 12 and merged.early_grade == 2
    split = grade_icaht(days, anc, IcahtOptions(min_recovery_days=2))
    assert split.early_days_anc_le_500 == 5 and split.early_grade == 1


def test_unsampled_days_option_h4() -> None:
    """H4: with ``locf`` (the default before decisions §12) a day is below when the last count on or before it
    is
    below; sampled_only counts sampled days only."""
    days = [0, 4, 7, 14, 21]
    anc = [1500.0, 300.0, 300.0, 1500.0, 2000.0]
    locf = grade_icaht(days, anc, IcahtOptions(unsampled_days=UnsampledDays.LOCF))
    assert locf.early_days_anc_le_500 == 10 and locf.early_grade == 2  # days 4-13
    sampled = grade_icaht(days, anc, IcahtOptions(unsampled_days="sampled_only"))  # type: ignore[arg-type]
    assert sampled.early_days_anc_le_500 == 2 and sampled.early_grade == 1


@pytest.mark.parametrize(
    ("late", "expected_default", "expected_one"),
    [
        ([1400.0, 1450.0, 3000.0], 1, 1),
        ([900.0, 950.0], 2, 2),
        ([400.0, 2500.0], 0, 3),  # one value ≤ 500: transient unless late_min_values=1
        ([80.0, 90.0], 4, 4),
        ([400.0, 1200.0], 1, 3),  # second-lowest ≤ 1500 → grade 1 needs two values ≤ 1500
    ],
)
def test_late_grade_and_option_h3(late: list[float], expected_default: int, expected_one: int) -> None:
    """Late ICAHT (§5.2): nadir ≤ 1500/µL grade 1, ≤ 1000 grade 2, ≤ 500 grade 3, ≤ 100 grade 4; H3: by
    default two values at or below the threshold are needed (consensus), option 1 (grader)."""
    days = [0, 7, 14] + [40 + 10 * i for i in range(len(late))]
    anc = [2000.0, 2000.0, 2000.0, *late]
    assert grade_icaht(days, anc).late_grade == expected_default
    assert grade_icaht(days, anc, IcahtOptions(late_min_values=1)).late_grade == expected_one


def test_icaht_not_gradable_without_counts() -> None:
    """No ANC in a window: that window's grade is None with the reason."""
    only_late = grade_icaht([40, 50], [2000.0, 2000.0])
    assert only_late.early_grade is None and "no ANC on days 0-30" in only_late.early_rule
    only_early = grade_icaht([1, 2], [2000.0, 2000.0])
    assert only_early.late_grade is None


def test_icaht_options_validated() -> None:
    with pytest.raises(ConfigurationError):
        IcahtOptions(late_min_values=3)
    with pytest.raises(ConfigurationError):
        IcahtOptions(unsampled_days="guess")  # type: ignore[arg-type]


@settings(max_examples=property_examples(200), deadline=None)
@given(st.lists(st.floats(0, 3000), min_size=31, max_size=31), st.integers(0, 30), st.floats(0, 1))
def test_lowering_one_anc_never_lowers_icaht(anc: list[float], day: int, fraction: float) -> None:
    """Monotonicity of §5.1/5.2: lowering one ANC value never lowers the early or late grade."""
    days = [*range(31), 45, 60]
    base = [*anc, 1200.0, 1300.0]
    worse = list(base)
    worse[day] = base[day] * fraction
    a, b = grade_icaht(days, base), grade_icaht(days, worse)
    assert (b.early_grade or 0) >= (a.early_grade or 0)
    assert (b.late_grade or 0) >= (a.late_grade or 0)
    assert 0 <= (b.early_grade or 0) <= 4


# ---------------------------------------------------------------- legacy scales


def obs(**kwargs: object) -> LegacyObservation:
    base: dict[str, object] = {
        "temperature_c": 38.5,
        "hypotension": False,
        "vasopressors": 0,
        "vasopressin": False,
        "oxygen": OxygenDevice.NONE,
        "fio2_pct": 21.0,
        "organ_toxicity_grade": 0,
        "transaminase_grade": 0,
        "life_threatening_hypotension": False,
    }
    base.update(kwargs)
    return LegacyObservation(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "lee", "cartox"),
    [
        ({}, 1, 1),  # fever only: grade 1 (CARTOX T ≥ 38 °C)
        ({"oxygen": OxygenDevice.NASAL_CANNULA, "fio2_pct": 30.0}, 2, 2),  # FiO2 < 40%
        ({"oxygen": OxygenDevice.FACEMASK, "fio2_pct": 40.0}, 3, 3),  # FiO2 ≥ 40%
        ({"oxygen": OxygenDevice.MECHANICAL_VENTILATION}, 4, 4),  # ventilator support
        ({"hypotension": True}, 2, 2),  # responsive to fluids
        ({"hypotension": True, "vasopressors": 2}, 3, 3),  # multiple vasopressors
        (
            {
                "hypotension": True,
                "vasopressors": 1,
                "life_threatening_hypotension": True,
                "doses": VasopressorDoses(norepinephrine_ug_min=30),
            },
            3,
            4,
        ),  # CARTOX life-threatening hypotension
        ({"organ_toxicity_grade": 4}, 4, 4),
        ({"transaminase_grade": 4}, 3, 3),  # grade 4 transaminases count as grade 3
        (
            {"temperature_c": 37.0, "oxygen": OxygenDevice.NASAL_CANNULA, "fio2_pct": 28.0},
            2,
            2,
        ),  # no fever needed
    ],
)
def test_legacy_grades(kwargs: dict[str, object], lee: int, cartox: int) -> None:
    """PMC7006459 Table 2 (§3.1): Lee 2014 and CARTOX criteria; neither needs fever at grades 2-4."""
    assert grade_legacy_crs(obs(**kwargs), "Lee 2014").grade == lee
    assert grade_legacy_crs(obs(**kwargs), "CARTOX").grade == cartox


def test_legacy_not_gradable_names_missing_inputs() -> None:
    """Decisions §3 / §3.4: grade only where the inputs suffice, else name the missing inputs."""
    result = grade_legacy_crs(obs(oxygen=OxygenDevice.NASAL_CANNULA, fio2_pct=None), "Lee 2014")
    assert result.grade is None and result.missing_inputs == ("fio2_pct",)
    result = grade_legacy_crs(obs(organ_toxicity_grade=None, transaminase_grade=None), "CARTOX")
    assert result.grade is None
    assert set(result.missing_inputs) == {"organ_toxicity_grade", "transaminase_grade"}
    # ventilator support decides grade 4 whatever else is missing
    decided = grade_legacy_crs(
        obs(oxygen=OxygenDevice.MECHANICAL_VENTILATION, organ_toxicity_grade=None, transaminase_grade=None),
        "Lee 2014",
    )
    assert decided.grade == 4
    one_pressor = grade_legacy_crs(obs(hypotension=True, vasopressors=1), "Lee 2014")
    assert one_pressor.grade is None and one_pressor.missing_inputs == ("vasopressor doses",)


def test_noninvasive_ventilation_option() -> None:
    """[U] option: CPAP/BiPAP count as ventilator support (grade 4) by default; otherwise graded by FiO2."""
    assert grade_legacy_crs(obs(oxygen=OxygenDevice.BIPAP, fio2_pct=35.0), "Lee 2014").grade == 4
    result = grade_legacy_crs(
        obs(oxygen=OxygenDevice.BIPAP, fio2_pct=35.0), "Lee 2014", noninvasive_is_ventilator_support=False
    )
    assert result.grade == 2


@pytest.mark.parametrize(
    ("doses", "high"),
    [
        (VasopressorDoses(norepinephrine_ug_min=19.9), False),
        (VasopressorDoses(norepinephrine_ug_min=20), True),  # noradrenaline alone ≥ 20 µg/min
        (VasopressorDoses(dopamine_ug_kg_min=10), True),  # dopamine alone ≥ 10 µg/kg/min
        (VasopressorDoses(phenylephrine_ug_min=199), False),
        (VasopressorDoses(phenylephrine_ug_min=200), True),
        (VasopressorDoses(epinephrine_ug_min=10), True),
        (VasopressorDoses(norepinephrine_ug_min=10, vasopressin=True), True),  # with vasopressin: NE-eq ≥ 10
        (VasopressorDoses(norepinephrine_ug_min=9, vasopressin=True), False),
        # combination without vasopressin: NE-eq = 10 + 12/2 = 16 < 20
        (VasopressorDoses(norepinephrine_ug_min=10, dopamine_ug_kg_min=12), False),
        (VasopressorDoses(norepinephrine_ug_min=10, phenylephrine_ug_min=100), True),  # 10 + 10 = 20
    ],
)
def test_lee_high_dose_vasopressor(doses: VasopressorDoses, high: bool) -> None:
    """Lee 2014 high-dose vasopressor table as recorded in §3.2 [U, thresholds are parameters]."""
    assert is_high_dose(doses) is high


def test_lee_high_dose_thresholds_are_parameters() -> None:
    """§3.2 values are [U]: a different threshold set changes the decision."""
    doses = VasopressorDoses(norepinephrine_ug_min=15)
    assert not is_high_dose(doses)
    assert is_high_dose(doses, HighDoseVasopressorThresholds(norepinephrine_ug_min=15))


# ---------------------------------------------------------------- T-ICAHT


def test_t_icaht_early_grades() -> None:
    """T-ICAHT early (§5.3, ASH table): PLT < 50 for 1-6 days grade 1, ≥ 7 days grade 2; PLT < 20 for 1-13
    days grade 3, ≥ 14 days grade 4; thresholds strict (exactly 50 is not below)."""
    days = list(range(0, 31))

    def plt(low: dict[range, float]) -> list[float]:
        return [next((v for r, v in low.items() if d in r), 150.0) for d in days]

    assert grade_t_icaht(days, plt({range(5, 11): 40.0})).early_grade == 1  # 6 days < 50
    assert grade_t_icaht(days, plt({range(5, 12): 40.0})).early_grade == 2  # 7 days
    assert grade_t_icaht(days, plt({range(5, 12): 50.0})).early_grade == 0  # exactly 50: not below
    assert grade_t_icaht(days, plt({range(5, 6): 15.0})).early_grade == 3  # 1 day < 20
    assert grade_t_icaht(days, plt({range(5, 19): 15.0})).early_grade == 4  # 14 days < 20


def test_t_icaht_days_are_cumulative_with_non_stable_recoveries() -> None:
    """§5.3: days below are cumulative; recoveries shorter than 3 days count as days below."""
    days = list(range(0, 31))
    values = [150.0] * 31
    for d in [*range(2, 6), *range(15, 18)]:  # 4 + 3 days < 50, separated by a stable recovery
        values[d] = 40.0
    result = grade_t_icaht(days, values)
    assert result.early_days_plt_lt_50 == 7 and result.early_grade == 2
    values2 = [150.0] * 31
    for d in [*range(2, 5), *range(7, 9)]:  # 3 + 2 days with a 2-day (non-stable) recovery → 7 days
        values2[d] = 40.0
    assert grade_t_icaht(days, values2).early_days_plt_lt_50 == 7


def test_t_icaht_late_needs_two_tests() -> None:
    """§5.3 late (days 31-100): < 100 grade 1, < 50 grade 2, < 20 for 1-13 days grade 3, ≥ 14 days grade 4;
    ≥ 2 tests needed (late_min_values, H3)."""
    early = ([0, 7, 14, 21, 28], [150.0] * 5)
    late_days = [40, 50, 60]
    assert grade_t_icaht([*early[0], *late_days], [*early[1], 90.0, 95.0, 160.0]).late_grade == 1
    assert grade_t_icaht([*early[0], *late_days], [*early[1], 45.0, 160.0, 160.0]).late_grade == 0
    one = IcahtOptions(late_min_values=1)
    assert grade_t_icaht([*early[0], *late_days], [*early[1], 45.0, 160.0, 160.0], one).late_grade == 2
    assert grade_t_icaht([*early[0], *late_days], [*early[1], 45.0, 48.0, 160.0]).late_grade == 2
    locf = IcahtOptions(unsampled_days=UnsampledDays.LOCF)  # the LOCF day count of this case
    result = grade_t_icaht([*early[0], *late_days], [*early[1], 15.0, 18.0, 160.0], locf)
    assert result.late_grade == 4 and result.late_days_plt_lt_20 == 20  # LOCF days 40-59: ≥ 14 days
    shorter = grade_t_icaht([*early[0], 40, 45, 50], [*early[1], 15.0, 18.0, 160.0], locf)
    assert shorter.late_grade == 3 and shorter.late_days_plt_lt_20 == 10  # days 40-49: 1-13 days
    # linear (default): day 28 = 150 to day 40 = 15 crosses 20 after day 39.5; 18 at day 45 to 160 at day 50
    # is ≥ 20 from day 46: days 40-45 = 6 days
    linear = grade_t_icaht([*early[0], 40, 45, 50], [*early[1], 15.0, 18.0, 160.0])
    assert linear.late_grade == 3 and linear.late_days_plt_lt_20 == 6
    assert grade_t_icaht([1, 2], [150.0, 150.0]).late_grade is None
