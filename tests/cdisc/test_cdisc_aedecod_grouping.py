"""AE.AEDECOD and ADAE's first-occurrence-per-term flag read the analysis' one term grouping (D-19.932):
before, AEDECOD was the verbatim term and AOCCPFL grouped its exact text, so "lymphocyte count decreased"
was a term apart from "Lymphocyte count decreased" in ADAE while `teae_by_term` counted them as one.

Added to the example (adverse_events.csv: every infused subject has "Lymphocyte count decreased"): CT-002
"lymphocyte count decreased" on 2021-06-20 (treatment-emergent: infused 2021-05-18), and "Fever" (CT-001)
and "Pyrexia" (CT-003), both coded 10037660. By hand: AETERM keeps the verbatim texts; AEDECOD is
"Lymphocyte count decreased" (12 spellings against 1) and "Fever" for both coded events (a 1-1 tie, F < P);
CT-002 has one first occurrence of that term, and each ADAE term's first occurrences are the subjects of
its `teae_by_term` row.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from cartrial.analysis import analyse
from cartrial.cdisc.export import build_all


def test_aedecod_and_aoccpfl_group_as_the_analysis_does(exported) -> None:  # type: ignore[no-untyped-def]
    snapshot = exported.snapshot
    frame = snapshot.tables["adverse_events"]
    base = frame.iloc[0].to_dict() | {"ended_on": "", "grade": "1", "serious": "false", "outcome": ""}
    added = pd.DataFrame(
        [
            base
            | {"subject_id": "CT-002", "term": "lymphocyte count decreased", "category": "hematologic"}
            | {"started_on": "2021-06-20", "meddra_code": "", "record_id": "99030"},
            base
            | {"subject_id": "CT-001", "term": "Fever", "category": "non_hematologic"}
            | {"started_on": "2021-06-01", "meddra_code": "10037660", "record_id": "99031"},
            base
            | {"subject_id": "CT-003", "term": "Pyrexia", "category": "non_hematologic"}
            | {"started_on": "2021-07-01", "meddra_code": "10037660", "record_id": "99032"},
        ]
    )
    tables = dict(snapshot.tables) | {"adverse_events": pd.concat([frame, added], ignore_index=True)}
    changed = dataclasses.replace(snapshot, tables=tables)
    analysis = analyse(changed)
    frames = build_all(changed, analysis)
    ae = frames["AE"].set_index("AESPID")
    assert ae.loc["AE-99030", "AETERM"] == "lymphocyte count decreased"
    assert ae.loc["AE-99030", "AEDECOD"] == "Lymphocyte count decreased"
    assert ae.loc[["AE-99031", "AE-99032"], "AETERM"].tolist() == ["Fever", "Pyrexia"]
    assert ae.loc[["AE-99031", "AE-99032"], "AEDECOD"].tolist() == ["Fever", "Fever"]
    assert ae.loc[["AE-99031", "AE-99032"], "AEPTCD"].tolist() == [10037660.0, 10037660.0]
    adae = frames["ADAE"]
    lympho = adae[
        (adae["USUBJID"].str.endswith("CT-002")) & (adae["AEDECOD"] == "Lymphocyte count decreased")
    ]
    assert len(lympho) == 2 and (lympho["AOCCPFL"] == "Y").sum() == 1
    by_term = analysis.datasets["teae_by_term"].table
    first = adae[adae["AOCCPFL"] == "Y"].groupby("AEDECOD")["USUBJID"].nunique()
    for term in ("Lymphocyte count decreased", "Fever", "Anaemia"):
        (row,) = by_term[by_term["term"] == term].to_dict("records")
        assert first[term] == row["n_subjects"], term
