"""DLTs per dose level and the replay of the recorded escalation decisions with the protocol's design.

- `dlt_by_dose_level`: DLT-evaluable subjects and those with a DLT (adverse event flagged ``dlt`` inside the
  protocol's DLT window), per dose level, with the exact CI.
- `escalation_replay`: the escalation engine's `replay_decisions` — each recorded cohort decision next to
  the protocol design's, with the DLT-window timing; every deviation listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from cartrial.analysis.model import Dataset, Population
from cartrial.analysis.populations import DLT_EVALUABLE
from cartrial.analysis.summaries import incidence


def dlt_datasets(
    tables: Mapping[str, pd.DataFrame],
    protocol: Any,
    populations: Mapping[str, Population],
    membership: pd.DataFrame,
) -> dict[str, Dataset]:
    """`dlt_by_dose_level` and `escalation_replay`."""
    evaluable = membership[membership["dlt_evaluable"]].copy()
    summary = incidence(
        evaluable, ["dlt_in_window"], DLT_EVALUABLE, {"dlt_in_window": "DLT within the DLT window"}
    )
    out = {
        "dlt_by_dose_level": Dataset(
            "dlt_by_dose_level",
            "Dose-limiting toxicities per dose level (DLT-evaluable subjects, exact 95 % CI)",
            summary,
            DLT_EVALUABLE,
            "cartrial.analysis.populations (AE dlt flag inside escalation.dlt_window_days)",
            ("adverse_events", "infusions"),
        )
    }
    decisions = tables["escalation_decisions"]
    if len(decisions):
        dlts = pd.DataFrame(
            {
                "subject_id": membership["subject_id"],
                "dlt": membership["dlt_in_window"].map({True: "true", False: "false"}),
            }
        )
        out["escalation_replay"] = _replay(decisions, tables["infusions"], dlts, protocol)
    return out


def _replay(decisions: pd.DataFrame, infusions: pd.DataFrame, dlts: pd.DataFrame, protocol: Any) -> Dataset:
    """The escalation engine's replay (`cartrial.escalation.replay_decisions`): the one implementation of
    the check of recorded decisions against the protocol's design and DLT window."""
    from cartrial.escalation import replay_decisions

    result = replay_decisions(decisions, infusions, dlts, protocol)
    table = result.table
    n_dev = int((table["deviation"] != "").sum())
    return Dataset(
        "escalation_replay",
        "Recorded escalation decisions next to the protocol design's replay (timing, DLT window, decision)",
        table,
        DLT_EVALUABLE,
        result.derivation,
        ("escalation_decisions", "infusions", "adverse_events"),
        notes=(f"{n_dev} decision(s) with a protocol deviation", *result.notes),
    )


__all__ = ["dlt_datasets"]
