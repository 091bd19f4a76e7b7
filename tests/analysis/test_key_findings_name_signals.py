"""D-19.208: the key findings counted grade ≥ 3 CRS/ICANS and dose-limiting toxicities without naming the
patients ("maximum grade 3; grade ≥ 3 in 1", "1 of 12 DLT-evaluable patients had a dose-limiting
toxicity"): a DSMB had to search the listings for who. They now name them, as the not-evaluable and
pending statements already did.

The example study (examples/ct103a-nmosd/study, every CRS grade 1-2, no DLT) with CT-004's first febrile
CRS assessment edited to hypotension on one vasopressor (ASTCT 2019 grade 3, Lee et al. 2019 Table 3;
`edit_ct004_crs_to_grade_3`) and a treatment-related death of CT-003 on 2021-06-20, day 12 of its 28-day
DLT window (infused 2021-06-08): CTCAE v5.0 grade 5, the protocol's rule treatment_related_death."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd

from cartrial.analysis import analyse
from cartrial.store.snapshot import read_snapshot

from ..conftest import edit_ct004_crs_to_grade_3
from .test_disposition_summary import _fatal_event


def test_grade_3_crs_and_dlt_patients_are_named(example_sqlite: str) -> None:
    edit_ct004_crs_to_grade_3(example_sqlite)
    snapshot = read_snapshot(example_sqlite, dt.date(2022, 3, 20))
    tables = dict(snapshot.tables)
    events = tables["adverse_events"]
    death = _fatal_event("CT-003", "2021-06-20", events.columns) | {"relatedness": "probable"}
    tables["adverse_events"] = pd.concat([events, pd.DataFrame([death])], ignore_index=True)
    findings = analyse(dataclasses.replace(snapshot, tables=tables)).findings
    crs = next(f for f in findings if f.statement.startswith("CRS occurred"))
    assert crs.statement == (
        "CRS occurred in 12 of 12 infused patients (100 %), maximum grade 3; grade ≥ 3 in 1 (CT-004)."
    )
    dlt = next(f for f in findings if f.source == "dlt_by_dose_level")
    assert dlt.statement.startswith(
        "1 of 12 DLT-evaluable patients had a dose-limiting toxicity by the protocol's DLT rules: CT-003."
    )
