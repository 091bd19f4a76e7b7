"""Which indication-specific outcomes a study has (D-19.61): the disease outcomes the engines derive
(EDSS, relapses, AQP4-IgG titre, OSIS) belong to the NMOSD reference protocol; another indication's
protocol (myasthenia gravis, lupus) collects none of them. An outcome is *collected* when the protocol's
schedule lists its assessment or its form holds rows (data are never left out silently); an outcome that
is not collected gets no finding, no report section and no CDISC records — never "12 of 12 relapse-free"
read from a form the study does not have."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

#: outcome → (schedule assessment, (template, column whose non-empty values are the outcome's data)...)
OUTCOMES: dict[str, tuple[str, tuple[tuple[str, str | None], ...]]] = {
    "edss": ("edss", (("edss", None),)),
    "relapses": ("relapse_review", (("relapses", None),)),
    "aqp4_igg": (
        "aqp4_igg",
        (("pd_samples", "aqp4_igg_titre"), ("subjects", "aqp4_igg_status"), ("subjects", "aqp4_igg_titre")),
    ),
    "osis": ("osis", (("osis", None),)),
}

#: analysis population → the outcome whose evaluable set it is
POPULATION_OUTCOME: dict[str, str] = {"efficacy:edss_change": "edss", "efficacy:aqp4_titre": "aqp4_igg"}

#: demographics characteristic (column) → the outcome it summarises
CHARACTERISTIC_OUTCOME: dict[str, str] = {
    "relapses_pre_window": "relapses",
    "baseline_edss": "edss",
    "aqp4_igg_status": "aqp4_igg",
    "aqp4_igg_titre": "aqp4_igg",
    "aqp4_igg_titre_reciprocal": "aqp4_igg",
}


#: analysis dataset → the outcome it derives (left out of the analysis when the outcome is not collected)
DATASET_OUTCOME: dict[str, str] = {
    "edss_change": "edss",
    "edss_scored": "edss",
    "relapses_by_subject": "relapses",
    "relapse_rates": "relapses",
    "relapse_free_km": "relapses",
    "aqp4_titre_change": "aqp4_igg",
    "osis_change": "osis",
}


def _has_rows(table: pd.DataFrame | None, column: str | None) -> bool:
    if table is None or table.empty:
        return False
    if column is None:
        return True
    return column in table and bool(
        table[column].astype(str).str.strip().replace("nan", "").astype(bool).any()
    )


def collected_outcomes(protocol: Any, tables: Mapping[str, pd.DataFrame]) -> frozenset[str]:
    """The indication-specific outcomes of `protocol` (schedule) or present in `tables` (form rows)."""
    planned = getattr(protocol, "collected_assessments", None)
    if planned is None:  # a protocol-like object without a schedule: every outcome, as before
        planned = frozenset(a for a, _s in OUTCOMES.values())
    return frozenset(
        name
        for name, (assessment, sources) in OUTCOMES.items()
        if assessment in planned or any(_has_rows(tables.get(t), c) for t, c in sources)
    )


__all__ = [
    "CHARACTERISTIC_OUTCOME",
    "DATASET_OUTCOME",
    "OUTCOMES",
    "POPULATION_OUTCOME",
    "collected_outcomes",
]
