"""ICAHT converts the count column once (D-19.849), not one `to_canonical` call per laboratory row, and the
grades are those of the counts converted one by one."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from cartrial.grading import frames
from cartrial.grading.frames import derive_icaht


def _labs(n_days: int) -> pd.DataFrame:
    days = pd.date_range("2024-01-11", periods=n_days, freq="D").strftime("%Y-%m-%d").tolist()
    # ANC in cells/µL written with three decimals of 10^9/L (a decimal shift each), platelets in 10^9/L
    anc = [round(0.05 + 0.017 * (k % 90), 3) for k in range(n_days)]
    return pd.DataFrame(
        {
            "subject_id": ["S1"] * (2 * n_days),
            "collected_at": days * 2,
            "analyte": ["neutrophils"] * n_days + ["platelets"] * n_days,
            "value": [v * 1000 for v in anc] + [float(15 + k % 60) for k in range(n_days)],
            "unit": ["cells/µL"] * n_days + ["10^9/L"] * n_days,
            "lln": [1800.0] * n_days + [150.0] * n_days,
        }
    )


INFUSED = pd.DataFrame({"subject_id": ["S1"], "infused_at": ["2024-01-10"]})


def test_the_count_column_is_converted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original = frames.to_canonical

    def counted(values: Any, factor: Any) -> Any:
        calls.append(np.size(values))
        return original(values, factor)

    monkeypatch.setattr(frames, "to_canonical", counted)
    derive_icaht(_labs(120), INFUSED)
    # the parsing converts the frame's column (one call); ICAHT converts its column once more at most
    assert len(calls) <= 2


def test_grades_equal_those_of_the_counts_converted_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    labs = _labs(120)
    bulk = derive_icaht(labs, INFUSED).table
    original = frames.to_canonical

    def one_by_one(values: Any, factor: Any) -> Any:
        given = np.asarray(values, dtype=float)
        factors = np.broadcast_to(np.asarray(factor, dtype=float), given.shape)
        return np.array([original(v, f)[()] for v, f in zip(given.tolist(), factors.tolist(), strict=True)])

    monkeypatch.setattr(frames, "to_canonical", one_by_one)
    pd.testing.assert_frame_equal(bulk, derive_icaht(labs, INFUSED).table)
