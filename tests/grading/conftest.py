"""Shared inputs of the grading tests."""

from __future__ import annotations

CRS_COLUMNS = (
    *("subject_id", "assessed_at", "temperature_c", "fever_masked", "hypotension"),
    *("vasopressors", "vasopressin", "oxygen", "oxygen_l_min"),
)
CRS_HEADER = ",".join(CRS_COLUMNS)
"""The header of a minimal CRS assessments file (`cartrial grade crs`): the required columns and the flow."""
