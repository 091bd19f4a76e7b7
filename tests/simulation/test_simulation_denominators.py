"""The per-trial metrics of `simulate trial` count what the trial's analysis would report (D-19.98, D-19.99):
persistence among the patients observed beyond the persistence day (D-19.87), EDSS improvement among the
patients with a post-baseline EDSS, the trial's duration to the end of its last patient's follow-up whatever
ended it (a dropout too), and the deaths in the operating-characteristics table."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from tests.conftest import property_examples

from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare, simulate_trials, summarise
from cartrial.simulation.oc import edss_probability_text
from cartrial.simulation.trials import DAYS_PER_MONTH, TrialBatch

from .test_simulated_death import DEADLY

#: a dropout hazard of 10 a year (the scenario's largest): P(followed beyond day 180) = exp(-10·180/365.25)
#: ≈ 0.7 %, P(beyond day 28, the first post-baseline EDSS) ≈ 46 %, P(beyond 365 days) ≈ 0.005 %
LEAKY = {"dropout": {"hazard_per_year": 10.0}}
#: an LLOQ far below any Stein 2019 level on day 180: every patient's CAR-T persists there
EVERYONE_PERSISTS = {"kinetics": {"lloq_copies_per_ug": 1e-12}}


def _run(make_scenario, changes, trials=300, seed=1):
    scenario, protocol = load_scenario(make_scenario(changes))
    prepared = prepare(scenario, load_protocol(protocol), 0)
    return simulate_trials(prepared, trials, seed=seed)


def test_persistence_is_a_proportion_of_the_patients_observed_beyond_the_day(make_scenario):
    """Every patient persists biologically, most drop out before day 180: the analysis would report k of k
    among those sampled after the day (D-19.87), i.e. 100 % wherever anyone is evaluable, and no proportion
    (0 of 0) in a trial where nobody is. Before, every dropout counted with its unobserved (drawn) level:
    100 % in every trial, also those where nobody was seen beyond the day."""
    metrics = _run(make_scenario, {**LEAKY, **EVERYONE_PERSISTS}).metrics
    pct = metrics["pct_persistence"]
    defined = np.isfinite(pct)
    assert defined.any() and (~defined).any()  # (seed 1) both cases occur
    assert (pct[defined] == 100.0).all()


def test_a_cut_off_before_any_patient_reaches_the_day_leaves_no_proportion(make_scenario):
    """A cut-off on study day 180 (day 0 = the first screening, before any infusion) ends every follow-up
    by day 180, and one on day 28 before the first post-baseline EDSS (day 28 of the protocol): nobody is
    evaluable, so no proportion (the analysis at that cut-off would report 0 of 0). Before: a persistence %
    from the unobserved drawn levels, and 0 % EDSS improvement."""
    persistence = _run(make_scenario, {"data_cutoff_day": 180.0}, trials=100).metrics
    assert (persistence["n_treated"] > 0).any()  # (only the patients infused by the cut-off, D-19.291)
    assert np.isnan(persistence["pct_persistence"]).all()
    edss = _run(make_scenario, {"data_cutoff_day": 28.0}, trials=100).metrics
    assert np.isnan(edss["pct_edss_improved"]).all()
    # relapse-free at last follow-up: every patient in the data, none in a trial with nobody infused yet
    assert np.array_equal(np.isfinite(edss["pct_relapse_free"]), edss["n_treated"] > 0)


def test_the_treated_denominator_is_the_named_alternative(make_scenario):
    """`metric_denominator: treated` is the earlier rule: every treated patient in the denominator, one not
    observed beyond the day with the level drawn for it — with everyone persisting, 100 % in every trial."""
    metrics = _run(make_scenario, {**LEAKY, **EVERYONE_PERSISTS, "metric_denominator": "treated"}).metrics
    assert (metrics["pct_persistence"] == 100.0).all()


def test_a_death_before_any_assessment_leaves_no_evaluable_patient(make_scenario):
    """Every patient dies of a CRS on day 2 (test_simulated_death): nobody has a post-baseline EDSS (day 28)
    or is observed beyond day 180, so the analysis would report no proportion (0 of 0), not 0 %."""
    changes = {
        **DEADLY,
        "dropout": {"hazard_per_year": 0.0},
        "toxicity": {
            "crs": {
                "intercepts": [30.0, 30.0, 30.0, 30.0, 30.0],
                "onset_days": {"median": 2, "sd_log": 0.0, "max": 27},
                "duration_days": {"median": 1, "sd_log": 0.0, "max": 30},
            }
        },
    }
    batch = _run(make_scenario, changes, trials=100)
    metrics = batch.metrics
    assert (metrics["n_treated"] > 0).all()
    assert np.isnan(metrics["pct_persistence"]).all()
    assert np.isnan(metrics["pct_edss_improved"]).all()
    # no trial has a value: the probability has no denominator, not 0 % (D-19.131)
    assert np.isnan(metrics["edss_half_improved"]).all()
    summary = summarise(batch).summary
    assert summary["p_edss_improved_half_n_trials"] == 0 and np.isnan(summary["p_edss_improved_half_pct"])
    assert edss_probability_text(summary).endswith(": no trial with an EDSS-evaluable patient")
    # the OC table keeps the row, with no trial contributing (n_trials 0), and shows the deaths
    rows = summarise(batch).metrics.set_index("metric")
    assert rows.loc["pct_persistence", "n_trials"] == 0
    assert rows.loc["n_deaths", "mean"] == pytest.approx(metrics["n_treated"].mean())


def test_a_dropout_ends_the_trial_when_its_last_patient_leaves(make_scenario):
    """The trial ends when its last patient's follow-up ends (docs/simulation.md §6), whatever ended it: with
    a dropout hazard of 10 a year nearly every patient leaves before the 365 days, so the trial ends before
    the last infusion + 365 days and never before the last infusion. Before, a dropout did not shorten it:
    always the last infusion + 365 days (no cut-off, no death)."""
    metrics = _run(make_scenario, LEAKY).metrics
    after_last = (metrics["duration_months"] - metrics["enrolment_months"]) * DAYS_PER_MONTH
    assert (after_last >= -1e-9).all() and (after_last <= 365 + 1e-9).all()
    assert np.mean(after_last < 365 - 1e-6) > 0.99


def test_deaths_are_an_operating_characteristic(make_scenario):
    """`n_deaths` (D-19.97) is a row of the OC table and a column of trials.csv."""
    from cartrial.simulation import trials_table

    batch = _run(make_scenario, DEADLY, trials=200)
    rows = summarise(batch).metrics.set_index("metric")
    assert rows.loc["n_deaths", "label"] == "deaths"
    assert rows.loc["n_deaths", "mean"] == pytest.approx(batch.metrics["n_deaths"].mean())
    assert rows.loc["n_deaths", "mean"] > 0  # the deadly scenario's grade-5 CRS
    assert "n_deaths" in trials_table(batch).columns


# --- properties of the denominator rule (pure functions) ---------------------------------------------------

follow_days = st.one_of(st.just(np.nan), st.floats(0.0, 1000.0), st.just(np.inf))
rows = hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 12)), elements=follow_days)


@settings(max_examples=property_examples(200), deadline=None)
@given(follow=rows, data=st.data())
def test_an_evaluable_denominator_never_exceeds_the_patients_treated(follow, data):
    from cartrial.simulation.trials import evaluable_pct, evaluable_slots

    hits = data.draw(hnp.arrays(np.bool_, follow.shape))
    treated = np.isfinite(follow) | np.isposinf(follow)  # NaN = a slot not treated
    for rule in ("evaluable", "treated"):
        evaluable = evaluable_slots(treated, follow, 180.0, rule, beyond=True)
        assert (evaluable.sum(axis=1) <= treated.sum(axis=1)).all()
        assert not (evaluable & ~treated).any()
        pct = evaluable_pct(hits, evaluable)
        defined = evaluable.any(axis=1)
        assert np.isnan(pct[~defined]).all()
        assert ((pct[defined] >= 0) & (pct[defined] <= 100)).all()


@settings(max_examples=property_examples(200), deadline=None)
@given(follow=rows, data=st.data())
def test_a_dropout_after_the_persistence_day_never_changes_the_proportion(follow, data):
    """Moving the end of follow-up of a patient observed beyond day 180 to any later or earlier day still
    beyond it (a dropout after the day, or none) leaves the persistence proportion as it was."""
    from cartrial.simulation.trials import evaluable_pct, evaluable_slots

    hits = data.draw(hnp.arrays(np.bool_, follow.shape))
    treated = ~np.isnan(follow)
    before = evaluable_pct(hits, evaluable_slots(treated, follow, 180.0, "evaluable", beyond=True))
    beyond = treated & (follow > 180.0)
    moved = follow.copy()
    moved[beyond] = data.draw(
        hnp.arrays(np.float64, int(beyond.sum()), elements=st.floats(180.5, 5000.0) | st.just(np.inf))
    )
    after = evaluable_pct(hits, evaluable_slots(treated, moved, 180.0, "evaluable", beyond=True))
    np.testing.assert_array_equal(before, after)


@settings(max_examples=property_examples(100), deadline=None)
@given(follow=rows, data=st.data())
def test_with_everyone_observed_both_denominators_agree(follow, data):
    """When every treated patient is observed beyond the day, evaluable = treated."""
    from cartrial.simulation.trials import evaluable_pct, evaluable_slots

    hits = data.draw(hnp.arrays(np.bool_, follow.shape))
    follow = np.where(np.isnan(follow), np.nan, 181.0 + np.nan_to_num(follow, posinf=0.0))
    treated = ~np.isnan(follow)
    a = evaluable_pct(hits, evaluable_slots(treated, follow, 180.0, "evaluable", beyond=True))
    b = evaluable_pct(hits, evaluable_slots(treated, follow, 180.0, "treated", beyond=True))
    np.testing.assert_array_equal(a, b)


def test_the_edss_probability_is_over_the_trials_with_a_value(make_scenario):
    """D-19.131: "P(≥ 50 % with EDSS improvement)" counted a trial with no EDSS-evaluable patient (no
    proportion, D-19.98) as a failure, while the metric's mean and quantiles left it out. With the leaky
    dropout (≈ 46 % followed to day 28) and a cut-off on study day 200, some trials have nobody evaluable;
    the probability is now the share of the trials with a value whose proportion is ≥ 50 %, counted here
    from the per-trial proportions, and its denominator is stated."""
    batch = _run(make_scenario, {**LEAKY, "data_cutoff_day": 200.0}, trials=300)
    pct = batch.metrics["pct_edss_improved"]
    defined = np.isfinite(pct)
    assert defined.any() and (~defined).any()  # (seed 1) both cases occur
    assert (pct[defined] >= 50.0).any()  # and some successes
    half = batch.metrics["edss_half_improved"]
    assert np.array_equal(np.isfinite(half), defined)  # no value where the proportion has none
    oc = summarise(batch)
    expected = 100.0 * np.count_nonzero(pct[defined] >= 50.0) / np.count_nonzero(defined)
    assert oc.summary["p_edss_improved_half_n_trials"] == np.count_nonzero(defined)
    assert oc.summary["p_edss_improved_half_pct"] == pytest.approx(expected)
    row = oc.metrics.set_index("metric").loc["pct_edss_improved"]
    assert row["n_trials"] == oc.summary["p_edss_improved_half_n_trials"]  # the same trials as the mean
    assert edss_probability_text(oc.summary).endswith(
        f"of the {np.count_nonzero(defined)} trials with an EDSS-evaluable patient"
    )


@settings(max_examples=property_examples(40), deadline=None)
@given(hnp.arrays(float, st.integers(1, 30), elements=st.sampled_from([np.nan, 0.0, 1.0])))
def test_the_probability_leaves_out_the_trials_without_a_value(half):
    """Any mix of trials with (1 or 0) and without (nan) a value: the probability is k of the defined."""
    trials = half.size
    batch = TrialBatch(
        trials=trials,
        seed=0,
        n_doses=1,
        slot_dose=np.zeros((trials, 1), dtype=np.int64),
        mtd=np.zeros(trials, dtype=np.int64),
        safety_stop=np.zeros(trials, dtype=bool),
        n=np.ones((trials, 1)),
        y=np.zeros((trials, 1)),
        metrics={"edss_half_improved": half, "n_crs_grade3plus": np.zeros(trials)},
        seconds=0.0,
    )
    oc = summarise(batch)
    defined = half[np.isfinite(half)]
    assert oc.summary["p_edss_improved_half_n_trials"] == defined.size
    if defined.size:
        assert oc.summary["p_edss_improved_half_pct"] == pytest.approx(100.0 * (defined == 1.0).mean())
    else:
        assert np.isnan(oc.summary["p_edss_improved_half_pct"])
