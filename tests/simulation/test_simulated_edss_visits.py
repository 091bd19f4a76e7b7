"""The EDSS visits of a virtual patient: one rule for the visits `simulate study` writes and the visit the OC
reads the EDSS change at (D-19.1222, D-19.1223, D-19.1224).

- The FS at a visit (`trials.fs_at_visit`): the improvement from day 90 and one step per relapse with an
  onset on or before the visit, computed by hand below.
- A death: the study dates it at 10:00 of the site's calendar date of the infusion + the death's day and
  writes each EDSS visit at 09:00, leaving out every record after the death; so the visit of the death's
  site day is written. Infused at 20:00 and dead 89.5 days later, the patient dies at 08:00 on site day 90:
  the day-90 visit is written and is his last EDSS (before, the OC read day 28, the last visit on or before
  the fractional day 89.5). Infused at 08:00, he dies at 20:00 on site day 89: day 28 is his last.
- The EDSS-evaluable patients of the OC: those with a post-baseline EDSS visit written (`EDSS_DAYS`, what the
  study writes), not the protocol's schedule: a protocol without an EDSS visit before day 180 still has the
  written day-28 and day-90 visits, and the OC's improvement does not change with that schedule."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import cartrial.simulation.study as study_module
from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare, simulate_trials
from cartrial.simulation.trials import FsChanges, edss_visit_end, fs_at_visit, last_edss_visit_day

from .conftest import EXAMPLE


def test_the_fs_at_a_visit_by_hand() -> None:
    """Baseline FS (visual, brainstem, pyramidal, cerebellar, sensory, bowel/bladder, cerebral) 2 1 3 0 2 1 0;
    the visual and sensory FS improve (affected FS: visual, pyramidal, sensory, bowel/bladder); relapse
    steps: the 1st on the pyramidal FS, the 2nd none (recovered), the 3rd on the bowel/bladder FS; onsets on
    days 10, 50 and 95."""
    baseline = np.array([[2, 1, 3, 0, 2, 1, 0]])
    step = np.zeros((1, 8), dtype=bool)
    step[0, [0, 2]] = True
    column = np.zeros((1, 8), dtype=np.int64)
    column[0, 0], column[0, 2] = 2, 5
    changes = FsChanges(np.array([[True, False, True, False]]), step, column)
    onsets = [[10.0, 50.0, 95.0]]

    def at(day: float) -> list[int]:
        return fs_at_visit(baseline, changes, np.array([day]), onsets)[0].tolist()

    assert at(np.nan) == [2, 1, 3, 0, 2, 1, 0]  # no visit: the baseline
    assert at(28) == [2, 1, 4, 0, 2, 1, 0]  # the day-10 step; no improvement before day 90
    assert at(90) == [1, 1, 4, 0, 1, 1, 0]  # improvement of visual and sensory; day 50 recovered
    assert at(180) == [1, 1, 4, 0, 1, 2, 0]  # the day-95 step on bowel/bladder


@pytest.mark.parametrize(
    ("infused_hour", "death_day", "last_visit"),
    [(20, 89.5, 90.0), (8, 89.5, 28.0), (20, 27.5, 28.0), (8, 27.5, np.nan), (20, 400.0, 365.0)],
)
def test_the_last_edss_visit_of_a_patient_who_dies(
    infused_hour: int, death_day: float, last_visit: float
) -> None:
    """UTC site; the accrual starts at 08:00 UTC, so infusion day 0.5 is at 20:00 and day 1.0 at 08:00.
    Followed (alive) to day 365; the death on day 400 is after it, not seen."""
    scenario, _ = load_scenario(EXAMPLE / "scenario.yaml")
    utc = scenario.model_copy(
        update={"accrual": scenario.accrual.model_copy(update={"site_time_zone": "UTC"})}
    )
    infusion = np.array([[0.5 if infused_hour == 20 else 1.0]])
    end = edss_visit_end(utc, np.array([[365.0]]), np.array([[death_day]]), infusion)
    np.testing.assert_array_equal(last_edss_visit_day(end), np.array([[last_visit]]))


def _written_visit_days(forms: dict[str, pd.DataFrame], zone: str) -> dict[str, set[int]]:
    """Study days of each subject's written post-baseline EDSS visits: the site date minus the infusion's
    site date (the written records, read independently of the simulator)."""
    tz = zoneinfo.ZoneInfo(zone)
    day0 = {
        str(sid): pd.Timestamp(at).tz_convert(tz).date()
        for sid, at in zip(forms["infusions"]["subject_id"], forms["infusions"]["infused_at"], strict=True)
    }
    out: dict[str, set[int]] = {}
    for sid, at in zip(forms["edss"]["subject_id"], forms["edss"]["assessed_at"], strict=True):
        day = (pd.Timestamp(at).tz_convert(tz).date() - day0[str(sid)]).days
        if day > 0:
            out.setdefault(str(sid), set()).add(day)
    return out


def test_the_oc_reads_the_last_edss_visit_the_study_writes_before_a_death(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every treated patient dies on day 89.5 (the death days replaced; nobody drops out): the study writes
    the day-90 visit of those who die on site day 90 (infused after 12:00 site time) and not of the others;
    the OC's last EDSS visit (`_efficacy`'s ``edss_visit_day``, the visit its change is read at) is, patient
    for patient, the last visit written."""
    seen: dict[str, Any] = {}
    efficacy = study_module._efficacy

    def spy(*args: Any) -> dict[str, np.ndarray]:
        out = efficacy(*args)
        seen["eff"], seen["slot_dose"], seen["infusion"] = out, args[2], args[4]
        return out

    def deaths(_draws: Any, slot_dose: np.ndarray) -> np.ndarray:
        return np.where(slot_dose >= 0, 89.5, np.inf)

    monkeypatch.setattr(study_module, "_efficacy", spy)
    monkeypatch.setattr(study_module, "death_days", deaths)
    scenario, protocol = load_scenario(EXAMPLE / "scenario.yaml")
    changed = scenario.model_copy(
        update={
            "dropout": scenario.dropout.model_copy(update={"hazard_per_year": 0.0}),
            "design": scenario.design.model_copy(update={"expansion_patients": 40}),
            "pool_size": 200,
        }
    )
    forms = study_module.simulate_study(prepare(changed, load_protocol(protocol), 2), 2).forms
    written = {
        sid: max(days) for sid, days in _written_visit_days(forms, changed.accrual.site_time_zone).items()
    }
    slot_dose, infusion = seen["slot_dose"][0], seen["infusion"][0]
    infused = (slot_dose >= 0) & np.isfinite(infusion)
    order = [int(s) for s in np.argsort(np.where(infused, infusion, np.inf)) if infused[s]]
    width = max(3, len(str(len(order))))
    oc = {f"SIM-{j + 1:0{width}d}": seen["eff"]["edss_visit_day"][0, s] for j, s in enumerate(order)}
    assert set(written) == {sid for sid, day in oc.items() if np.isfinite(day)}
    assert {sid: float(day) for sid, day in written.items()} == {sid: oc[sid] for sid in written}
    assert sorted(set(written.values())) == [28, 90]  # both cases occur (seed 2): the check means something


def _schedule_without_early_edss() -> list[dict[str, Any]]:
    """The example protocol's visits, EDSS left out of every post-infusion visit before day 180."""
    protocol = yaml.safe_load((EXAMPLE / "protocol.yaml").read_text(encoding="utf-8"))
    visits = protocol["schedule"]["visits"]
    for visit in visits:
        if 0 < visit["study_day"] < 180:
            visit["assessments"] = [a for a in visit["assessments"] if a != "edss"]
    return list(visits)


def test_the_edss_evaluable_patients_are_those_with_a_written_post_baseline_visit(
    make_scenario: Callable[..., Path],
) -> None:
    """A high dropout (most leave before day 180): the written study has their day-28 and day-90 EDSS
    whatever the protocol's schedule says, so the OC's % improved (among those with a post-baseline EDSS)
    is the same with a schedule whose first post-infusion EDSS visit is day 180. Before, the schedule's
    day 180 left out every patient followed to day 28 or 90 only."""
    changes = {"dropout": {"hazard_per_year": 3.0}}

    def improved(path: Path) -> np.ndarray:
        scenario, protocol = load_scenario(path)
        metrics = simulate_trials(prepare(scenario, load_protocol(protocol), 0), 60, seed=3).metrics
        return np.asarray(metrics["pct_edss_improved"])

    default = improved(make_scenario(changes))
    late = improved(make_scenario(changes, {"schedule": {"visits": _schedule_without_early_edss()}}))
    assert np.isfinite(default).sum() > 30
    np.testing.assert_array_equal(late, default)


def test_a_study_under_a_late_edss_schedule_still_writes_day_28(make_scenario: Callable[..., Path]) -> None:
    """What the OC reads is what the study writes: the day-28 EDSS visit is written under that schedule."""
    path = make_scenario({}, {"schedule": {"visits": _schedule_without_early_edss()}})
    scenario, protocol = load_scenario(path)
    forms = study_module.simulate_study(prepare(scenario, load_protocol(protocol), 1), 1).forms
    visits = _written_visit_days(forms, scenario.accrual.site_time_zone)
    assert any(28 in days for days in visits.values())
