"""The OC's EDSS change of a patient who dies is the written study's (review of simfix, finding 7).

The OC drew the post-infusion relapse onsets over the follow-up ending at the death, the study over the
follow-up as if alive (its records after the death are then left out, D-19.97): the same uniforms spread
over different spans, so onsets, FS steps and the EDSS at the last visit differed (every patient dying on
day 200.5, regression_to_mean 30, seed 2: 4 of 46 treated). Both paths are run here on the same draws:
the study's, handed to the OC's batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tests.simulation.conftest import EXAMPLE

from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare, study, trials
from cartrial.simulation.study import simulate_study
from cartrial.simulation.trials import max_cohorts, reserve_slots

DEATH_DAY = 200.5


def test_the_edss_change_of_dying_patients_is_the_same_in_the_oc_and_the_study(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scenario, protocol = load_scenario(EXAMPLE / "scenario.yaml")
    scenario = scenario.model_copy(
        update={"efficacy": scenario.efficacy.model_copy(update={"regression_to_mean": 30.0})}
    )
    prepared = prepare(scenario, load_protocol(protocol), 2)

    def dying(draws: Any, slot_dose: np.ndarray) -> np.ndarray:
        return np.where(slot_dose >= 0, DEATH_DAY, np.inf)

    monkeypatch.setattr(trials, "death_days", dying)
    monkeypatch.setattr(study, "death_days", dying)
    seen: dict[str, Any] = {}
    draw, efficacy = trials.draw_with_reserve, trials._efficacy

    def keep_draws(*args: Any) -> Any:
        seen["draws"] = draw(*args)
        return seen["draws"]

    def keep(name: str) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            seen[name] = efficacy(*args, **kwargs)
            return seen[name]

        return wrapped

    monkeypatch.setattr(study, "draw_with_reserve", keep_draws)
    monkeypatch.setattr(study, "_efficacy", keep("study"))
    simulate_study(prepared, 2)
    size = int(prepared.design.cohort_size)
    cohorts = max_cohorts(prepared)
    reserve = reserve_slots(prepared, cohorts, size)
    slots = seen["draws"].dlt.shape[1] - reserve
    monkeypatch.setattr(trials, "draw_with_reserve", lambda *args: seen["draws"])
    monkeypatch.setattr(trials, "_efficacy", keep("oc"))
    trials._simulate_batch(prepared, np.random.default_rng(0), 1, slots, size, cohorts, reserve)
    oc, written = seen["oc"]["edss_change"][0], seen["study"]["edss_change"][0]
    treated = np.isfinite(written)
    assert treated.sum() > 10
    assert np.array_equal(np.isfinite(oc), treated)
    assert oc[treated].tolist() == written[treated].tolist()
    # the relapses counted are those by the death, in both
    assert seen["oc"]["relapses"][0][treated].tolist() == seen["study"]["relapses"][0][treated].tolist()
