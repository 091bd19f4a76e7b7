"""One rule for the DLTs a virtual patient is seen to have by the last day followed (D-19.312): the
design's (`observed_dlts`, followed to the dropout or death) and the data cut-off's per-trial count
(`_dlts_by`, followed to the dropout, death, end of follow-up or cut-off) read the courses alike."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial import examples
from cartrial.protocol import load_protocol
from cartrial.simulation import trials as t
from cartrial.simulation.scenario import load_scenario

EXAMPLE = examples.path("ct103a-nmosd")


@pytest.fixture(scope="module")
def prepared() -> t.Prepared:
    scenario, protocol_path = load_scenario(EXAMPLE / "scenario.yaml")
    # a toxic scenario (many graded events, many of them DLTs) and a small pool: quick to prepare
    tox = scenario.toxicity.model_copy(
        update={
            "crs": scenario.toxicity.crs.model_copy(
                update={"intercepts": [x + 3.0 for x in scenario.toxicity.crs.intercepts]}
            )
        }
    )
    scenario = scenario.model_copy(update={"pool_size": 200, "toxicity": tox})
    return t.prepare(scenario, load_protocol(protocol_path), 3)


def _draws(prepared: t.Prepared, seed: int, trials: int, slots: int, dropout_scale: float) -> t.PatientDraws:
    rng = np.random.default_rng(seed)
    draws = t.draw_patients(prepared, rng, trials, slots)
    # dropouts inside the events' courses: many courses cut short
    return replace(draws, dropout_days=rng.exponential(dropout_scale, size=(trials, slots)))


@settings(
    max_examples=property_examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(1.0, 60.0))
def test_cutoff_count_is_the_designs_rule(prepared: t.Prepared, seed: int, scale: float) -> None:
    trials, slots = 20, 12
    draws = _draws(prepared, seed, trials, slots, scale)
    rng = np.random.default_rng(seed + 1)
    slot_dose = rng.integers(-1, prepared.n_doses, size=(trials, slots))
    seen, _evaluable = t.observed_dlts(prepared, draws)
    rows, cols = np.arange(trials)[:, None], np.arange(slots)[None, :]
    k = np.maximum(slot_dose, 0)
    treated = slot_dose >= 0
    # followed to the dropout or the death at the slot's dose: what `observed_dlts` follows to
    follow = np.minimum(draws.dropout_days, t.death_days(draws, slot_dose))
    follow = np.where(treated, follow, np.nan)
    expected = (seen[rows, cols, k] & treated).sum(axis=1).astype(float)
    np.testing.assert_array_equal(t._dlts_by(prepared, draws, slot_dose, follow), expected)
