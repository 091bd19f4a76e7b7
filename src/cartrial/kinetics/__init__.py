"""Cellular kinetics: NCA (PKNCA rules, Phoenix options), the Stein 2019 CAR-T model and our PD model.

Engines are pure: DataFrames and arrays in, results out. Sources: ``shared/reference/cellular-kinetics.md``.
"""

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
    "AucMethod",
    "LambdaZOrder",
    "NcaOptions",
    "NcaResult",
    "PersistenceRule",
    "derived_units",
    "interval_column",
    "nca",
    "nca_arrays",
]
