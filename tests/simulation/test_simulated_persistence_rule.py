"""CAR-T persistence: one rule for the simulator and the analysis (D-19.855).

The analysis (`analysis.kinetics`, via `cartrial.kinetics.persistence_flags`) counts a subject as persisting
when the last quantifiable sample is after the persistence day (default 180) and as evaluable when a sample
was taken after the day (D-19.87). The simulator read the noise-free level *on* the day and counted everyone
followed beyond the day: a patient followed to day 200 was evaluable (and persisting, if the level on day 180
was quantifiable) while the virtual study it writes has no sample after day 180 (samples on days 180 and 270,
`models.PK_DAYS`), so its analysis has no evaluable patient at all."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from cartrial.kinetics import persistence_flags
from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare, simulate_trials
from cartrial.simulation.models import PK_DAYS, persistence_sample_day

from .conftest import EXAMPLE


def test_no_sample_after_the_day_no_evaluable_patient() -> None:
    """Follow-up 200 days: the last sample is day 180 (not after it), so no trial has a persistence
    proportion (0 evaluable: NaN, D-19.98), as the analysis of the written study finds. Before, every trial
    had one (patients followed beyond day 180 were evaluable)."""
    scenario, protocol = load_scenario(EXAMPLE / "scenario.yaml")
    scenario = scenario.model_copy(update={"follow_up_days": 200.0, "pool_size": 100})
    batch = simulate_trials(prepare(scenario, load_protocol(protocol), 1), 20, seed=4)
    assert np.isnan(batch.metrics["pct_persistence"]).all()


def test_the_sample_read_is_the_first_after_the_day() -> None:
    """The simulator reads the level on the first sample after the day (hand-read from `PK_DAYS`)."""
    assert PK_DAYS[PK_DAYS.index(180) + 1] == 270
    assert persistence_sample_day(180.0) == 270.0
    assert persistence_sample_day(30.0) == 60.0
    assert np.isnan(persistence_sample_day(730.0))


days = st.one_of(st.just(float("nan")), st.floats(0, 1000, allow_nan=False))


@given(st.lists(st.tuples(days, days), min_size=1, max_size=20), st.floats(1, 900))
def test_persistence_flags_follow_the_rule(pairs: list[tuple[float, float]], day: float) -> None:
    """Persisting exactly when the last quantifiable sample is after the day; evaluable exactly when a
    sample was; a subject whose last quantifiable sample is among its samples persists only if evaluable."""
    last_q = np.array([q for q, _ in pairs])
    last_s = np.array([max(q, s) if not np.isnan(q) else s for q, s in pairs])
    persisting, evaluable = persistence_flags(last_q, last_s, day)
    for q, s, p, e in zip(last_q, last_s, persisting, evaluable, strict=True):
        assert p == (not np.isnan(q) and q > day)
        assert e == (not np.isnan(s) and s > day)
        assert not p or e
