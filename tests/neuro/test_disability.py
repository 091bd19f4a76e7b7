"""Confirmed disability worsening / improvement (neuro-outcomes.md §5). Expected values by hand from the
thresholds table and the confirmation rule (msclinical 0.1.0 conventions; Kappos 2020)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import ConfigurationError
from cartrial.neuro.disability import (
    Direction,
    DisabilityOptions,
    confirmed_disability_change,
    improvement_threshold,
    worsening_threshold,
)


@pytest.mark.parametrize(
    ("ref", "nmosd", "ms"),
    [(0.0, 2.0, 1.5), (1.0, 1.0, 1.0), (5.0, 1.0, 1.0), (5.5, 0.5, 1.0), (6.0, 0.5, 0.5)],
)
def test_worsening_thresholds(ref: float, nmosd: float, ms: float) -> None:
    """§5: NMOSD trial style 2.0 / 1.0 / 0.5 (0; 1.0-5.0; >= 5.5); MS CDW 1.5 / 1.0 / 0.5
    (0; <= 5.5; > 5.5)."""
    assert worsening_threshold(ref, "nmosd_trial") == nmosd
    assert worsening_threshold(ref, "ms_cdw") == ms


def test_improvement_thresholds() -> None:
    """§5: cdi_common 1.0 if <= 5.5, 0.5 above; AFFIRM 1.0 only if baseline >= 2.0."""
    assert improvement_threshold(5.5, "cdi_common") == 1.0
    assert improvement_threshold(6.0, "cdi_common") == 0.5
    assert improvement_threshold(0.0, "cdi_common") is None
    assert improvement_threshold(1.5, "affirm") is None
    assert improvement_threshold(2.0, "affirm") == 1.0


def test_confirmed_worsening_12_weeks() -> None:
    """Baseline 3.0, 4.0 at day 30 held at day 90 and 120: confirmed at the first visit >= 84 days after
    onset (day 120); held at the intermediate day-90 visit."""
    outcome = confirmed_disability_change([(0, 3.0), (30, 4.0), (90, 4.0), (120, 4.5)])
    assert outcome.confirmed is not None
    assert (outcome.confirmed.onset_day, outcome.confirmed.confirmation_day) == (30, 120)
    assert outcome.confirmed.change == 1.0


def test_change_not_held_at_intermediate_visit_is_not_confirmed() -> None:
    """§5: the change must be maintained at every intermediate visit."""
    outcome = confirmed_disability_change([(0, 3.0), (30, 4.0), (60, 3.5), (120, 4.0)])
    assert outcome.confirmed is None
    assert outcome.unconfirmed[0].reason == "not sustained"


def test_24_week_confirmation_option_and_short_follow_up() -> None:
    """§5: with 168-day confirmation a change confirmed at 12 weeks is unconfirmed when follow-up ends."""
    visits = [(0, 3.0), (30, 4.0), (120, 4.0)]
    assert confirmed_disability_change(visits).confirmed is not None
    outcome = confirmed_disability_change(visits, options=DisabilityOptions(confirmation_days=168))
    assert outcome.confirmed is None
    assert outcome.unconfirmed[0].reason == "follow-up ended before confirmation"


def test_thresholds_option_changes_outcome() -> None:
    """Baseline 0 -> 1.5: an MS CDW (>= 1.5) but not NMOSD trial-style worsening (>= 2.0)."""
    visits = [(0, 0.0), (30, 1.5), (150, 1.5)]
    assert confirmed_disability_change(visits).confirmed is None
    assert (
        confirmed_disability_change(visits, options=DisabilityOptions(thresholds="ms_cdw")).confirmed
        is not None
    )  # type: ignore[arg-type]


def test_relapse_associated_versus_pira() -> None:
    """§5: relapse within 90 days before onset or before confirmation -> RAW; otherwise PIRA."""
    visits = [(0, 3.0), (100, 4.0), (200, 4.0)]
    assert confirmed_disability_change(visits, relapse_days=[20]).confirmed.relapse_associated is True  # type: ignore[union-attr]
    assert confirmed_disability_change(visits, relapse_days=[5]).confirmed.relapse_associated is False  # type: ignore[union-attr]


def test_improvement_definitions() -> None:
    """Baseline 1.5 -> 0 sustained: cdi_common improvement (>= 1.0); AFFIRM not evaluable (baseline < 2.0)."""
    visits = [(0, 1.5), (30, 0.0), (120, 0.0)]
    assert confirmed_disability_change(visits, "improvement").confirmed is not None
    affirm = confirmed_disability_change(
        visits, Direction.IMPROVEMENT, DisabilityOptions(improvement="affirm")
    )  # type: ignore[arg-type]
    assert affirm.evaluable is False


def test_roving_reference() -> None:
    """Roving reference [U]: baseline 4.0 falls to 2.0 (held at the next visit), then 3.0 sustained: a
    worsening of 1.0 from the roving reference 2.0, none from the fixed baseline 4.0."""
    visits = [(0, 4.0), (30, 2.0), (60, 2.0), (90, 3.0), (200, 3.0)]
    assert confirmed_disability_change(visits).confirmed is None
    roving = confirmed_disability_change(visits, options=DisabilityOptions(reference="roving"))  # type: ignore[arg-type]
    assert roving.confirmed is not None
    assert roving.confirmed.reference_edss == 2.0


def test_confirmation_at_exactly_84_days_and_not_at_83() -> None:
    """§5: confirmed at the first visit >= 84 days after onset. Onset day 30; a visit at day 113 (83 days)
    does not confirm, the visit at day 114 (84 days) does."""
    early = confirmed_disability_change([(0, 3.0), (30, 4.0), (113, 4.0)])
    assert early.confirmed is None
    assert early.unconfirmed[0].reason == "follow-up ended before confirmation"
    on_time = confirmed_disability_change([(0, 3.0), (30, 4.0), (113, 4.0), (114, 4.0)])
    assert on_time.confirmed is not None
    assert on_time.confirmed.confirmation_day == 114


def test_confirming_visit_must_itself_hold_the_change() -> None:
    """§5: the change is maintained at every intermediate visit and at the confirming visit: 4.0 at day 30,
    held at day 100, back to 3.5 at the first visit >= 84 days later (day 114) -> not confirmed."""
    outcome = confirmed_disability_change([(0, 3.0), (30, 4.0), (100, 4.0), (114, 3.5), (200, 4.0)])
    assert outcome.confirmed is None


@pytest.mark.parametrize(
    ("visits", "thresholds", "confirmed"),
    [
        ([(0, 0.0), (10, 2.0), (100, 2.0)], "nmosd_trial", True),  # 0 -> +2.0
        ([(0, 0.0), (10, 1.5), (100, 1.5)], "ms_cdw", True),  # 0 -> +1.5
        ([(0, 0.0), (10, 1.0), (100, 1.0)], "ms_cdw", False),
        ([(0, 5.0), (10, 5.5), (100, 5.5)], "nmosd_trial", False),  # 1.0-5.0 needs +1.0
        ([(0, 5.5), (10, 6.0), (100, 6.0)], "nmosd_trial", True),  # >= 5.5 needs +0.5
        ([(0, 5.5), (10, 6.0), (100, 6.0)], "ms_cdw", False),  # <= 5.5 needs +1.0
        ([(0, 6.0), (10, 6.5), (100, 6.5)], "ms_cdw", True),  # > 5.5 needs +0.5
    ],
)
def test_worsening_threshold_boundaries_in_a_series(
    visits: list[tuple[int, float]], thresholds: str, confirmed: bool
) -> None:
    """§5 thresholds at their boundaries, applied through the confirmation rule (84 days)."""
    outcome = confirmed_disability_change(
        visits,
        options=DisabilityOptions(thresholds=thresholds),  # type: ignore[arg-type]
    )
    assert (outcome.confirmed is not None) is confirmed


def test_improvement_boundaries_cdi_common_and_affirm() -> None:
    """§5: cdi_common decrease >= 0.5 above 5.5 (6.0 -> 5.5 confirmed), >= 1.0 at 5.5 (5.5 -> 5.0 not);
    AFFIRM decrease >= 1.0 from baseline >= 2.0 (2.0 -> 1.0 confirmed, 6.0 -> 5.5 not)."""
    assert confirmed_disability_change([(0, 6.0), (10, 5.5), (100, 5.5)], "improvement").confirmed
    assert confirmed_disability_change([(0, 5.5), (10, 5.0), (100, 5.0)], "improvement").confirmed is None
    affirm = DisabilityOptions(improvement="affirm")  # type: ignore[arg-type]
    assert confirmed_disability_change([(0, 2.0), (10, 1.0), (100, 1.0)], "improvement", affirm).confirmed
    assert (
        confirmed_disability_change([(0, 6.0), (10, 5.5), (100, 5.5)], "improvement", affirm).confirmed
        is None
    )


def test_relapse_window_boundaries() -> None:
    """§5: relapse-associated if a relapse began within 90 days before onset or between onset and
    confirmation. Onset day 100, confirmation day 200: relapse on day 10 (90 days before) or day 200 is
    RAW; day 9 (91 days before) or day 201 (after confirmation) is PIRA. (The 30-day exclusion of
    confirmation visits after a relapse is turned off here: it is tested on its own below.)"""
    visits = [(0, 3.0), (100, 4.0), (200, 4.0)]
    no_exclusion = DisabilityOptions(relapse_exclusion_days=0)
    for day, associated in ((10, True), (200, True), (150, True), (9, False), (201, False)):
        confirmed = confirmed_disability_change(visits, "worsening", no_exclusion, [day]).confirmed
        assert confirmed is not None
        assert confirmed.relapse_associated is associated, day


_EDSS_STEPS = [0.0, *(x / 2 for x in range(2, 21))]


@settings(max_examples=property_examples(150), deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 400), st.sampled_from(_EDSS_STEPS)),
        min_size=1,
        max_size=10,
        unique_by=lambda v: v[0],
    ),
    st.sampled_from(_EDSS_STEPS),
    st.sampled_from(["nmosd_trial", "ms_cdw"]),
    st.sampled_from([84, 168]),
)
def test_confirmed_worsening_is_held_from_onset_to_confirmation(
    follow: list[tuple[int, float]], baseline: float, thresholds: str, days: int
) -> None:
    """§5 (fixed reference): a confirmed worsening has its confirming visit >= `confirmation_days` after
    onset, and every visit from onset to confirmation is at least the threshold above the baseline."""
    visits = [(0, baseline), *follow]
    options = DisabilityOptions(thresholds=thresholds, confirmation_days=days)  # type: ignore[arg-type]
    outcome = confirmed_disability_change(visits, options=options)
    event = outcome.confirmed
    if event is None:
        return
    need = worsening_threshold(baseline, thresholds)
    assert event.confirmation_day - event.onset_day >= days
    held = [e for d, e in visits if event.onset_day <= d <= event.confirmation_day]
    assert all(e - baseline >= need for e in held)
    # the confirming visit is the first one at least `days` after onset
    assert not any(event.onset_day + days <= d < event.confirmation_day for d, _ in visits)


def test_confirmation_visit_within_30_days_of_a_relapse_is_not_used() -> None:
    """Decisions §12: a confirmation visit within 30 days after a relapse onset neither confirms nor refutes.
    Onset day 100 (EDSS 3.0 -> 4.0), relapse on day 190: the day-200 visit (10 days after) is excluded, so
    the worsening is confirmed only at day 250 (>= 84 days after onset, 60 days after the relapse); with
    the exclusion off it is confirmed at day 200."""
    visits = [(0, 3.0), (100, 4.0), (200, 4.0), (250, 4.0)]
    default = confirmed_disability_change(visits, "worsening", relapse_days=[190]).confirmed
    assert default is not None and default.confirmation_day == 250
    off = DisabilityOptions(relapse_exclusion_days=0)
    assert confirmed_disability_change(visits, "worsening", off, [190]).confirmed.confirmation_day == 200  # type: ignore[union-attr]


def test_relapse_visit_does_not_refute_an_improvement() -> None:
    """Improvement 5.0 -> 3.5 at day 30; a relapse on day 60 raises the day-70 EDSS to 5.0 (10 days after
    onset: excluded); day 150 at 3.5 confirms (120 days >= 84). Without the exclusion the day-70 visit
    breaks the improvement."""
    visits = [(0, 5.0), (30, 3.5), (70, 5.0), (150, 3.5)]
    assert confirmed_disability_change(visits, "improvement", relapse_days=[60]).confirmed is not None
    off = DisabilityOptions(relapse_exclusion_days=0)
    assert confirmed_disability_change(visits, "improvement", off, [60]).confirmed is None


def test_relapse_exclusion_days_range() -> None:
    with pytest.raises(ConfigurationError):
        DisabilityOptions(relapse_exclusion_days=-1)
    with pytest.raises(ConfigurationError):
        DisabilityOptions(relapse_exclusion_days=366)
