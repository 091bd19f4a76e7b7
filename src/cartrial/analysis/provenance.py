"""The analysis's per-subject results as rows of the store's `derived_value` table (provenance,
docs/science/decisions.md D-13.1
§1). Pure: builds the rows; `cartrial analyse --persist` writes them with `StudyService.store_derived`.

Each row: engine ``cartrial.analysis.<dataset>`` (the dataset's own derivation is in `options`), the cartrial
version, options = the snapshot's identity (cut-off, lock id or unlocked, SHA-256 of the snapshot's records
and of the protocol) plus the dataset's population and derivation, source = the subject's record
(``subject`` table, its id), parameter, value. The snapshot's content hash is used rather than the audit head,
which moves with every write (the derived values themselves are audited): so running again on the same
records writes nothing new, and a changed record gives an audited update of the values it changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from cartrial.analysis.model import Analysis

PER_SUBJECT_VALUES: dict[str, tuple[str, ...]] = {
    "crs_icans_by_subject": (
        "crs_max_grade",
        "crs_first_onset_day",
        "crs_total_duration_days",
        "icans_max_grade",
    ),
    "teae_by_subject": ("worst_grade", "n_teae"),
    "edss_change": ("baseline_edss", "last_edss", "edss_change"),
    "icaht": ("early_icaht_grade", "late_icaht_grade"),
}
"""Dataset → per-subject columns persisted as they are (one value per subject)."""


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def derived_value_rows(analysis: Analysis, subject_record_ids: Mapping[str, int]) -> list[dict[str, Any]]:
    """The rows for `StudyService.store_derived` (see the module docstring); values of subjects without a
    record id (not in the snapshot) are not persisted."""
    from cartrial import __version__

    snap = analysis.snapshot
    identity = {
        "cutoff": snap.get("cutoff"),
        "lock_id": snap.get("lock_id"),
        "unlocked": snap.get("unlocked"),
        "tables_sha256": snap.get("tables_sha256"),
        "protocol_sha256": snap.get("protocol_sha256"),
    }
    rows: list[dict[str, Any]] = []

    def add(dataset: str, sid: str, parameter: str, number: Any, text: str | None = None) -> None:
        if sid not in subject_record_ids:
            return
        data = analysis.datasets[dataset]
        rows.append(
            {
                "subject_id": sid,
                "engine": f"cartrial.analysis.{dataset}",
                "engine_version": __version__,
                "options": {**identity, "population": data.population, "derivation": data.derivation},
                "source_table": "subject",
                "source_record_id": int(subject_record_ids[sid]),
                "parameter": parameter,
                "value_number": _number(number),
                "value_text": text,
                "rule": data.derivation,
            }
        )

    for dataset, columns in PER_SUBJECT_VALUES.items():
        if dataset not in analysis.datasets:
            continue
        table = analysis.datasets[dataset].table
        for _, record in table.iterrows():
            for column in columns:
                if column in table:
                    add(dataset, str(record["subject_id"]), column, record[column])
    if "responders_by_subject" in analysis.datasets:
        for _, record in analysis.datasets["responders_by_subject"].table.iterrows():
            # the value the analysis counted: an evaluated outcome, or a non-responder imputed under the
            # all_infused rule (stored as 0 and said to be imputed, with the reason; D-19.1190); nothing for
            # a subject outside the endpoint's population
            imputed = bool(record.get("imputed", False))
            responder = record["responder"] if record["evaluable"] or imputed else None
            reason = str(record["reason"])
            add(
                "responders_by_subject",
                str(record["subject_id"]),
                f"responder:{record['endpoint']}",
                responder,
                f"imputed non-responder (evaluable_rule {record['evaluable_rule']}; not evaluable: {reason})"
                if imputed
                else reason,
            )
    if "persistence" in analysis.datasets:
        for _, record in analysis.datasets["persistence"].table.iterrows():
            add(
                "persistence",
                str(record["subject_id"]),
                f"last_quantifiable_day:{record['analyte']}",
                record["last_quantifiable_day"],
            )
    if "aqp4_titre_change" in analysis.datasets:
        for _, record in analysis.datasets["aqp4_titre_change"].table.iterrows():
            add(
                "aqp4_titre_change",
                str(record["subject_id"]),
                "aqp4_titre_change_steps",
                record["change_steps"],
            )
    return rows


__all__ = ["PER_SUBJECT_VALUES", "derived_value_rows"]
