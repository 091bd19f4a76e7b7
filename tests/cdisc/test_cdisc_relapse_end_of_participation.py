"""DM.RFPENDTC/RFENDTC, the last date with any record of the subject (D-19.111), include a relapse's onset
(D-19.590): with a relapse after the last contact the relapse follow-up reaches its onset (D-19.587), so
ADTTE TTRELAP's ADT is that onset — after RFPENDTC while the relapse form was not read, an event after the
end of participation.

The example's CT-002 is last seen 2022-02-11 (its RFPENDTC at the cut-off 2022-03-20); a relapse with onset
2022-03-15 is added, so by hand both RFPENDTC and RFENDTC are 2022-03-15 and the TTRELAP event is on that
day."""

from __future__ import annotations

import dataclasses

import pandas as pd


def test_a_relapse_onset_is_a_date_of_participation(exported) -> None:  # type: ignore[no-untyped-def]
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all

    snapshot = exported.snapshot
    before = build_all(snapshot, analyse(snapshot), {"TJH": "China"})["DM"]
    usubjid = next(u for u in before["USUBJID"] if str(u).endswith("CT-002"))
    row = before.set_index("USUBJID").loc[usubjid]
    assert str(row["RFPENDTC"])[:10] == "2022-02-11"  # the case as the example has it

    relapses = snapshot.tables["relapses"]
    added = {c: "" for c in relapses.columns} | {
        "subject_id": "CT-002",
        "onset_date": "2022-03-15",
        "phenotype": "myelitis",
        "severity": "moderate",
        "lasted_over_24h": "true",
        "fever_or_infection": "false",
        "record_id": "999999",
    }
    tables = {**snapshot.tables, "relapses": pd.concat([relapses, pd.DataFrame([added])], ignore_index=True)}
    changed = dataclasses.replace(snapshot, tables=tables)
    frames = build_all(changed, analyse(changed), {"TJH": "China"})
    dm = frames["DM"].set_index("USUBJID").loc[usubjid]
    assert str(dm["RFPENDTC"])[:10] == "2022-03-15"
    assert str(dm["RFENDTC"])[:10] == "2022-03-15"
    adtte = frames["ADTTE"]
    relapse = adtte[(adtte["USUBJID"] == usubjid) & (adtte["PARAMCD"] == "TTRELAP")].iloc[0]
    assert relapse["CNSR"] == 0 and relapse["ADT"].isoformat() == "2022-03-15"
