"""A synthetic study of any size with full assessment schedules, for benchmarks and reliability tests.

Not clinical data: values are random but valid for every form (so an import exercises the whole write
path). Schedules are typical of a CAR-T phase 1 [P]: lymphodepletion days -4 to -2, infusion day 0, CRS
assessments every 4 h to day 28, ICANS every 12 h to day 28, 15 laboratory analytes at 45 time points,
PK at 20 and PD at 12 time points, EDSS / OSIS / visual acuity (both eyes) at 10 visits (the
values follow the published templates of the grading and neuro areas), about 10 adverse
events and 10 concomitant-therapy doses: about 1,000 rows per subject.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cartrial.kinetics.templates import PK_ANALYTE_UNITS
from cartrial.protocol.dosing import DoseCalculation, DoseLevel, dose_for

if TYPE_CHECKING:
    from cartrial.protocol import Protocol

CRS_TIMES_H = np.arange(0, 28 * 24 + 1, 4)
ICANS_TIMES_H = np.arange(0, 28 * 24 + 1, 12)
LAB_DAYS = np.concatenate([np.arange(-7, 29), np.array([35, 42, 56, 90, 120, 150, 180, 270, 365])])
LAB_ANALYTES = (
    ("neutrophils", "10^9/L", 1.8, 7.5),
    ("platelets", "10^9/L", 150.0, 400.0),
    ("hemoglobin", "g/L", 120.0, 160.0),
    ("lymphocytes", "10^9/L", 1.0, 4.0),
    ("wbc", "10^9/L", 4.0, 10.0),
    ("crp", "mg/L", 0.0, 10.0),
    ("ferritin", "ug/L", 15.0, 150.0),
    ("il6", "pg/mL", 0.0, 7.0),
    ("alt", "U/L", 7.0, 40.0),
    ("ast", "U/L", 8.0, 40.0),
    ("creatinine", "umol/L", 45.0, 90.0),
    ("bilirubin", "umol/L", 3.0, 21.0),
    ("igg", "g/L", 7.0, 16.0),
    ("iga", "g/L", 0.7, 4.0),
    ("igm", "g/L", 0.4, 2.3),
)
PK_DAYS = np.array([0.04, 1, 2, 4, 7, 10, 14, 21, 28, 42, 56, 90, 120, 150, 180, 210, 240, 270, 300, 365])
PD_DAYS = np.array([-28, 0, 7, 14, 28, 56, 90, 120, 180, 240, 300, 365])
NEURO_DAYS = np.array([-28, 28, 56, 90, 120, 180, 240, 270, 300, 365])
START = np.datetime64("2021-01-04T08:00:00")
#: The dose levels of the reference study (examples/ct103a-nmosd/protocol.yaml), used without a protocol.
DOSE_LEVELS = (
    DoseLevel(level=1, label="0.5×10^6 CAR+ T cells/kg", cells_per_kg=5e5),
    DoseLevel(level=2, label="1.0×10^6 CAR+ T cells/kg", cells_per_kg=1e6),
)


def _iso(moments: np.ndarray) -> np.ndarray:
    return np.char.add(np.datetime_as_string(moments.astype("datetime64[s]"), unit="s"), "Z")


def _dates(moments: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(moments.astype("datetime64[D]"), unit="D")


def synthetic_study(
    n_subjects: int, seed: int = 20240101, prefix: str = "SYN", protocol: Protocol | None = None
) -> dict[str, pd.DataFrame]:
    """Every form of a synthetic study of `n_subjects` subjects (columns as the form templates); subject ids
    ``<prefix>-00001`` …, site ``<prefix>``. The first 3 subjects get dose level 1, the others level 2
    (level 1 when the protocol has one); the infused dose is the protocol's (`dose_for`: rounding, then the
    level's cap; without `protocol`, the reference study's two levels)."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"{prefix}-{i:05d}" for i in range(1, n_subjects + 1)])
    # one infusion a week up to 100 subjects; more share the weeks, so that every date stays in the past
    # (consent in the future is a hard edit check, decisions §19)
    per_week = -(-n_subjects // 100)
    infused = START + (np.arange(n_subjects) * 7 // per_week).astype("timedelta64[D]")
    weight = np.round(rng.normal(65, 10, n_subjects).clip(40, 120), 1)
    height = np.round(rng.normal(165, 8, n_subjects).clip(145, 195), 0)
    top = 2 if protocol is None else min(2, protocol.n_dose_levels)
    level = np.where(np.arange(n_subjects) < 3, 1, top)

    def dose(weight_kg: float, number: int) -> DoseCalculation:
        if protocol is None:
            return dose_for(DOSE_LEVELS[number - 1], weight_kg)
        return dose_for(protocol, weight_kg, level=number)

    doses = [dose(float(w), int(n)) for w, n in zip(weight, level, strict=True)]
    cells_per_kg = np.array([d.effective_cells_per_kg for d in doses], dtype=float)  # delivered ("actual")
    total_cells = np.array([d.total_cells for d in doses], dtype=float)
    forms: dict[str, pd.DataFrame] = {}
    forms["sites"] = pd.DataFrame({"site_id": [prefix], "name": ["Synthetic site"], "country": ["China"]})
    forms["subjects"] = pd.DataFrame(
        {
            "subject_id": ids,
            "site_id": prefix,
            "screening_number": np.char.replace(ids, prefix, "S"),
            "consent_date": _dates(infused - np.timedelta64(35, "D")),
            "sex": rng.choice(["F", "M"], n_subjects, p=[0.85, 0.15]),
            "birth_year": rng.integers(1950, 2000, n_subjects),
            "weight_kg": weight,
            "height_cm": height,
            "aqp4_igg_status": "positive",
            "aqp4_igg_titre": rng.choice(["1:32", "1:100", "1:320", "1:1000"], n_subjects),
        }
    )
    bsa = np.round(np.sqrt(weight * height / 3600), 2)  # Mosteller RD, N Engl J Med 1987;317:1098
    days = np.repeat(np.array([-4, -3, -2]), 2)
    drugs = np.tile(np.array(["cyclophosphamide", "fludarabine"]), 3)
    per_m2 = np.tile(np.array([300.0, 30.0]), 3)
    forms["lymphodepletion"] = pd.DataFrame(
        {
            "subject_id": np.repeat(ids, 6),
            "drug": np.tile(drugs, n_subjects),
            "administered_on": _dates(
                np.repeat(infused, 6) + np.tile(days, n_subjects).astype("timedelta64[D]")
            ),
            "day_relative_to_infusion": np.tile(days, n_subjects),
            "dose_mg_per_m2": np.tile(per_m2, n_subjects),
            "dose_mg": np.round(np.tile(per_m2, n_subjects) * np.repeat(bsa, 6), 1),
            "body_surface_area_m2": np.repeat(bsa, 6),
        }
    )
    forms["infusions"] = pd.DataFrame(
        {
            "subject_id": ids,
            "infused_at": _iso(infused),
            "dose_level": level,
            "weight_kg": weight,
            "cells_per_kg": cells_per_kg,
            "total_car_t_cells": np.round(total_cells),
            "product_lot": np.char.replace(ids, prefix, "LOT"),
            "viability_pct": rng.integers(85, 99, n_subjects),
        }
    )

    def schedule(offsets: np.ndarray, unit: str) -> tuple[np.ndarray, np.ndarray]:
        k = len(offsets)
        moments = np.repeat(infused, k) + np.tile(offsets, n_subjects).astype(f"timedelta64[{unit}]")
        return np.repeat(ids, k), moments

    subject, moments = schedule(CRS_TIMES_H, "h")
    n = len(subject)
    forms["crs_assessments"] = pd.DataFrame(
        {
            "subject_id": subject,
            "assessed_at": _iso(moments),
            "temperature_c": np.round(rng.normal(37.2, 0.6, n).clip(35.5, 40.5), 1),
            "fever_masked": "false",
            "hypotension": "false",
            "vasopressors": 0,
            "vasopressin": "false",
            "oxygen": "none",
            "oxygen_l_min": "",
        }
    )
    subject, moments = schedule(ICANS_TIMES_H, "h")
    n = len(subject)
    forms["icans_assessments"] = pd.DataFrame(
        {
            "subject_id": subject,
            "assessed_at": _iso(moments),
            "ice_orientation": 4,
            "ice_naming": 3,
            "ice_command": 1,
            "ice_writing": 1,
            "ice_attention": 1,
            "consciousness": "alert",
            "seizure": "none",
            "motor": "none",
            "cerebral_edema": "none",
        }
    )
    lab_subject, lab_moments = schedule(LAB_DAYS * 24 + 7, "h")
    k = len(LAB_ANALYTES)
    lln = np.array([a[2] for a in LAB_ANALYTES])
    uln = np.array([a[3] for a in LAB_ANALYTES])
    m = len(lab_subject)
    forms["labs"] = pd.DataFrame(
        {
            "subject_id": np.repeat(lab_subject, k),
            "analyte": np.tile(np.array([a[0] for a in LAB_ANALYTES]), m),
            "collected_at": np.repeat(_iso(lab_moments), k),
            "value": np.round(np.tile((lln + uln) / 2, m) * rng.lognormal(0, 0.3, m * k), 2),
            "unit": np.tile(np.array([a[1] for a in LAB_ANALYTES]), m),
            "lln": np.tile(lln, m),
        }
    )
    subject, moments = schedule(np.round(PK_DAYS * 24).astype(int), "h")
    n = len(subject)
    copies = np.round(rng.lognormal(9, 1.5, n))
    forms["pk_samples"] = pd.DataFrame(
        {
            "subject_id": subject,
            "analyte": "car_transgene",
            "assay": "ddPCR",
            "matrix": "peripheral_blood",
            "nominal_day": np.tile(PK_DAYS, n_subjects),
            "actual_day": np.tile(PK_DAYS, n_subjects),
            "sampled_at": _iso(moments),
            "value": copies,
            "unit": PK_ANALYTE_UNITS["car_transgene"],
            "lloq": 50.0,
            "blq": np.where(copies < 50, "true", "false"),
        }
    )
    subject, moments = schedule(PD_DAYS * 24, "h")
    n = len(subject)
    forms["pd_samples"] = pd.DataFrame(
        {
            "subject_id": subject,
            "nominal_day": np.tile(PD_DAYS, n_subjects),
            "actual_day": np.tile(PD_DAYS, n_subjects),
            "sampled_at": _iso(moments),
            "igg_g_per_l": np.round(rng.normal(9, 2, n).clip(2, 20), 2),
        }
    )
    subject, moments = schedule(NEURO_DAYS, "D")
    n = len(subject)
    forms["osis"] = pd.DataFrame(
        {
            "subject_id": subject,
            "assessed_at": _iso(moments + np.timedelta64(9, "h")),
            "visual_od": rng.integers(0, 3, n),
            "visual_os": rng.integers(0, 3, n),
            "motor": rng.integers(0, 3, n),
            "sensory": rng.integers(0, 3, n),
            "sphincter": rng.integers(0, 3, n),
        }
    )
    forms["edss"] = pd.DataFrame(
        {
            "subject_id": subject,
            "assessed_at": _iso(moments + np.timedelta64(9, "h")),
            "visual": rng.integers(0, 3, n),
            "brainstem": rng.integers(0, 3, n),
            "pyramidal": rng.integers(0, 3, n),
            "cerebellar": rng.integers(0, 3, n),
            "sensory": rng.integers(0, 3, n),
            "bowel_bladder": rng.integers(0, 3, n),
            "cerebral": rng.integers(0, 2, n),
            "ambulation": rng.integers(0, 3, n),
        }
    )
    forms["visual_acuity"] = pd.DataFrame(
        {
            "subject_id": np.repeat(subject, 2),
            "assessed_at": np.repeat(_iso(moments + np.timedelta64(9, "h")), 2),
            "eye": np.tile(np.array(["OD", "OS"]), n),
            "acuity": np.repeat(rng.choice(["20/20", "20/25", "20/40", "20/63"], n), 2),
        }
    )
    ae_days = np.arange(1, 11) * 9
    subject, moments = schedule(ae_days, "D")
    n = len(subject)
    forms["adverse_events"] = pd.DataFrame(
        {
            "subject_id": subject,
            "term": np.tile(np.array([f"Synthetic event {i}" for i in range(1, 11)]), n_subjects),
            "category": rng.choice(["hematologic", "non_hematologic", "infection"], n),
            "started_on": _dates(moments),
            "grade": rng.integers(1, 4, n),
            "grading_scale": "CTCAE",
            "grading_scale_version": "5.0",
            "relatedness": rng.choice(["unrelated", "possible", "probable"], n),
        }
    )
    subject, moments = schedule(np.arange(1, 11) * 24 + 10, "h")
    forms["therapies"] = pd.DataFrame(
        {
            "subject_id": subject,
            "given_at": _iso(moments),
            "therapy": "antipyretic",
            "agent": "paracetamol",
            "dose": 500.0,
            "unit": "mg",
        }
    )
    return forms


def write_synthetic_study(
    directory: str | Path,
    n_subjects: int,
    seed: int = 20240101,
    prefix: str = "SYN",
    protocol: Protocol | None = None,
) -> dict[str, int]:
    """Write the synthetic study as template CSVs into `directory`; returns rows per form written.

    A form whose template columns the study database cannot store yet (`FormSpec.schema_gaps`) is left
    out, so that the synthetic study always imports."""
    from cartrial.store.importing.forms import FORMS_BY_NAME

    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for name, frame in synthetic_study(n_subjects, seed, prefix, protocol).items():
        accepted = {c.name for c in FORMS_BY_NAME[name].columns() if c.table_column is not None}
        if not set(frame.columns) <= accepted:
            continue
        frame.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")
        counts[name] = len(frame)
    return counts
