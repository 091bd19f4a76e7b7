"""Validation of the grading forms (`cartrial.grading.tables`): bad input is reported per row and never raises
(briefing: bad input never produces a traceback or a silent skip; issue 3 bad-input rules)."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cartrial.columns import RowProblems
from cartrial.commands.grading_commands import grade_crs_frame, grade_icans_frame, grade_labs_frame
from cartrial.grading import CrsOptions
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


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(CRS_COLUMNS), st.booleans())
def test_crs_forms_never_raise(frame: pd.DataFrame, legacy: bool) -> None:
    """Every CRS row is either graded (0-5) or has at least one located problem."""
    problems = RowProblems("crs.csv")
    columns, _ = grade_crs_frame(frame, problems, CrsOptions(), legacy=legacy)
    bad = problems.bad_mask(len(frame))
    assert all(0 <= g <= 5 for g in columns["grade"][~bad])
    assert all(p.row is not None and p.field for p in problems.all())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(ICANS_COLUMNS))
def test_icans_forms_never_raise(frame: pd.DataFrame) -> None:
    """Every ICANS row is either graded (0-4) or has a located problem."""
    problems = RowProblems("icans.csv")
    columns, _ = grade_icans_frame(frame, problems)
    bad = problems.bad_mask(len(frame))
    assert all(0 <= g <= 4 for g in columns["grade"][~bad])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(LABS_REQUIRED))
def test_lab_forms_never_raise(frame: pd.DataFrame) -> None:
    """Every lab row is either graded (0-4) or has a located problem."""
    problems = RowProblems("labs.csv")
    columns, _ = grade_labs_frame(frame, problems, "5.0", False)
    bad = problems.bad_mask(len(frame))
    assert all(0 <= g <= 4 for g in columns["grade"][~bad])
