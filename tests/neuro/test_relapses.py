"""Relapse merging, ARR with exact Poisson CI, Kaplan-Meier relapse-free survival. Expected values from
neuro-outcomes.md §4 (rules) and hand computation; Garwood interval values from the chi-square tables."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.neuro.relapses import (
    Phenotype,
    RelapseEpisode,
    RelapseOptions,
    Severity,
    SubjectFollowUp,
    annualised_relapse_rates,
    merge_attacks,
    months_before,
    poisson_rate,
    qualifies,
    relapse_free_survival,
)

ON = frozenset({Phenotype.OPTIC_NEURITIS})
MY = frozenset({Phenotype.MYELITIS})


def rec(subject: str, day: date, phen: frozenset[Phenotype] = ON, **kw: object) -> RelapseEpisode:
    return RelapseEpisode(subject, day, phen, **kw)  # type: ignore[arg-type]


def test_onsets_less_than_30_days_apart_merge() -> None:
    """§4.2: onsets < 30 days apart are one attack (strict '<'): 29 days merge, 30 days do not."""
    d0 = date(2021, 1, 1)
    attacks = merge_attacks([rec("A", d0), rec("A", d0 + timedelta(days=29), MY, severity=Severity.SEVERE)])
    assert len(attacks) == 1
    assert attacks[0].phenotypes == ON | MY
    assert attacks[0].severity is Severity.SEVERE
    assert len(merge_attacks([rec("A", d0), rec("A", d0 + timedelta(days=30))])) == 2


def test_merge_window_option() -> None:
    """§4.2 merge_window_days is configurable."""
    d0 = date(2021, 1, 1)
    records = [rec("A", d0), rec("A", d0 + timedelta(days=40))]
    assert len(merge_attacks(records, RelapseOptions(merge_window_days=45))) == 1


def test_merge_anchor_first_versus_chain() -> None:
    """§4.2 merge_anchor: onsets at days 0, 20, 40 -> 'first' gives 2 attacks (40 is 40 days after the
    first onset), 'chain' gives 1 (each is 20 days after the previous)."""
    d0 = date(2021, 1, 1)
    records = [rec("A", d0 + timedelta(days=k)) for k in (0, 20, 40)]
    assert len(merge_attacks(records)) == 2
    assert len(merge_attacks(records, RelapseOptions(merge_anchor="chain"))) == 1  # type: ignore[arg-type]


def test_non_qualifying_episodes() -> None:
    """§4.2: symptoms <= 24 h or explained by fever/infection are not relapses; objective change only when
    required."""
    d0 = date(2021, 1, 1)
    assert qualifies(rec("A", d0, lasted_over_24h=False))[0] is False
    assert qualifies(rec("A", d0, explained_by_fever_or_infection=True))[0] is False
    assert qualifies(rec("A", d0))[0] is True
    strict = RelapseOptions(require_objective_change=True)
    assert qualifies(rec("A", d0), strict)[0] is False
    assert qualifies(rec("A", d0, objective_change=True), strict)[0] is True
    assert merge_attacks([rec("A", d0, explained_by_fever_or_infection=True)]) == []


def test_months_before_calendar() -> None:
    """Calendar-month windows, clamped to month end."""
    assert months_before(date(2021, 6, 1), 24) == date(2019, 6, 1)
    assert months_before(date(2021, 3, 31), 1) == date(2021, 2, 28)
    assert months_before(date(2020, 3, 31), 1) == date(2020, 2, 29)
    assert months_before(date(2021, 1, 15), 13) == date(2019, 12, 15)


def test_garwood_interval_values() -> None:
    """Garwood 1936 exact Poisson 95 % limits for the count (T = 1): k=0 -> (0, 3.689); k=1 ->
    (0.0253, 5.572); k=2 -> (0.2422, 7.225) (standard table values)."""
    r0 = poisson_rate(0, 1.0)
    assert (r0.ci_low, r0.ci_high) == (0.0, pytest.approx(3.689, abs=1e-3))
    r1 = poisson_rate(1, 1.0)
    assert r1.ci_low == pytest.approx(0.0253, abs=1e-4) and r1.ci_high == pytest.approx(5.572, abs=1e-3)
    r2 = poisson_rate(2, 2.0)
    assert r2.rate == 1.0
    assert r2.ci_low == pytest.approx(0.2422 / 2, abs=1e-4) and r2.ci_high == pytest.approx(
        7.225 / 2, abs=1e-3
    )
    assert poisson_rate(1, 0.0).rate is None


def test_arr_hand_computed() -> None:
    """§4.3: ARR = attacks / (days / 365.25). Infusion 2021-06-01; window 24 months -> 2019-06-01 (731
    days); 3 attacks -> 3 / (731 / 365.25) = 1.4990; after: 1 attack in 200 days -> 1.8263."""
    inf = date(2021, 6, 1)
    records = [
        rec("A", date(2019, 4, 1)),  # outside the window (and > 30 days from the next onset)
        rec("A", date(2019, 6, 1)),  # first day of the window
        rec("A", date(2020, 6, 1)),
        rec("A", date(2021, 5, 31)),  # day -1: before infusion
        rec("A", inf + timedelta(days=100)),
    ]
    summary = annualised_relapse_rates(
        merge_attacks(records), [SubjectFollowUp("A", inf, inf + timedelta(days=200))]
    )
    row = summary.subjects[0]
    assert (row.pre_attacks, row.pre_days) == (3, 731)
    assert row.pre_arr == pytest.approx(3 / (731 / 365.25))
    assert (row.post_attacks, row.post_days, row.first_post_attack_day) == (1, 200, 100)
    assert row.post_arr == pytest.approx(1 / (200 / 365.25))
    assert summary.options["pre_window_months"] == 24


def test_arr_pooled_differs_from_mean_of_patients() -> None:
    """§4.3: pooled ARR = sum attacks / sum patient-years, not the mean of per-patient ARRs."""
    inf = date(2021, 6, 1)
    records = [rec("A", inf + timedelta(days=10))]
    follow = [
        SubjectFollowUp("A", inf, inf + timedelta(days=100)),
        SubjectFollowUp("B", inf, inf + timedelta(days=300)),
    ]
    summary = annualised_relapse_rates(merge_attacks(records), follow, RelapseOptions(pre_window_months=12))
    assert summary.post.rate == pytest.approx(1 / (400 / 365.25))
    assert summary.mean_of_subject_post_arr == pytest.approx((365.25 / 100 + 0) / 2)
    assert summary.subjects[0].pre_days == 365


def test_kaplan_meier_hand_computed() -> None:
    """Kaplan-Meier (1958): 4 subjects, follow-up 100, 200, 300, 400 days; one attack at day 150 in the
    300-day subject. At day 150, 3 at risk (100 censored) -> S = 1 - 1/3 = 0.6667; numbers at risk at
    day 0 = 4, day 120 = 3, day 250 = 1 (only the 400-day subject)."""
    inf = date(2021, 1, 1)
    follow = [
        SubjectFollowUp(s, inf, inf + timedelta(days=d))
        for s, d in (("A", 100), ("B", 200), ("C", 300), ("D", 400))
    ]
    arr = annualised_relapse_rates(merge_attacks([rec("C", inf + timedelta(days=150))]), follow)
    km = relapse_free_survival(arr, at_risk_times_days=[0, 120, 250])
    at_150 = next(row for row in km.table if row.time_days == 150)
    assert at_150.survival == pytest.approx(2 / 3)
    assert at_150.at_risk == 3
    assert km.at_risk == ((0.0, 4), (120.0, 3), (250.0, 1))
    assert km.n_events == 1
    assert km.relapse_free_at_last == 3
    # reverse KM (Schemper & Smith 1996; D-19.91): nobody died, every follow-up (C's to day 300, past its
    # relapse) is an end: 100 -> 3/4, 200 -> 1/2 up to the next end at 300, so the median follow-up is the
    # midpoint, day 250 (R survival, SAS; D-19.201), day 200 by the smallest rule (lifelines); with the
    # relapse-free curve's indicator reversed C is censored at 150: 100 -> 3/4, 200 -> 3/8, day 200 by both;
    # the plain median of the observed follow-up (100, 200, 300, 400) is 250
    assert km.median_follow_up_days == 250.0
    assert relapse_free_survival(arr, km_median="smallest").median_follow_up_days == 200.0
    assert (
        relapse_free_survival(arr, reverse_km_events="relapse_free_censorings").median_follow_up_days == 200
    )
    assert km.observed_median_follow_up_days == 250.0
    assert relapse_free_survival(arr, follow_up_method="observed_median").median_follow_up_days == 250.0
    assert km.durations_days["C"] == 150


@settings(max_examples=property_examples(50), deadline=None)
@given(st.lists(st.integers(0, 2000), min_size=1, max_size=20), st.integers(1, 60))
def test_merging_never_increases_and_attacks_are_window_apart(days: list[int], window: int) -> None:
    """Merging (§4.2, anchor 'first') never gives more attacks than episodes; successive attack onsets are
    at least the window apart."""
    d0 = date(2015, 1, 1)
    attacks = merge_attacks(
        [rec("A", d0 + timedelta(days=d)) for d in days], RelapseOptions(merge_window_days=window)
    )
    assert len(attacks) <= len(days)
    for first, second in itertools.pairwise(attacks):
        assert (second.onset - first.onset).days >= window


def test_per_patient_arr_has_exact_poisson_ci() -> None:
    """Decisions §4 / §4.3: ARR per patient and pooled, each with an exact Poisson 95 % CI. Per patient: 3
    attacks
    in 731 days (2.0014 PY): limits chi2.ppf(0.025, 6)/2 = 0.6187 and chi2.ppf(0.975, 8)/2 = 8.7673 events
    (Garwood table), divided by the patient-years; 0 attacks in 200 days (0.5476 PY): (0, 3.6889 / 0.5476)."""
    inf = date(2021, 6, 1)
    records = [rec("A", date(2019, 6, 1)), rec("A", date(2020, 6, 1)), rec("A", date(2021, 5, 31))]
    summary = annualised_relapse_rates(
        merge_attacks(records), [SubjectFollowUp("A", inf, inf + timedelta(days=200))]
    )
    row = summary.subjects[0]
    assert row.pre_rate is not None and row.post_rate is not None
    py = 731 / 365.25
    assert row.pre_rate.rate == pytest.approx(row.pre_arr)
    assert row.pre_rate.ci_low == pytest.approx(0.6187 / py, abs=1e-4)
    assert row.pre_rate.ci_high == pytest.approx(8.7673 / py, abs=1e-4)
    assert row.post_rate.ci_low == 0.0
    assert row.post_rate.ci_high == pytest.approx(3.6889 / (200 / 365.25), abs=1e-3)


@pytest.mark.parametrize("given", ["mapping", "form"])
def test_a_subject_infused_after_the_cutoff_is_left_out_with_their_relapses(given: str) -> None:
    """A subject infused after the data cut-off was not yet infused as of it: `derive_relapses` counted
    them relapse-free with no follow-up, and the first fix refused the whole file (attackcli, D-19.577
    amended). The subject is left out with their relapses (no "no infusion date" error for them), named in
    a note, as the study snapshot leaves such an infusion out; the same from a mapping (the Python API) and
    from a form."""
    from datetime import date

    from cartrial.neuro import derive_relapses

    rel = (
        "subject_id,onset_date,phenotype,severity\nS1,2020-05-01,myelitis,severe\n"
        "S2,2021-03-01,optic_neuritis,mild\n"
    )
    infused: object = {"S1": date(2021, 1, 1), "S2": date(2021, 8, 1)}
    if given == "form":
        infused = "subject_id,infused_at\nS1,2021-01-01T09:00:00Z\nS2,2021-08-01T09:00:00Z\n"
    result = derive_relapses(rel, infused, cutoff=date(2021, 7, 1))  # type: ignore[arg-type]
    assert result.table["subject_id"].tolist() == ["S1"]
    assert result.table["pre_attacks"].tolist() == [1]
    assert result.table["post_days"].tolist() == [181]  # 2021-01-01 to 2021-07-01
    assert result.infused_after_cutoff == ("S2",)
    assert "1 subject infused after the data cut-off 2021-07-01 is left out with their relapses: S2" in (
        result.notes
    )
    assert result.payload()["infused_after_cutoff"] == ["S2"]
    assert [e.subject_id for e in result.episodes] == ["S1"]
    # on or after the infusion day the cut-off has the subject: both in, nothing left out
    later = derive_relapses(rel, infused, cutoff=date(2021, 8, 1))  # type: ignore[arg-type]
    assert later.table["subject_id"].tolist() == ["S1", "S2"]
    assert later.infused_after_cutoff == ()


def test_end_of_follow_up_and_responders_leave_out_a_subject_infused_after_the_cutoff() -> None:
    """The same day-0 rule in every reader that takes a cut-off (D-19.577): `end_of_follow_up` gives no end
    for a subject infused after it, `derive_responders` counts them neither infused nor "without infusion"
    and names them in a note."""
    from datetime import date

    import pandas as pd

    from cartrial.neuro import derive_responders, end_of_follow_up

    infused = {"S1": date(2021, 1, 2), "S2": date(2021, 8, 1)}
    cut = date(2021, 7, 1)
    assert end_of_follow_up(infused, cutoff=cut).last_assessment == {"S1": cut}
    form = "subject_id,infused_at,last_assessed_at\nS1,2021-01-02,2021-06-01\nS2,2021-08-01,2021-06-20\n"
    assert end_of_follow_up(form, cutoff=cut).last_assessment == {"S1": date(2021, 6, 1)}
    visits = pd.DataFrame({"subject_id": ["S1", "S2"], "assessed_at": ["2021-05-01", "2021-06-20"]})
    assert end_of_follow_up(infused, assessments=[visits], cutoff=cut).last_assessment == {
        "S1": date(2021, 5, 1)
    }
    fs = {"visual": 0, "brainstem": 0, "cerebellar": 0, "sensory": 0, "cerebral": 0, "ambulation": 1}
    edss = pd.DataFrame(
        [
            {"subject_id": sid, "assessed_at": when, "pyramidal": pyr, "bowel_bladder": bb, **fs}
            for sid, when, pyr, bb in [
                ("S1", "2021-01-01", 3, 2),
                ("S1", "2021-06-01", 2, 1),
                ("S2", "2021-01-01", 3, 2),
                ("S2", "2021-06-01", 3, 2),
            ]
        ]
    )
    result = derive_responders(infused, edss=edss, definitions=["bowel_bladder_fs_decrease_1"], cutoff=cut)
    assert result.table[["n_evaluable", "n_responders"]].values.tolist() == [[1, 1]]
    assert result.n_infused == 1
    assert result.infused_after_cutoff == ("S2",)
    assert result.subjects_without_infusion == ()
    assert "1 subject infused after the data cut-off 2021-07-01 is left out: S2" in result.notes
