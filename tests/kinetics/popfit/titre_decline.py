"""Shared by the titre-censoring and censored-diagnostics tests (issue 17): titres simulated from an
exponential decline (the test model `DECLINE`) and read on the dilution grid, and the fit of that model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cartrial.kinetics.pd import titre_endpoint
from cartrial.kinetics.popfit import PopulationData, SaemSettings, StructuralModel, fit_population


def _decline(params: np.ndarray, times: np.ndarray, dose: np.ndarray) -> np.ndarray:
    """y = a0 · exp(-k·t): a titre declining after a depleting treatment."""
    return np.asarray(params[:, [0]] * np.exp(-params[:, [1]] * np.maximum(times, 0.0)), dtype=float)


DECLINE = StructuralModel(
    name="decline",
    parameters=("a0", "k"),
    units=("titre", "1/day"),
    default_typical=(3000.0, 0.01),
    predict=_decline,
    source="exponential decline (test model)",
)


def titre_table(latent: np.ndarray, days: np.ndarray, subject: str = "S{:03d}") -> pd.DataFrame:
    """The pd_samples-like table of latent titres `latent` (subjects × `days`) read as end-point titres;
    subject ids by the format `subject`."""
    n = latent.shape[0]
    return pd.DataFrame(
        {
            "subject_id": np.repeat([subject.format(i) for i in range(n)], days.size),
            "actual_day": np.tile(days, n),
            "titre": titre_endpoint(np.log10(latent).ravel()),
        }
    )


def fit_decline(data: PopulationData, initial: dict[str, float], k1: int, k2: int) -> Any:
    """The `DECLINE` population fit of `data` (fixed seed, no standard errors)."""
    return fit_population(
        data,
        DECLINE,
        initial=initial,
        settings=SaemSettings(seed=5, k1=k1, k2=k2, is_draws=100, polish_rounds=1, polish_draws=100),
        compute_se=False,
    )
