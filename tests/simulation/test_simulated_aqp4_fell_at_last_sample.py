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
from cartrial.simulation import load_scenario, prepare

#: the days `simulate study` writes a PD sample on (its schedule, read off the written pd_samples form)
SAMPLE_DAYS = (-7, 14, 28, 90, 180, 270, 365, 545, 730)


def test_the_study_samples_on_these_days(make_scenario: Callable[..., Path]) -> None:
    scenario, protocol = load_scenario(make_scenario({"dropout": {"hazard_per_year": 0.0}}))
    forms = study_module.simulate_study(prepare(scenario, load_protocol(protocol), 1), 1).forms
    assert set(forms["pd_samples"]["nominal_day"].astype(int)) <= set(SAMPLE_DAYS)


def test_aqp4_fell_is_read_at_the_last_pd_sample_followed(
    make_scenario: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A high dropout (most patients leave between two sample days) and deaths (CRS intercepts raised):
    the OC's value of each patient of the written study is the model's titre at the last PD sample the
    study wrote for that patient (the pd_samples form, not a recomputed end of follow-up)."""
    changes = {
        "dropout": {"hazard_per_year": 3.0},
        "pool_size": 300,
        "accrual": {"candidates_per_month": 20},
        "design": {"expansion_patients": 60},
        "toxicity": {"crs": {"intercepts": [5.0, 4.0, 3.0, 2.5, 2.0]}},
    }
    scenario, protocol = load_scenario(make_scenario(changes))
    prepared = prepare(scenario, load_protocol(protocol), 1)
    seen: list[tuple[Any, ...]] = []
    efficacy = study_module._efficacy

    def spy(*args: Any) -> dict[str, np.ndarray]:
        out = efficacy(*args)
        seen.append((out, *args))
        return out

    monkeypatch.setattr(study_module, "_efficacy", spy)
    forms = study_module.simulate_study(prepared, 2).forms
    eff, _prepared, draws, slot_dose, alive, infusion, _visit_end, death = seen[0]
    infused = (slot_dose[0] >= 0) & np.isfinite(infusion[0])
    order = [int(s) for s in np.argsort(np.where(infused, infusion[0], np.inf)) if infused[s]]
    last_written = forms["pd_samples"].groupby("subject_id")["nominal_day"].max().astype(int).to_dict()
    width = max(3, len(str(len(order))))  # the study's subject ids
    steps = scenario.pd.titre_fall_steps
    between = deaths = 0
    for j, s in enumerate(order):
        day = last_written[f"SIM-{j + 1:0{width}d}"]
        course = prepared.antibody[draws.pool_index[0, s], slot_dose[0, s]]
        fell = bool(np.log10(course[min(max(day, 0), course.size - 1)]) <= -steps)
        assert eff["aqp4_fell"][0, s] == float(fell), (s, day)
        end = min(float(alive[0, s]), float(death[0, s]))
        deaths += bool(np.isfinite(death[0, s]) and death[0, s] <= alive[0, s])
        between += day < int(end)
    assert between > 0 and deaths > 0  # patients who left or died between two sample days: the check bites


def test_a_death_on_a_pd_sample_day_ends_the_samples_as_the_study_writes_them() -> None:
    """Site time UTC, accrual start 08:00 UTC, so infusion day 0.125 is 11:00 and day 0.0 is 08:00.
    `simulate study` takes a PD sample on day d at the infusion's clock time (D-19.229) and records a death
    at 10:00 of the death's site day, leaving out every record after it (D-19.97):
    - infused 11:00, dies 90.5 days later (day 90, 23:00): the day-90 sample (11:00) is after the death's
      10:00 record, not written: the last sample is day 28;
    - infused 08:00, dies 89.9 days later (day 90, 05:36): the day-90 sample (08:00) is before the 10:00
      record, written: the last sample is day 90;
    - infused 11:00, dies 100 days later: the day-90 sample is written; no death: the follow-up's end."""
    from cartrial import examples

    sc, _ = load_scenario(examples.path("ct103a-nmosd") / "scenario.yaml")
    utc = sc.model_copy(update={"accrual": sc.accrual.model_copy(update={"site_time_zone": "UTC"})})
    follow = np.array([[365.0, 365.0, 365.0, 200.0]])
    death = np.array([[90.5, 89.9, 100.0, np.inf]])
    infusion = np.array([[0.125, 0.0, 0.125, 0.125]])
    end = trials_module.pd_sample_end(utc, follow, death, infusion)
    assert [max(d for d in SAMPLE_DAYS if d <= e) for e in end[0]] == [28, 90, 90, 180]
