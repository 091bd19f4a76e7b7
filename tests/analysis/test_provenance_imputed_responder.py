"""The provenance of a responder derivation records what the analysis counted (D-19.1190): under the
``all_infused`` rule a subject the engine cannot evaluate is counted as a non-responder (non-responder
imputation, D-19.1134); its `derived_value` row stored no value (``responder`` None) although the report,
ADRS (AVALC 'N') and the proportion count it as 0. The row now holds 0 and says it was imputed, with the
reason; a subject outside the population (default rule) still has no value."""

from __future__ import annotations

import dataclasses

from cartrial.analysis import analyse
from cartrial.analysis.provenance import derived_value_rows
from cartrial.protocol import parse_protocol
from cartrial.store.snapshot import StudySnapshot


def _responder_rows(analysis: object, endpoint: str) -> dict[str, dict[str, object]]:
    table = analysis.datasets["responders_by_subject"].table  # type: ignore[attr-defined]
    ids = {sid: i + 1 for i, sid in enumerate(sorted(set(table["subject_id"])))}
    return {
        str(row["subject_id"]): row
        for row in derived_value_rows(analysis, ids)  # type: ignore[arg-type]
        if row["parameter"] == f"responder:{endpoint}"
    }


def test_an_imputed_non_responder_is_stored_as_imputed(snapshot: StudySnapshot) -> None:
    changed = dataclasses.replace(
        snapshot,
        protocol=parse_protocol(
            snapshot.protocol_yaml[: snapshot.protocol_yaml.index("\nanalysis:\n")]
            + "\nanalysis:\n  populations:\n    efficacy_evaluable: {visual_acuity_response: all_infused}\n"
        ),
    )
    rows = _responder_rows(analyse(changed), "visual_acuity_response")
    imputed = {sid: row for sid, row in rows.items() if "imputed" in str(row["value_text"])}
    # the example: 4 infused subjects without an evaluable eye (as ADRS counts them, D-19.1134)
    assert len(imputed) == 4
    for row in imputed.values():
        assert row["value_number"] == 0.0
        assert "non-responder" in str(row["value_text"]) and "no eye evaluable" in str(row["value_text"])
    evaluated = [row for sid, row in rows.items() if sid not in imputed]
    assert len(evaluated) == 8 and all(row["value_number"] in (0.0, 1.0) for row in evaluated)
    assert not any("imputed" in str(row["value_text"]) for row in evaluated)


def test_default_rule_leaves_a_not_evaluable_subject_without_a_value(snapshot: StudySnapshot) -> None:
    rows = _responder_rows(analyse(snapshot), "visual_acuity_response")
    missing = [row for row in rows.values() if row["value_number"] is None]
    assert len(missing) == 4
    assert not any("imputed" in str(row["value_text"]) for row in rows.values())
