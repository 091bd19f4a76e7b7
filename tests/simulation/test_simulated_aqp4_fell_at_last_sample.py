"""The OC's "% with AQP4-IgG falling" reads the titre where the written study has one: at the last PD sample
day (`simulate study`'s schedule -7, 14, 28, 90, 180, 270, 365, 545, 730) on or before the end of the
patient's follow-up (the dropout, the end of follow-up, the cut-off or the death), as persistence reads the
last PK sample (D-19.855, D-19.1321). Before, it read the model's titre on the last day followed: a patient
who left on day 170 was counted on a day-170 titre no sample of the study holds (its last is day 90)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import cartrial.simulation.study as study_module
import cartrial.simulation.trials as trials_module
from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare, simulate_trials

#: the days `simulate study` writes a PD sample on (its schedule, read off the written pd_samples form)
SAMPLE_DAYS = (-7, 14, 28, 90, 180, 270, 365, 545, 730)


def test_the_study_samples_on_these_days(make_scenario: Callable[..., Path]) -> None:
    scenario, protocol = load_scenario(make_scenario({"dropout": {"hazard_per_year": 0.0}}))
    forms = study_module.simulate_study(prepare(scenario, load_protocol(protocol), 1), 1).forms
    assert set(forms["pd_samples"]["nominal_day"].astype(int)) <= set(SAMPLE_DAYS)


def test_aqp4_fell_is_read_at_the_last_pd_sample_followed(
    make_scenario: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A high dropout: most patients leave between two sample days."""
    scenario, protocol = load_scenario(make_scenario({"dropout": {"hazard_per_year": 3.0}}))
    prepared = prepare(scenario, load_protocol(protocol), 1)
    seen: list[tuple[Any, ...]] = []
    efficacy = trials_module._efficacy

    def spy(*args: Any) -> dict[str, np.ndarray]:
        out = efficacy(*args)
        seen.append((out, *args))
        return out

    monkeypatch.setattr(trials_module, "_efficacy", spy)
    simulate_trials(prepared, 40, seed=2)
    eff, _prepared, draws, slot_dose, alive, _infusion, _visit_end, death = seen[0]
    t_idx, s_idx = np.nonzero(slot_dose >= 0)
    steps = scenario.pd.titre_fall_steps
    differ = 0
    for t, s in zip(t_idx, s_idx, strict=True):
        end = min(float(alive[t, s]), float(death[t, s]))
        day = max(d for d in SAMPLE_DAYS if d <= end)
        course = prepared.antibody[draws.pool_index[t, s], slot_dose[t, s]]
        fell = bool(np.log10(course[min(max(day, 0), course.size - 1)]) <= -steps)
        assert eff["aqp4_fell"][t, s] == float(fell), (t, s, end, day)
        at_end = bool(np.log10(course[min(int(end), course.size - 1)]) <= -steps)
        differ += at_end != fell
    assert differ > 0  # the last day followed and the last sample disagree for some: the check bites
