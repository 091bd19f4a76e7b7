"""The functional systems of a virtual patient are capped at the neuro engine's FS maxima (Kurtzke 1983:
visual 6, brainstem 5, pyramidal 6, cerebellar 5, sensory 6, bowel/bladder 6, cerebral 5), one definition
(`cartrial.neuro.edss_scale.FS_MAX`) read by the population's draw and the relapse steps (D-19.1226): a
change of the engine's maxima is the simulation's too."""

from __future__ import annotations

import numpy as np
import pytest

import cartrial.neuro.edss_scale as edss_scale
from cartrial.simulation.population import FS_COLUMNS, functional_systems
from cartrial.simulation.trials import FsChanges, fs_at

KURTZKE = {
    "visual": 6,
    "brainstem": 5,
    "pyramidal": 6,
    "cerebellar": 5,
    "sensory": 6,
    "bowel_bladder": 6,
    "cerebral": 5,
}


def test_a_severe_population_reaches_the_kurtzke_maxima() -> None:
    fs, _ = functional_systems(np.full(50, 30.0), np.random.default_rng(0))
    assert fs.max(axis=0).tolist() == [KURTZKE[name] for name in FS_COLUMNS]


def test_the_simulation_reads_the_neuro_engines_maxima(monkeypatch: pytest.MonkeyPatch) -> None:
    lower = {name: 3 for name in KURTZKE}
    monkeypatch.setattr(edss_scale, "FS_MAX", lower)
    fs, _ = functional_systems(np.full(50, 30.0), np.random.default_rng(0))
    assert fs.max() == 3
    # a relapse step on the pyramidal FS (grade 3) stays at the engine's maximum
    step = np.zeros((1, 8), dtype=bool)
    step[0, 0] = True
    changes = FsChanges(np.zeros((1, 4), dtype=bool), step, np.full((1, 8), 2, dtype=np.int64))
    after = fs_at(np.array([[0, 0, 3, 0, 0, 0, 0]]), changes, np.zeros(1, dtype=bool), np.array([1]))
    assert after[0].tolist() == [0, 0, 3, 0, 0, 0, 0]
