"""Validation of the grading forms (`cartrial.grading.tables`): bad input is reported per row and never raises
(briefing: bad input never produces a traceback or a silent skip; decisions §3 bad-input rules)."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.grading import CrsOptions
from cartrial.grading.frames import derive_crs_grades, derive_icans_grades, derive_lab_grades
from cartrial.grading.tables import CRS_OPTIONAL, CRS_REQUIRED, ICANS_OPTIONAL, ICANS_REQUIRED, LABS_REQUIRED

CELL = st.sampled_from(
    [
        "",
        "0",
        "1",
        "2",
        "-1",
        "6",
        "6.5",
        "10",
        "38.5",
        "120",
        "true",
        "false",
        "maybe",
        "none",
        "nasal_cannula",
        "unarousable",
        "alert",
        "focal",
        "neutrophils",
        "hemoglobin",
        "g/dL",
        "10^9/L",
        "/mm3",
        "xyz",
        "2021-06-02T10:00:00Z",
        "2021-13-40",
        "nan",
        "inf",
        "1e308",
    ]
)


def frames(columns: tuple[str, ...]) -> st.SearchStrategy[pd.DataFrame]:
    return st.lists(st.lists(CELL, min_size=len(columns), max_size=len(columns)), min_size=1, max_size=6).map(
        lambda rows: pd.DataFrame(rows, columns=list(columns), dtype=str)
    )


CRS_COLUMNS = (*CRS_REQUIRED, "temperature_c", "hypotension", *CRS_OPTIONAL)
ICANS_COLUMNS = (*ICANS_REQUIRED, *ICANS_OPTIONAL)


@settings(max_examples=property_examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(CRS_COLUMNS), st.booleans())
def test_crs_forms_never_raise(frame: pd.DataFrame, legacy: bool) -> None:
    """Every CRS row is either graded (0-5) or has at least one located problem."""
    result = derive_crs_grades(frame, CrsOptions(), legacy=legacy, keep_going=True, file="crs.csv")
    table = result.table
    bad = table["error"].astype(bool) if "error" in table else pd.Series(False, index=table.index)
    assert all(0 <= g <= 5 for g in table["grade"][~bad])
    assert all(p.row is not None and p.field for p in result.problems)


@settings(max_examples=property_examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(ICANS_COLUMNS))
def test_icans_forms_never_raise(frame: pd.DataFrame) -> None:
    """Every ICANS row is either graded (0-4) or has a located problem."""
    table = derive_icans_grades(frame, keep_going=True, file="icans.csv").table
    bad = table["error"].astype(bool) if "error" in table else pd.Series(False, index=table.index)
    assert all(0 <= g <= 4 for g in table["grade"][~bad])


@settings(max_examples=property_examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(LABS_REQUIRED))
def test_lab_forms_never_raise(frame: pd.DataFrame) -> None:
    """Every lab row is either graded (0-4) or has a located problem."""
    table = derive_lab_grades(frame, keep_going=True, file="labs.csv").table
    bad = table["error"].astype(bool) if "error" in table else pd.Series(False, index=table.index)
    assert all(0 <= g <= 4 for g in table["grade"][~bad])
