"""Analysis populations: enrolled, safety set, DLT-evaluable (efficacy-evaluable sets come from the engines'
per-subject evaluability, see `cartrial.analysis.efficacy`).

The protocol has no ``analysis:`` section yet; these are the documented defaults (docs/analysis.md):

- **enrolled**: every subject in the snapshot (consented on or before the cut-off);
- **safety**: enrolled subjects with a CAR-T infusion on or before the cut-off (ICH E9 "all treated");
- **dlt_evaluable**: safety-set subjects who completed the protocol's DLT window by the cut-off
  (infusion day + `escalation.dlt_window_days` ≤ cut-off) or had a DLT (adverse event flagged ``dlt``) inside
  the window — the usual 3+3 rule (Storer 1989; the protocol's `escalation` section).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd

from cartrial.analysis.model import Population

ENROLLED = "enrolled"
SAFETY = "safety"
DLT_EVALUABLE = "dlt_evaluable"


def infusion_dates(infusions: pd.DataFrame) -> dict[str, dt.date]:
    """First infusion date (UTC calendar date; day 0) per subject from a template-layout infusions table."""
    out: dict[str, dt.date] = {}
    if len(infusions) == 0:
        return out
    moments = pd.to_datetime(infusions["infused_at"], utc=True)
    for sid, moment in zip(infusions["subject_id"], moments, strict=True):
        day = moment.date()
        if sid not in out or day < out[sid]:
            out[str(sid)] = day
    return out


def dose_levels(infusions: pd.DataFrame) -> dict[str, int]:
    """Dose level of each subject's first infusion."""
    out: dict[str, int] = {}
    if len(infusions) == 0:
        return out
    ordered = infusions.sort_values("infused_at", kind="mergesort")
    for sid, level in zip(ordered["subject_id"], ordered["dose_level"], strict=True):
        out.setdefault(str(sid), int(level))
    return out


def _dlt_days(adverse_events: pd.DataFrame, day0: Mapping[str, dt.date]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    if len(adverse_events) == 0 or "dlt" not in adverse_events:
        return out
    flagged = adverse_events[adverse_events["dlt"].str.lower().isin(["true", "1", "yes"])]
    for sid, started in zip(flagged["subject_id"], flagged["started_on"], strict=True):
        if sid in day0 and started:
            out.setdefault(str(sid), []).append((dt.date.fromisoformat(started[:10]) - day0[sid]).days)
    return out


def derive_populations(
    tables: Mapping[str, pd.DataFrame], protocol: Any, cutoff: dt.date
) -> tuple[dict[str, Population], pd.DataFrame]:
    """(populations by name, one row per enrolled subject with membership flags and reasons)."""
    subjects = sorted(str(s) for s in tables["subjects"]["subject_id"])
    day0 = infusion_dates(tables["infusions"])
    levels = dose_levels(tables["infusions"])
    window = int(protocol.escalation.dlt_window_days)
    dlt_days = _dlt_days(tables["adverse_events"], day0)
    rows: list[dict[str, Any]] = []
    safety: list[str] = []
    evaluable: list[str] = []
    not_infused: list[str] = []
    dlt_excluded: dict[str, list[str]] = {}
    for sid in subjects:
        infused = sid in day0
        follow_up = (cutoff - day0[sid]).days if infused else None
        in_window = [d for d in dlt_days.get(sid, []) if 0 <= d <= window]
        reason = ""
        if not infused:
            not_infused.append(sid)
            reason = "not infused by the cut-off"
        else:
            safety.append(sid)
            assert follow_up is not None
            if follow_up >= window or in_window:
                evaluable.append(sid)
            else:
                reason = f"DLT window ({window} days) not complete at the cut-off"
                dlt_excluded.setdefault(reason, []).append(sid)
        rows.append(
            {
                "subject_id": sid,
                "dose_level": levels.get(sid),
                "infusion_date": day0[sid].isoformat() if infused else "",
                "follow_up_days": follow_up,
                "enrolled": True,
                "safety": infused,
                "dlt_evaluable": sid in evaluable,
                "dlt_in_window": bool(in_window),
                "reason_not_dlt_evaluable": reason,
            }
        )
    populations = {
        ENROLLED: Population(ENROLLED, "every subject consented on or before the cut-off", tuple(subjects)),
        SAFETY: Population(
            SAFETY,
            "enrolled subjects infused with CAR-T cells on or before the cut-off",
            tuple(safety),
            {"not infused by the cut-off": tuple(not_infused)} if not_infused else {},
        ),
        DLT_EVALUABLE: Population(
            DLT_EVALUABLE,
            f"safety-set subjects who completed the {window}-day DLT window by the cut-off "
            "or had a DLT in it",
            tuple(evaluable),
            {k: tuple(v) for k, v in dlt_excluded.items()},
        ),
    }
    frame = pd.DataFrame(rows)
    frame["dose_level"] = frame["dose_level"].astype("Int64")
    frame["follow_up_days"] = frame["follow_up_days"].astype("Int64")
    return populations, frame


__all__ = ["DLT_EVALUABLE", "ENROLLED", "SAFETY", "derive_populations", "dose_levels", "infusion_dates"]
