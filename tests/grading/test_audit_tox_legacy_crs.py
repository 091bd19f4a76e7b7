"""Lee 2014 / CARTOX legacy CRS grading: monotonicity properties (audit of toxicity-grading.md §3).

Lee DW et al., Blood 2014;124:188 and CARTOX (Neelapu et al. 2018; toxicity-grading.md §3.1): oxygen with FiO2
< 40% is grade 2, ≥ 40% grade 3. Lee 2014 "high-dose vasopressor" (§3.2): single-agent thresholds, or the
noradrenaline-equivalent against 10 µg/min with vasopressin, 20 µg/min for a combination. Expected values by
hand from §3, never from the code under test.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.grading.crs import OxygenDevice
from cartrial.grading.legacy import (
    LegacyObservation,
    LegacyScale,
    VasopressorDoses,
    grade_legacy_crs,
    is_high_dose,
)

AGENTS = ("norepinephrine_ug_min", "dopamine_ug_kg_min", "phenylephrine_ug_min", "epinephrine_ug_min")


@settings(max_examples=property_examples(200), deadline=None)
@given(
    st.lists(st.floats(0, 400), min_size=4, max_size=4),
    st.booleans(),
    st.integers(0, 3),
    st.floats(0, 400),
)
def test_raising_a_given_vasopressor_dose_never_ends_high_dose(
    doses: list[float], vasopressin: bool, which: int, extra: float
) -> None:
    """Property of Lee 2014 "high-dose vasopressor" (toxicity-grading.md §3.2: single-agent thresholds, NE-
    equivalent = NE + dopamine/2 + adrenaline + phenylephrine/10 against 10 µg/min with vasopressin, 20 µg/min
    for a combination): with the same agents given, a higher dose of one of them is never a lower dose class.
    (Adding an agent changes the regime and is not covered: adrenaline 10 µg/min alone is high dose, with 0.1
    µg/min noradrenaline added the combination's NE-equivalent 10.1 is below 20 — the table as stated.)"""
    if doses[which] == 0.0:
        doses[which] = 1.0  # raise an agent that is given, so the set of agents is the same
    before = VasopressorDoses(**dict(zip(AGENTS, doses, strict=True)), vasopressin=vasopressin)
    raised = list(doses)
    raised[which] += extra
    after = VasopressorDoses(**dict(zip(AGENTS, raised, strict=True)), vasopressin=vasopressin)
    assert is_high_dose(after) >= is_high_dose(before)


@settings(max_examples=property_examples(200), deadline=None)
@given(
    st.sampled_from(list(LegacyScale)),
    st.sampled_from([OxygenDevice.NASAL_CANNULA, OxygenDevice.FACEMASK, OxygenDevice.NON_REBREATHER]),
    st.floats(21, 100),
    st.floats(21, 100),
    st.floats(36, 41),
)
def test_a_higher_fio2_never_lowers_the_legacy_crs_grade(
    scale: LegacyScale, device: OxygenDevice, a: float, b: float, temperature_c: float
) -> None:
    """Property of Lee 2014 / CARTOX (toxicity-grading.md §3.1): oxygen with FiO2 < 40% is grade 2,
    ≥ 40% grade 3, so with everything else the same a higher FiO2 never gives a lower grade; the 40% cut
    itself: 39.99 is grade 2, 40 grade 3."""
    low, high = sorted((a, b))

    def grade(fio2: float) -> int | None:
        obs = LegacyObservation(
            temperature_c=temperature_c,
            hypotension=False,
            vasopressors=0,
            vasopressin=False,
            oxygen=device,
            fio2_pct=fio2,
            organ_toxicity_grade=0,
            transaminase_grade=0,
            life_threatening_hypotension=False,
        )
        return grade_legacy_crs(obs, scale).grade

    g_low, g_high = grade(low), grade(high)
    assert g_low is not None and g_high is not None
    assert g_high >= g_low
    assert (grade(39.99), grade(40.0)) == (2, 3)
