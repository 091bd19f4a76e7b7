"""Cellular kinetics: NCA (PKNCA rules, Phoenix options), the Stein 2019 CAR-T model and our PD model.

Engines are pure: DataFrames and arrays in, results out. Sources: ``shared/reference/cellular-kinetics.md``.
"""

from cartrial.kinetics.models import (
    STEIN_2019_OMEGA2,
    STEIN_2019_RESIDUAL_SD_LOG,
    STEIN_2019_SOURCE,
    STEIN_2019_TYPICAL,
    STEIN_PARAMETERS,
    FitOptions,
    Stein2019Fit,
    Stein2019Parameters,
    Stein2019Simulation,
    fit_stein2019,
    simulate_stein2019,
    stein2019_concentration,
    typical_auc,
)
from cartrial.kinetics.nca import (
    BLQ_PRESETS,
    PARAMETERS,
    AucMethod,
    LambdaZOrder,
    NcaOptions,
    NcaResult,
    PersistenceRule,
    derived_units,
    interval_column,
    nca,
    nca_arrays,
)

__all__ = [
    "BLQ_PRESETS",
    "PARAMETERS",
    "STEIN_2019_OMEGA2",
    "STEIN_2019_RESIDUAL_SD_LOG",
    "STEIN_2019_SOURCE",
    "STEIN_2019_TYPICAL",
    "STEIN_PARAMETERS",
    "AucMethod",
    "FitOptions",
    "LambdaZOrder",
    "NcaOptions",
    "NcaResult",
    "PersistenceRule",
    "Stein2019Fit",
    "Stein2019Parameters",
    "Stein2019Simulation",
    "derived_units",
    "fit_stein2019",
    "interval_column",
    "nca",
    "nca_arrays",
    "simulate_stein2019",
    "stein2019_concentration",
    "typical_auc",
]
