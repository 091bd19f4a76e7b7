"""Median follow-up by the reverse Kaplan-Meier method (Schemper M, Smith TL, *Control Clin Trials*
1996;17:343; D-19.90, D-19.91): the end of a living subject's follow-up is the "event"; a death censors (the
death, not the study, stopped the observation); a relapse does not end the follow-up (it runs to the last
contact or the cut-off, as for the ARR). Expected values by hand and by lifelines' KaplanMeierFitter on the
reversed indicator (an independent Kaplan-Meier)."""

from __future__ import annotations

import math
import statistics
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import ConfigurationError
from cartrial.neuro import derive_relapses
from cartrial.neuro.relapses import (
    Phenotype,
    RelapseEpisode,
    RelapseFreeSurvival,
    ReverseKmEvents,
    SubjectFollowUp,
    annualised_relapse_rates,
    median_follow_up_text,
    merge_attacks,
    relapse_free_survival,
    reverse_km_median,
)

DAY0 = date(2021, 1, 1)
ON = frozenset({Phenotype.OPTIC_NEURITIS})

#: one subject: (days of follow-up after day 0, day of a relapse or None, died)
Subject = tuple[int, int | None, bool]


def _km(subjects: list[Subject], **kw: Any) -> RelapseFreeSurvival:
    follow = [
        SubjectFollowUp(f"S{i:02d}", DAY0, DAY0 + timedelta(days=days), died=died)
        for i, (days, _, died) in enumerate(subjects)
    ]
    episodes = [
        RelapseEpisode(f"S{i:02d}", DAY0 + timedelta(days=relapse), ON)
        for i, (_, relapse, _) in enumerate(subjects)
        if relapse is not None
    ]
    return relapse_free_survival(annualised_relapse_rates(merge_attacks(episodes), follow), **kw)


def _lifelines_reverse_median(durations: list[int], died: list[bool]) -> float | None:
    """Independent reverse Kaplan-Meier: lifelines on the reversed indicator (a living subject's end of
    follow-up is the event, a death censored); the median is the smallest time with S(t) <= 0.5 (the
    engine's definition; lifelines' own median differs only where S sits exactly at 0.5); when the curve
    never falls to 0.5 the median is not reached: None (D-19.100; lifelines' median_survival_time_ is inf,
    see `test_not_reached_exactly_when_lifelines_median_is_infinite`)."""
    from lifelines import KaplanMeierFitter

    fitter = KaplanMeierFitter().fit(durations, event_observed=[not d for d in died])
    curve = fitter.survival_function_.iloc[:, 0]
    reached = [float(t) for t, s in curve.items() if s <= 0.5 + 1e-12]
    return min(reached) if reached else None


def test_a_death_is_censored_not_an_end_of_follow_up() -> None:
    """D-19.90, by hand: follow-up 100 (died), 200, 300, 400 days. Reverse KM with the death censored: at
    200, 3 at risk -> S = 2/3; at 300, 2 at risk -> 1/3 <= 1/2: median 300. Counting the death as an end
    (the relapse-free curve's indicator reversed) gives 100 -> 3/4, 200 -> 1/2 up to the next end, 300:
    the midpoint 250 (D-19.201; 200 by the smallest rule)."""
    subjects: list[Subject] = [(100, None, True), (200, None, False), (300, None, False), (400, None, False)]
    km = _km(subjects)
    assert km.reverse_km_events is ReverseKmEvents.FOLLOW_UP_ENDS
    assert km.median_follow_up_days == 300.0
    assert km.n_deaths == 1
    assert _km(subjects, reverse_km_events="relapse_free_censorings").median_follow_up_days == 250.0
    smallest = _km(subjects, reverse_km_events="relapse_free_censorings", km_median="smallest")
    assert smallest.median_follow_up_days == 200.0


def test_a_relapsed_subject_is_followed_to_the_end_of_follow_up() -> None:
    """D-19.91, by hand: follow-up 100, 200, 300, 400 (relapse on day 50), 500 days, nobody died. The relapse
    does not end the follow-up (the ARR counts relapses to the last assessment): five ends, median the
    third, 300. With the relapse-free curve's indicator reversed the relapse censors at day 50: 100 -> 3/4,
    200 -> 3/4 * 2/3 = 1/2 up to the next end, 300: the midpoint 250 (D-19.201; 200 by the smallest
    rule)."""
    subjects: list[Subject] = [
        (100, None, False),
        (200, None, False),
        (300, None, False),
        (400, 50, False),
        (500, None, False),
    ]
    assert _km(subjects).median_follow_up_days == 300.0
    assert _km(subjects, reverse_km_events="relapse_free_censorings").median_follow_up_days == 250.0
    smallest = _km(subjects, reverse_km_events="relapse_free_censorings", km_median="smallest")
    assert smallest.median_follow_up_days == 200.0


def test_an_unknown_rule_names_the_option_and_the_allowed_values() -> None:
    with pytest.raises(ConfigurationError) as caught:
        _km([(100, None, False)], reverse_km_events="deaths")
    assert "reverse_km_events" in str(caught.value)
    assert "follow_up_ends | relapse_free_censorings" in str(caught.value)


def test_derive_relapses_censors_a_death_on_or_before_the_cutoff() -> None:
    """The death date is plain data: S1 died on day 100 (censored), S2..S4 followed to 200, 300, 400 days
    -> median 300 as by hand above; a death after the cut-off is not in the data (D-19.83): four ends, the
    curve at 1/2 from 200 to 300, median 250 (the midpoint, D-19.201)."""
    infusions = {f"S{i}": DAY0 for i in range(1, 5)}
    last = {f"S{i}": DAY0 + timedelta(days=100 * i) for i in range(1, 5)}
    cutoff = date(2022, 6, 1)
    died = derive_relapses([], infusions, last_assessment=last, cutoff=cutoff, deaths={"S1": last["S1"]})
    assert died.km is not None and died.km.median_follow_up_days == 300.0
    assert died.metadata()["options"]["reverse_km_events"] == "follow_up_ends"
    assert died.payload()["relapse_free_survival"]["n_deaths"] == 1
    later = derive_relapses(
        [], infusions, last_assessment=last, cutoff=cutoff, deaths={"S1": date(2022, 7, 1)}
    )
    assert later.km is not None and later.km.median_follow_up_days == 250.0


_subjects = st.lists(
    st.tuples(st.integers(1, 1000), st.integers(0, 1000), st.booleans(), st.booleans()).map(
        lambda t: (t[0], min(t[1], t[0]) if t[2] else None, t[3])
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=property_examples(100), deadline=None)
@given(_subjects)
def test_reverse_km_median_agrees_with_lifelines_on_the_reversed_indicator(subjects: list[Subject]) -> None:
    durations = [d for d, _, _ in subjects]
    died = [x for _, _, x in subjects]
    lifelines = _lifelines_reverse_median(durations, died)
    assert _km(subjects, km_median="smallest").reverse_km_median_follow_up_days == lifelines
    midpoint = _km(subjects).reverse_km_median_follow_up_days  # the default differs only on a flat at 1/2
    assert (midpoint is None) == (lifelines is None)
    assert midpoint is None or lifelines is None or midpoint >= lifelines


@settings(max_examples=property_examples(100), deadline=None)
@given(_subjects)
def test_without_deaths_the_median_is_the_median_of_the_follow_up(subjects: list[Subject]) -> None:
    """Nobody died: every follow-up ended by censoring, relapsed or not, and the reverse curve is the
    empirical survival of the durations: its median is the ordinary median of the durations (the midpoint
    rule, D-19.201; the order statistic at position ceil(n/2) by the smallest rule) — whatever the relapses
    (D-19.91)."""
    alive = [(d, r, False) for d, r, _ in subjects]
    durations = sorted(d for d, _, _ in alive)
    assert _km(alive).median_follow_up_days == statistics.median(durations)
    lower = durations[math.ceil(len(durations) / 2) - 1]
    assert _km(alive, km_median="smallest").median_follow_up_days == lower


@settings(max_examples=property_examples(100), deadline=None)
@given(_subjects)
def test_censoring_deaths_never_lowers_the_median(subjects: list[Subject]) -> None:
    """A death censored instead of counted as an end of follow-up raises the reverse curve at that time and
    leaves the later factors unchanged (the subject leaves the risk set either way): the median never falls.
    It stays within the observed follow-up."""
    durations = [d for d, _, _ in subjects]
    censored = _km(subjects).median_follow_up_days
    counted = _km([(d, r, False) for d, r, _ in subjects]).median_follow_up_days
    assert counted is not None  # nobody died: every follow-up is an end, the median is reached
    if censored is None:  # not reached: beyond the longest follow-up (D-19.100)
        return
    assert censored >= counted
    assert min(durations) <= censored <= max(durations)


@settings(max_examples=property_examples(100), deadline=None)
@given(_subjects, st.data())
def test_more_follow_up_of_the_living_never_lowers_the_median(
    subjects: list[Subject], data: st.DataObject
) -> None:
    """Nobody died: extending one subject's follow-up never lowers the median (an order statistic). (With
    deaths censored this does not hold in general: moving an end past a censoring changes the risk sets.)"""
    alive = [(d, r, False) for d, r, _ in subjects]
    i = data.draw(st.integers(0, len(alive) - 1))
    extra = data.draw(st.integers(1, 500))
    longer = [(d + extra, r, x) if j == i else (d, r, x) for j, (d, r, x) in enumerate(alive)]
    before, after = _km(alive).median_follow_up_days, _km(longer).median_follow_up_days
    assert before is not None and after is not None and after >= before


@settings(max_examples=property_examples(100), deadline=None)
@given(_subjects)
def test_the_relapse_day_does_not_change_the_median(subjects: list[Subject]) -> None:
    """A relapse does not end the follow-up (D-19.91): the same subjects without their relapses have the
    same median follow-up."""
    without: list[Subject] = [(d, None, x) for d, _, x in subjects]
    assert _km(subjects).median_follow_up_days == _km(without).median_follow_up_days


# --- median not reached (D-19.100) --------------------------------------------------------------------


def test_a_median_not_reached_is_none_not_the_longest_follow_up() -> None:
    """The defect, by hand: follow-up 100 (alive), 200 and 300 days (both died, censored). Reverse curve:
    100 -> 2/3, then only censorings: it never falls to 1/2, the median is not reached (Klein & Moeschberger
    2003 §4.5; lifelines gives inf). It was reported as 300 days, the longest follow-up."""
    from lifelines import KaplanMeierFitter

    assert reverse_km_median([100, 200, 300], [False, True, True]) is None
    fitter = KaplanMeierFitter().fit([100, 200, 300], event_observed=[True, False, False])
    assert math.isinf(fitter.median_survival_time_)
    km = _km([(100, None, False), (200, None, True), (300, None, True)])
    assert km.median_follow_up_days is None and km.median_follow_up_months is None
    assert km.reverse_km_median_follow_up_days is None and not km.median_follow_up_reached
    assert km.longest_follow_up_days == 300.0
    assert median_follow_up_text(km) == (
        "median follow-up not reached (reverse Kaplan-Meier; longest follow-up 300 days)"
    )
    # the plain median of the observed follow-up is always a number, and is reported when chosen
    plain = _km(
        [(100, None, False), (200, None, True), (300, None, True)], follow_up_method="observed_median"
    )
    assert plain.median_follow_up_days == 200.0 and plain.reverse_km_median_follow_up_days is None
    assert (
        median_follow_up_text(plain) == "median follow-up 6.6 months (median of the observed follow-up)"
    )  # 200 / 30.4375


def test_a_reached_median_is_reported_in_months_as_before() -> None:
    """By hand: 100, 200, 300 days, nobody died -> median 200 days = 6.57 months."""
    km = _km([(100, None, False), (200, None, False), (300, None, False)])
    assert km.median_follow_up_reached
    assert median_follow_up_text(km) == "median follow-up 6.6 months (reverse Kaplan-Meier)"


def test_the_relapses_result_reports_not_reached_in_json_and_summary() -> None:
    """derive_relapses (the `relapses` CLI's payload and summary line): S1 followed 100 days, S2 and S3 died
    on days 200 and 300 -> not reached: null days and months, `median_follow_up_reached` false, and the
    summary line says "not reached" with the longest follow-up — no number of months."""
    infusions = {f"S{i}": DAY0 for i in range(1, 4)}
    last = {f"S{i}": DAY0 + timedelta(days=100 * i) for i in range(1, 4)}
    result = derive_relapses(
        [],
        infusions,
        last_assessment=last,
        cutoff=date(2022, 6, 1),
        deaths={"S2": last["S2"], "S3": last["S3"]},
    )
    km = result.payload()["relapse_free_survival"]
    assert km["median_follow_up_days"] is None and km["median_follow_up_months"] is None
    assert km["reverse_km_median_follow_up_days"] is None
    assert km["median_follow_up_reached"] is False and km["longest_follow_up_days"] == 300.0
    assert km["median_follow_up"].startswith("median follow-up not reached")
    summary = result.summary_text()
    assert "median follow-up not reached (reverse Kaplan-Meier; longest follow-up 300 days)" in summary
    assert "months" not in summary


def _exact_reverse_curve_minimum(durations: list[int], died: list[bool]) -> Fraction:
    """The reverse Kaplan-Meier curve's lowest value in exact arithmetic (its value after the last end)."""
    survival, at_risk = Fraction(1), len(durations)
    for time in sorted(set(durations)):
        ends = sum(1 for d, x in zip(durations, died, strict=True) if d == time and not x)
        survival *= 1 - Fraction(ends, at_risk)
        at_risk -= durations.count(time)
    return survival


@settings(max_examples=property_examples(200), deadline=None)
@given(_subjects)
def test_not_reached_exactly_when_lifelines_median_is_infinite(subjects: list[Subject]) -> None:
    """Ours None <-> the reverse curve stays above 1/2 (exact arithmetic) <-> lifelines'
    median_survival_time_ inf on the reversed indicator — lifelines compares floats, so a curve ending
    exactly at 1/2 (reached: S <= 1/2) can read inf there and is left out of that comparison; whenever a
    number is reported it is a time at which the reverse curve is <= 1/2 (never the longest follow-up)."""
    from lifelines import KaplanMeierFitter

    durations = [d for d, _, _ in subjects]
    died = [x for _, _, x in subjects]
    km = _km(subjects)
    lowest = _exact_reverse_curve_minimum(durations, died)
    assert (km.median_follow_up_days is None) == (lowest > Fraction(1, 2))
    fitter = KaplanMeierFitter().fit(durations, event_observed=[not d for d in died])
    if lowest != Fraction(1, 2):
        assert (km.median_follow_up_days is None) == math.isinf(fitter.median_survival_time_)
    if km.median_follow_up_days is not None:
        assert float(fitter.survival_function_at_times(km.median_follow_up_days).iloc[0]) <= 0.5 + 1e-12
