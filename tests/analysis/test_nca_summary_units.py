"""D-19.213: the NCA summary's ``unit`` column was blank for every parameter of the example study: its two
analytes have different concentration units (car_t_cells in cells/uL, car_transgene in copies/ug gDNA), so
`derive_nca` gives its units per concentration unit (``extra["units_by_conc_unit"]``) and no single
``units``, which is what the summary read. The report's NCA table (Cmax, AUC, half-life, Tmax) had no units.
The summary now takes each analyte's units from the engine's map for that analyte's concentration unit.

Expected units by hand (PKNCA conventions, docs/science kinetics: AUC = concentration × time, time in the
form's day): Cmax in the concentration unit; AUClast and the partial AUC 0-28 in concentration·day; Tmax,
Tlast and half-life in day; fold expansion (Cmax / reference level, D-19.1450) a ratio, 1."""

from __future__ import annotations

from cartrial.analysis import Analysis

EXPECTED = {
    "car_t_cells": {
        "cmax": "cells/uL",
        "auclast": "cells·day/uL",
        "auc_0_28": "cells·day/uL",
        "half_life": "day",
        "tmax": "day",
        "tlast": "day",
        "fold_expansion": "1",  # Cmax / reference, a ratio (D-19.1450)
    },
    "car_transgene": {
        "cmax": "copies/ug gDNA",
        "auclast": "copies·day/ug gDNA",
        "auc_0_28": "copies·day/ug gDNA",
        "half_life": "day",
        "tmax": "day",
        "tlast": "day",
        "fold_expansion": "1",  # Cmax / reference, a ratio (D-19.1450)
    },
}


def test_every_summary_row_has_its_unit(analysis: Analysis) -> None:
    table = analysis.datasets["nca_summary"].table
    for row in table.itertuples():
        assert row.unit == EXPECTED[row.analyte][row.parameter], (row.analyte, row.parameter)
