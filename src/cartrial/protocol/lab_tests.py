"""The laboratory tests and cellular-kinetic analytes a study records, with their CDISC controlled terms.

One dictionary read by the study database (a lab result's or a PK sample's ``analyte`` given in any case is
stored in the spelling below, so that the analysis, which selects the graded haematology analytes by
name, and the natural key (subject, analyte, time) see one spelling; `cartrial.store.fields`) and by the
CDISC export (LB and PC test codes; `cartrial.cdisc.sdtm`). An analyte outside the dictionary is kept as
given: it is stored, not graded, and exported with a test code derived from its name.

Sources: SDTM controlled terminology LBTESTCD/LBTEST (C65047/C67154) for the lab tests; the PC test codes
are sponsor-defined (docs/cdisc.md). The graded haematology analytes are `cartrial.grading.ANALYTES`
(CTCAE v5.0, docs/science/toxicity-grading.md).
"""

from __future__ import annotations

from collections.abc import Mapping

LAB_TESTS: Mapping[str, tuple[str, str, str]] = {
    # analyte: (LBTESTCD, LBTEST, LBCAT) — SDTM CT LBTESTCD/LBTEST (C65047/C67154)
    "hemoglobin": ("HGB", "Hemoglobin", "HEMATOLOGY"),
    "neutrophils": ("NEUT", "Neutrophils", "HEMATOLOGY"),
    "lymphocytes": ("LYM", "Lymphocytes", "HEMATOLOGY"),
    "platelets": ("PLAT", "Platelets", "HEMATOLOGY"),
    "wbc": ("WBC", "Leukocytes", "HEMATOLOGY"),
    "alt": ("ALT", "Alanine Aminotransferase", "CHEMISTRY"),
    "ast": ("AST", "Aspartate Aminotransferase", "CHEMISTRY"),
    "creatinine": ("CREAT", "Creatinine", "CHEMISTRY"),
    "crp": ("CRP", "C Reactive Protein", "CHEMISTRY"),
    "ferritin": ("FERRITIN", "Ferritin", "CHEMISTRY"),
    "il6": ("INTLK6", "Interleukin 6", "CHEMISTRY"),
    "bilirubin": ("BILI", "Bilirubin", "CHEMISTRY"),
    "igg": ("IGG", "Immunoglobulin G", "IMMUNOLOGY"),
    "iga": ("IGA", "Immunoglobulin A", "IMMUNOLOGY"),
    "igm": ("IGM", "Immunoglobulin M", "IMMUNOLOGY"),
}
"""Lab tests by the ``analyte`` name of the labs form: (LBTESTCD, LBTEST, LBCAT)."""

PK_ANALYTES: Mapping[str, tuple[str, str]] = {
    # analyte: (PCTESTCD, PCTEST), sponsor-defined
    "car_t_cells": ("CARTCELL", "CAR-T Cells"),
    "car_transgene": ("CARTRGN", "CAR Transgene Copies"),
}
"""Cellular-kinetic analytes by the ``analyte`` name of the PK form: (PCTESTCD, PCTEST); CAR transgene
copies by ddPCR/qPCR and CAR+ T cells by flow cytometry (units: `cartrial.kinetics.PK_ANALYTE_UNITS`)."""

__all__ = ["LAB_TESTS", "PK_ANALYTES"]
