"""DLTs per dose level and the replay of the recorded escalation decisions with the protocol's design.

- `dlt_by_dose_level`: DLT-evaluable subjects and those with a DLT (adverse event flagged ``dlt`` inside the
  protocol's DLT window), per dose level, with the exact CI.
- `escalation_replay`: for each recorded cohort decision, the design of the protocol
  (`cartrial.escalation.design_from_spec`, with its expansion) fitted to the outcomes of every cohort up to
  and including it (`Design.fit`); the recorded decision is compared with the design's by the dose it
  leads to (escalate → level + 1, de-escalate → level − 1, stay / expand → same level, stop → none). Any
  difference is listed as a deviation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from cartrial.analysis.model import Dataset, Population
from cartrial.analysis.populations import DLT_EVALUABLE
from cartrial.analysis.summaries import incidence

RECORDED_STEP: dict[str, int | None] = {
    "escalate": 1,
    "de-escalate": -1,
    "deescalate": -1,
    "de_escalate": -1,
    "stay": 0,
    "expand": 0,
    "expansion": 0,
    "stop": None,
}
"""Recorded decision word → change of dose level it implies (None: no next dose)."""


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
        out["escalation_replay"] = _replay(decisions, protocol)
    return out


def _replay(decisions: pd.DataFrame, protocol: Any) -> Dataset:
    from cartrial.escalation import design_from_spec, parse_outcomes

    n_doses = len(protocol.dose_levels)
    design = design_from_spec(protocol.escalation, n_doses, expansion=protocol.expansion)
    ordered = decisions.assign(_cohort=pd.to_numeric(decisions["cohort"])).sort_values("_cohort")
    history: list[str] = []
    rows: list[dict[str, Any]] = []
    for _, row in ordered.iterrows():
        history.append(str(row["outcomes"]).strip())
        fit = design.fit(parse_outcomes(" ".join(history), n_doses))
        level = int(row["dose_level"])
        word = str(row["decision"]).strip().lower()
        step = RECORDED_STEP.get(word, "unknown")
        recorded_next = None if step is None or step == "unknown" else level + int(step)
        design_decision = fit.decision if fit.continue_ else "stop"
        deviation = ""
        if step == "unknown":
            deviation = f"recorded decision {word!r} not understood"
        elif recorded_next != fit.next_dose:
            deviation = (
                f"recorded {word} (next dose {recorded_next}), design: {design_decision} ({fit.reasons[-1]})"
            )
        rows.append(
            {
                "cohort": int(row["_cohort"]),
                "dose_level": level,
                "decided_on": row["decided_on"],
                "outcomes_so_far": " ".join(history),
                "recorded_decision": word,
                "recorded_next_dose": recorded_next,
                "design_decision": design_decision,
                "design_next_dose": fit.next_dose,
                "design_reasons": "; ".join(fit.reasons),
                "deviation": deviation,
            }
        )
    table = pd.DataFrame(rows)
    for column in ("recorded_next_dose", "design_next_dose"):
        table[column] = table[column].astype("Int64")
    n_dev = int((table["deviation"] != "").sum())
    return Dataset(
        "escalation_replay",
        "Recorded escalation decisions next to the protocol design's replay",
        table,
        DLT_EVALUABLE,
        "cartrial.escalation.design_from_spec(...).fit",
        ("escalation_decisions",),
        notes=(f"{n_dev} deviation(s) from the design",),
    )


__all__ = ["RECORDED_STEP", "dlt_datasets"]
