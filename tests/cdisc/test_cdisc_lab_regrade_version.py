"""The CDISC export's own grading of the labs uses the study's CTCAE version (D-19.988).

Before: SDTM LB and ADaM ADLB, for an analysis that carries no graded labs, graded the snapshot's labs again
with `safety.graded_labs`' default, CTCAE v5.0, whatever ``analysis.options.ctcae_version``.

By hand, CTCAE v6.0 (NCI CTCAE v6.0, 2025) and v5.0 differ on the scale named: every graded row's
``scale`` is the version the grading engine was asked for, "CTCAE v6.0".
"""

from __future__ import annotations

import types

import pandas as pd

from cartrial.cdisc.adam import _graded_labs
from cartrial.cdisc.sdtm import SdtmContext


def _tables() -> dict[str, pd.DataFrame]:
    """One neutrophil count (CTCAE v6.0 grades neutrophils; lymphocytes only under v5.0)."""
    labs = pd.DataFrame(
        {
            "record_id": ["1"],
            "subject_id": ["A"],
            "collected_at": ["2024-03-12T08:00:00Z"],
            "analyte": "neutrophils",
            "value": ["0.4"],
            "unit": "10^9/L",
            "lln": "1.8",
        }
    )
    infusions = pd.DataFrame(
        {"subject_id": ["A"], "infused_at": ["2024-03-10T09:00:00Z"], "dose_level": ["1"]}
    )
    return {"labs": labs, "infusions": infusions, "lymphodepletion": pd.DataFrame(columns=["subject_id"])}


def _analysis(version: str) -> types.SimpleNamespace:
    return types.SimpleNamespace(
        intermediates={}, options={"ctcae_version": version}, datasets={}, time_zones={}
    )


def test_adlb_regrades_by_the_studys_version() -> None:
    snapshot = types.SimpleNamespace(tables=_tables())
    graded = _graded_labs(_analysis("6.0"), snapshot)
    assert len(graded)
    assert set(graded["scale"]) == {"CTCAE v6.0"}


def test_sdtm_lb_regrades_by_the_studys_version() -> None:
    ctx = types.SimpleNamespace(
        _graded_labs=None, analysis=_analysis("6.0"), snapshot=types.SimpleNamespace(tables=_tables())
    )
    graded = SdtmContext.graded_labs(ctx)  # type: ignore[arg-type]
    assert len(graded)
    assert set(graded["scale"]) == {"CTCAE v6.0"}
