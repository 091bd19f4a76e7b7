"""The analysis judges a partial AUC's end sample by the protocol's visit window (docs/science/decisions.md
D-19.104).

Before: a PK sample with ``nominal_day`` 28 taken on day 20 covered AUC0-28 by its nominal day alone, so the
subject's AUC to day 20 was averaged into the AUC0-28 geometric mean as if it were AUC0-28."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cartrial.analysis.kinetics import nca_datasets
from cartrial.analysis.model import Population
from cartrial.analysis.populations import SAFETY
from cartrial.protocol.analysis_spec import AnalysisOptions
from cartrial.protocol.schedule import Schedule, Visit

SCHEDULE = Schedule(
    visits=[
        Visit(name="Day 0", study_day=0, assessments=["pk"]),
        Visit(name="Day 7", study_day=7, window_minus_days=1, window_plus_days=1, assessments=["pk"]),
        Visit(name="Day 28", study_day=28, window_minus_days=2, window_plus_days=2, assessments=["pk"]),
    ]
)

# (nominal day, actual day, value): the day-28 visit on day 28, on day 27 (in its ±2 window), on day 20 (not)
PROFILES = {
    "ON28": [(0, 0.0, 0.0), (7, 7.0, 1000.0), (28, 28.0, 100.0)],
    "ON27": [(0, 0.0, 0.0), (7, 7.0, 800.0), (28, 27.0, 120.0)],
    "ON20": [(0, 0.0, 0.0), (7, 7.0, 900.0), (28, 20.0, 300.0)],
}


def _datasets(schedule: Schedule | None = SCHEDULE, **nca_options: object) -> dict:
    samples = pd.DataFrame(
        [
            {
                "subject_id": sid,
                "analyte": "car_transgene",
                "nominal_day": nominal,
                "actual_day": actual,
                "value": value,
                "unit": "copies/ug gDNA",
                "blq": False,
            }
            for sid, profile in PROFILES.items()
            for nominal, actual, value in profile
        ]
    )
    infusions = pd.DataFrame(
        {"subject_id": list(PROFILES), "dose_level": 1, "infused_at": "2021-01-01T00:00:00Z"}
    )
    populations = {SAFETY: Population(SAFETY, "infused", tuple(PROFILES), {})}
    spec = AnalysisOptions(nca_options={"auc_method": "linear", **nca_options})  # type: ignore[arg-type]
    return nca_datasets({"pk_samples": samples, "infusions": infusions}, populations, spec, schedule)


def _auc(sid: str) -> float:
    """Linear trapezoids of the subject's own samples by actual day (AUC to its last sample)."""
    profile = PROFILES[sid]
    return float(np.trapezoid([v for *_, v in profile], [a for _, a, _ in profile]))


def test_the_day_28_visit_taken_on_day_20_is_not_covered_and_left_out() -> None:
    """Failing first: ON20 was covered (nominal day 28) and its AUC0-20 was in the AUC0-28 geometric mean."""
    datasets = _datasets()
    by_subject = datasets["nca_by_subject"].table.set_index("subject_id")
    assert by_subject["auc_0_28_covered"].to_dict() == {"ON28": True, "ON27": True, "ON20": False}
    summary = datasets["nca_summary"].table
    row = summary[(summary["parameter"] == "auc_0_28") & (summary["group"] == "all")].iloc[0]
    assert (row["n"], row["n_not_covered"]) == (2, 1)
    assert row["geometric_mean"] == pytest.approx(math.sqrt(_auc("ON28") * _auc("ON27")))
    assert "ON20 (car_transgene, last sample day 20)" in " ".join(datasets["nca_summary"].notes)


def test_without_a_schedule_or_with_actual_only_only_the_actual_day_counts() -> None:
    for datasets in (_datasets(None), _datasets(nominal_coverage="actual_only")):
        by_subject = datasets["nca_by_subject"].table.set_index("subject_id")
        assert by_subject["auc_0_28_covered"].to_dict() == {"ON28": True, "ON27": False, "ON20": False}
