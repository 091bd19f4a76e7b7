"""The PK/PD form contract owned by the kinetics area: template columns, nominal days and units.

These are the columns of ``docs/templates/pk_samples.csv`` and ``docs/templates/pd_samples.csv`` (described
in ``docs/templates/kinetics.md``), the nominal sampling days of the reference study, the unit of each analyte
and the time units the NCA accepts. The store's import (`cartrial.store.importing.forms`), the example-data
generator (`cartrial.kinetics.synthetic`) and the benchmark generator (`cartrial.store.importing.synthetic`)
read them from here, so the contract is declared once, beside the engine that analyses the forms.

>>> PK_COLUMNS[:3]
('subject_id', 'analyte', 'assay')
>>> PK_ANALYTE_UNITS["car_transgene"]
'copies/ug gDNA'
>>> "h" in TIME_UNITS
True
"""

from __future__ import annotations

from typing import Any

from cartrial.allowed import LLOQ, MAX_CONCENTRATION, MIN_LLOQ

PK_COLUMNS: tuple[str, ...] = (
    "subject_id",
    "analyte",
    "assay",
    "matrix",
    "nominal_day",
    "actual_day",
    "sampled_at",
    "value",
    "unit",
    "lloq",
    "blq",
)
"""Columns of ``pk_samples.csv``: one row per sample and analyte (value blank when ``blq`` is true)."""

PD_TITRE_COLUMN = "aqp4_igg_titre"
"""The titre column of ``pd_samples.csv`` (AQP4-IgG, as ``1:320`` or ``negative``): the value column of the
population PD model."""

PD_COLUMNS: tuple[str, ...] = (
    "subject_id",
    "nominal_day",
    "actual_day",
    "sampled_at",
    PD_TITRE_COLUMN,
    "aqp4_igg_assay",
    "cd19_b_cells_per_ul",
    "bcma_plasma_cells_per_ul",
    "igg_g_per_l",
    "iga_g_per_l",
    "igm_g_per_l",
)
"""Columns of ``pd_samples.csv``: one row per PD visit."""


def blq_value_contradicts(value: Any, lloq: Any) -> Any:
    """Whether a sample flagged below the LLOQ (BLQ) contradicts its own value: the value is at or above its
    LLOQ — the LLOQ is the lowest concentration quantified with acceptable accuracy and precision (ICH M10
    §2.2; FDA Bioanalytical Method Validation guidance 2018), so a value at the LLOQ is quantified. The one
    rule of the store's record rule ``PK-BLQ-AT-OR-ABOVE-LLOQ`` (D-19.165) and of the kinetics reader
    (`cartrial.kinetics.frames.validate_profiles`; D-19.1106). Numbers or numpy arrays of one unit (NaN, a
    blank value or LLOQ, compares False: nothing to judge).

    >>> blq_value_contradicts(50.0, 50.0), blq_value_contradicts(49.9, 50.0)
    (True, False)
    """
    return value >= lloq


PK_NOMINAL_DAYS: tuple[int, ...] = (0, 1, 4, 7, 10, 14, 21, 28, 60, 90, 180, 270, 365)
"""Reference-study CAR-T sampling: pre-infusion (day 0), days 1, 4, 7, 10, 14, 21, 28, months 2, 3, 6, 9, 12
(``docs/science/ct103a-nmosd-trial.md §9)."""

PD_NOMINAL_DAYS: tuple[int, ...] = (-7, 14, 28, 60, 90, 180, 270, 365)
"""Screening baseline (before lymphodepletion), then days 14, 28 and months 2, 3, 6, 9, 12."""

PK_NCA_COLUMNS: dict[str, Any] = {
    "subject": "subject_id",
    "by": ("analyte",),
    "time": "actual_day",
    "time_unit": "day",
    "conc": "value",
    "unit_column": "unit",
    "blq_column": "blq",
    "nominal_time": "nominal_day",
}
"""How `cartrial.kinetics.derive_nca` reads ``pk_samples.csv`` (keyword arguments): one profile per subject
and analyte, days since infusion, the unit and the BLQ flag of each sample from its columns, the nominal day
for the partial-AUC coverage (D-19.95)."""

PK_ANALYTE_UNITS: dict[str, str] = {"car_transgene": "copies/ug gDNA", "car_t_cells": "cells/uL"}
"""The unit of each PK analyte of the template (transgene by ddPCR/qPCR, CAR+ T cells by flow cytometry)."""

PD_COLUMN_UNITS: dict[str, str] = {
    "cd19_b_cells_per_ul": "cells/uL",
    "bcma_plasma_cells_per_ul": "cells/uL",
    "igg_g_per_l": "g/L",
    "iga_g_per_l": "g/L",
    "igm_g_per_l": "g/L",
}
"""Units of the numeric PD columns (also spelled in the column names)."""

TIME_UNITS: tuple[str, ...] = ("min", "h", "day", "week")
"""Time units the NCA accepts (``--time-unit``; docs/kinetics.md): minutes, hours, days, weeks."""

TIME_UNIT_DAYS: dict[str, float] = {"min": 1.0 / 1440.0, "h": 1.0 / 24.0, "day": 1.0, "week": 7.0}
"""Length of each of `TIME_UNITS` in days (popfit converts a time column to its model's unit with it)."""

TIME_UNIT_SPELLINGS: dict[str, str] = {
    **{name: "min" for name in ("min", "mins", "minute", "minutes")},
    **{name: "h" for name in ("h", "hr", "hrs", "hour", "hours")},
    **{name: "day" for name in ("d", "day", "days")},
    **{name: "week" for name in ("wk", "wks", "week", "weeks")},
}
"""The usual spellings of each of `TIME_UNITS` (UCUM's ``min``, ``h``, ``d``, ``wk`` and the English words),
case-insensitive: the ones a free-text time unit (`nca`'s ``time_unit``) converts to days by (D-19.405)."""


def days_per_time_unit(time_unit: str) -> float | None:
    """Days in one `time_unit` — any of `TIME_UNIT_SPELLINGS`, case and surrounding space ignored — or None
    for a unit cartrial does not convert (the one rule of `nca` and `derived_units`; D-19.405).

    >>> days_per_time_unit("d"), days_per_time_unit("Hours"), days_per_time_unit("fortnight")
    (1.0, 0.041666666666666664, None)
    """
    name = TIME_UNIT_SPELLINGS.get(str(time_unit).strip().lower())
    return None if name is None else TIME_UNIT_DAYS[name]


CONC_UNIT_MAX_LENGTH = 40
"""Longest concentration-unit text accepted (a unit, not a sentence)."""

CONC_UNIT_CHARACTERS = "letters, digits, space and / ^ · * . % - µ"
"""Characters a concentration unit may contain (e.g. ``copies/ug gDNA``, ``cells/uL``, ``mg/L``)."""


__all__ = [
    "CONC_UNIT_CHARACTERS",
    "CONC_UNIT_MAX_LENGTH",
    "LLOQ",
    "MAX_CONCENTRATION",
    "MIN_LLOQ",
    "PD_COLUMNS",
    "PD_COLUMN_UNITS",
    "PD_NOMINAL_DAYS",
    "PD_TITRE_COLUMN",
    "PK_ANALYTE_UNITS",
    "PK_COLUMNS",
    "PK_NCA_COLUMNS",
    "PK_NOMINAL_DAYS",
    "TIME_UNITS",
    "TIME_UNIT_DAYS",
    "TIME_UNIT_SPELLINGS",
    "blq_value_contradicts",
    "days_per_time_unit",
]
