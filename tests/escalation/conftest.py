"""Shared TITE-CRM replay inputs (docs/science/dose-escalation.md §8).

The four-patient case: A, B (level 1) and C (level 2) infused 2021-04-01, 04-02 and 05-01, D (level 2)
infused 2021-05-29; cohorts `1N`, `1N`, `2T`, `2N` decided 04-01, 05-01, 05-29 and 06-01 (D at day 3).
"""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd


def tite_protocol(scheme: str = "linear") -> object:
    """A two-level TITE-CRM protocol: target 0.25, skeleton (0.12, 0.25), 28-day window, cohorts of 1."""
    spec = SimpleNamespace(
        design="tite-crm",
        target=0.25,
        skeleton=[0.12, 0.25],
        dlt_window_days=28,
        cohort_size=1,
        no_skip=True,
        max_n=12,
        tite_scheme=scheme,
    )
    return SimpleNamespace(escalation=spec, dose_levels=[1, 2], expansion=None)


def tite_infusions() -> pd.DataFrame:
    """A, B at level 1 (2021-04-01, 04-02); C, D at level 2 (2021-05-01, 05-29)."""
    return pd.DataFrame(
        {
            "subject_id": list("ABCD"),
            "dose_level": [1, 1, 2, 2],
            "infused_at": ["2021-04-01", "2021-04-02", "2021-05-01", "2021-05-29"],
        }
    )


def tite_decisions() -> pd.DataFrame:
    """Cohorts 1-4, one patient each: `1N` stay, `1N` escalate, `2T` stay, `2N` de-escalate (2021-06-01)."""
    return pd.DataFrame(
        {
            "cohort": [1, 2, 3, 4],
            "dose_level": [1, 1, 2, 2],
            "decided_on": ["2021-04-01", "2021-05-01", "2021-05-29", "2021-06-01"],
            "outcomes": ["1N", "1N", "2T", "2N"],
            "decision": ["stay", "escalate", "stay", "de-escalate"],
        }
    )
