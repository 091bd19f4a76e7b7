"""The CDISC export reads an adverse event that ended after the cut-off as the analysis reads it: ongoing at
the cut-off (D-19.990; the analysis' rule `open_ended_after_cutoff`, D-19.85, D-19.928). Before, a notebook's
own tables (a snapshot given rows `read_snapshot` would have opened) were exported with the real end, the
fatal outcome, grade 5 and the death: AE.AEENDTC after DCUTDTC, DM.DTHDTC a death the analysis had not seen.

By hand (example study, cut-off 2022-03-20; tests/cdisc/conftest.py): CT-001's fatal grade 5 sepsis from
2022-03-10 to 2022-04-02 is, at 2022-03-20, ongoing (AEENDTC blank, AEENRTPT ONGOING, AEENTPT the cut-off),
its grade, fatal outcome and seriousness-by-death not yet known (AETOXGR blank, AEOUT NOT RECOVERED/NOT
RESOLVED — `open_at_cutoff`'s ``not_recovered`` —, AESER and AESDTH blank), and CT-001 alive (DM.DTHFL and
DTHDTC blank), as the analysis' listing has it (tests/analysis/test_cutoff_review_items.py).
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from cartrial.analysis import analyse
from cartrial.cdisc.export import build_all

SEPSIS = {
    "subject_id": "CT-001",
    "term": "Sepsis",
    "category": "infection",
    "started_on": "2022-03-10",
    "ended_on": "2022-04-02",
    "grade": "5",
    "outcome": "fatal",
    "serious": "true",
    "serious_death": "true",
    "relatedness": "probable",
    "meddra_code": "",
    "record_id": "99997",
}


def test_an_event_ending_after_the_cutoff_is_exported_as_the_analysis_reads_it(exported) -> None:  # type: ignore[no-untyped-def]
    snapshot = exported.snapshot
    frame = snapshot.tables["adverse_events"]
    added = pd.DataFrame([frame.iloc[0].to_dict() | SEPSIS])
    tables = dict(snapshot.tables) | {"adverse_events": pd.concat([frame, added], ignore_index=True)}
    own = dataclasses.replace(snapshot, tables=tables)
    analysis = analyse(own)
    listing = analysis.datasets["teae_listing"].table
    read = listing[listing["record_id"] == "99997"].iloc[0]
    assert (read["ended_on"], read["grade"], read["outcome"]) == ("", "", "not_recovered")

    frames = build_all(own, analysis)
    ae = frames["AE"].set_index("AESPID").loc["AE-99997"]
    assert ae["AEENDTC"] == ""
    assert (ae["AEENRTPT"], ae["AEENTPT"]) == ("ONGOING", "2022-03-20")
    assert ae["AETOXGR"] == ""
    assert ae["AEOUT"] == "NOT RECOVERED/NOT RESOLVED"
    assert (ae["AESER"], ae["AESDTH"]) == ("", "")
    dm_all = frames["DM"]
    ct001 = dm_all[dm_all["USUBJID"].str.endswith("-CT-001")].iloc[0]
    assert (ct001["DTHFL"], ct001["DTHDTC"]) == ("", "")
    adae = frames["ADAE"]
    row = adae[adae["AESPID"] == "AE-99997"].iloc[0]
    assert pd.isna(row["AENDT"]) and row["AETOXGR"] == "" and row["AESER"] == ""
