"""A data cut-off is the date of the analysis: a patient infused after it is not in the data (D-19.291).
`simulate study` writes only the patients infused by the cut-off; `simulate trial`'s per-trial metrics
counted every patient the design would eventually treat — with their CRS, DLTs, relapse-free status (no
follow-up: relapse-free) and the last infusion long after the cut-off."""

from __future__ import annotations

import numpy as np

from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare, simulate_trials
from cartrial.simulation.trials import DAYS_PER_MONTH

CUTOFF = 300.0


def _pair(make_scenario, trials=150, seed=3):
    """The same trials (same seed) without and with a cut-off: the escalation and calendar are the same."""
    out = []
    for changes in ({}, {"data_cutoff_day": CUTOFF}):
        scenario, protocol = load_scenario(make_scenario(changes))
        prepared = prepare(scenario, load_protocol(protocol), 0)
        out.append(simulate_trials(prepared, trials, seed=seed))
    return out


def test_patients_infused_after_the_cut_off_are_not_counted(make_scenario):
    full, cut = _pair(make_scenario)
    np.testing.assert_array_equal(full.slot_dose, cut.slot_dose)  # the same escalation
    assert full.infusion_day is not None and cut.infusion_day is not None
    np.testing.assert_array_equal(full.infusion_day, cut.infusion_day)  # and the same calendar
    in_data = (cut.slot_dose >= 0) & (np.nan_to_num(cut.infusion_day, nan=np.inf) <= CUTOFF)
    assert (in_data.sum(axis=1) < (cut.slot_dose >= 0).sum(axis=1)).any()  # (seed 3) some are after it
    np.testing.assert_array_equal(cut.metrics["n_treated"], in_data.sum(axis=1))
    m = cut.metrics
    assert (m["n_crs_any"] <= m["n_treated"]).all() and (m["n_dlt"] <= m["n_treated"]).all()
    assert (m["n_dlt"] <= full.metrics["n_dlt"]).all()
    # the last infusion in the data is by the cut-off, and the trial (to the cut-off) not shorter
    finite = np.isfinite(m["enrolment_months"])
    assert (m["enrolment_months"][finite] * DAYS_PER_MONTH <= CUTOFF + 1e-9).all()
    assert (m["duration_months"][finite] >= m["enrolment_months"][finite]).all()
    # a trial with nobody infused by the cut-off has no proportion (0 of 0), not 0 % or 100 %
    nobody = in_data.sum(axis=1) == 0
    for name in ("pct_crs_any", "pct_icans_any", "pct_relapse_free", "pct_aqp4_fell"):
        assert np.isnan(m[name][nobody]).all()
        assert np.isfinite(m[name][~nobody]).all()


def test_a_cut_off_after_the_trial_changes_nothing(make_scenario):
    """A cut-off after every follow-up has ended leaves every patient and event in the data: every metric is
    the one without a cut-off, and the DLTs seen by the patients' last day (judged again on the observed
    course) are the design's own count, replacements included."""
    scenario, protocol = load_scenario(make_scenario({"dropout": {"hazard_per_year": 2.0}}))
    prepared = prepare(scenario, load_protocol(protocol), 0)
    full = simulate_trials(prepared, 120, seed=4)
    scenario, protocol = load_scenario(
        make_scenario({"dropout": {"hazard_per_year": 2.0}, "data_cutoff_day": 36_500.0})
    )
    late = simulate_trials(prepare(scenario, load_protocol(protocol), 0), 120, seed=4)
    np.testing.assert_array_equal(late.metrics["n_dlt"], full.y.sum(axis=1))
    assert full.y.sum() > 0
    for name, values in full.metrics.items():
        np.testing.assert_array_equal(late.metrics[name], values, err_msg=name)
