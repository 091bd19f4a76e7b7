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
from tests.cdisc.conftest import CT002_DEATH_2022_03_01
from tests.conftest import with_relapse


def test_a_relapse_onset_is_a_date_of_participation(exported, example_frames) -> None:  # type: ignore[no-untyped-def]
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all

    snapshot = exported.snapshot
    before = example_frames["DM"]  # build_all of the unchanged example snapshot
    usubjid = next(u for u in before["USUBJID"] if str(u).endswith("CT-002"))
    row = before.set_index("USUBJID").loc[usubjid]
    assert str(row["RFPENDTC"])[:10] == "2022-02-11"  # the case as the example has it

    changed = with_relapse(snapshot, "CT-002", "2022-03-15")
    frames = build_all(changed, analyse(changed), {"TJH": "China"})
    dm = frames["DM"].set_index("USUBJID").loc[usubjid]
    assert str(dm["RFPENDTC"])[:10] == "2022-03-15"
    assert str(dm["RFENDTC"])[:10] == "2022-03-15"
    adtte = frames["ADTTE"]
    relapse = adtte[(adtte["USUBJID"] == usubjid) & (adtte["PARAMCD"] == "TTRELAP")].iloc[0]
    assert relapse["CNSR"] == 0 and relapse["ADT"].isoformat() == "2022-03-15"


def _with(snapshot, **added):  # type: ignore[no-untyped-def]
    """The snapshot with rows added to tables (each a dict of the columns given, the rest blank) or the
    subjects form's columns of CT-002 set (``subject``)."""
    tables = dict(snapshot.tables)
    for name, row in added.items():
        if name == "subject":
            subjects = tables["subjects"].copy()
            for column, value in row.items():
                subjects.loc[subjects["subject_id"] == "CT-002", column] = value
            tables["subjects"] = subjects
            continue
        frame = tables[name]
        tables[name] = pd.concat(
            [frame, pd.DataFrame([{c: "" for c in frame.columns} | row])], ignore_index=True
        )
    return dataclasses.replace(snapshot, tables=tables)


_RELAPSE_0310 = {
    "subject_id": "CT-002",
    "onset_date": "2022-03-10",
    "phenotype": "myelitis",
    "severity": "moderate",
    "lasted_over_24h": "true",
    "fever_or_infection": "false",
    "record_id": "999999",
}


def _ct002(snapshot):  # type: ignore[no-untyped-def]
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all

    frames = build_all(snapshot, analyse(snapshot), {"TJH": "China"})
    dm = frames["DM"]
    usubjid = next(u for u in dm["USUBJID"] if str(u).endswith("CT-002"))
    se = frames["SE"]
    follow_up = se[(se["USUBJID"] == usubjid) & (se["ETCD"] == "FU")].iloc[0]
    return dm.set_index("USUBJID").loc[usubjid], follow_up


def test_a_relapse_after_the_death_is_no_date_of_participation(exported) -> None:  # type: ignore[no-untyped-def]
    """CT-002 dies on 2022-03-01 (a fatal adverse event, a record of that day) and a relapse is reported with
    onset 2022-03-10, after the death: not on study, it extends nothing (D-19.587), so by hand RFPENDTC and
    RFENDTC are the death's day 2022-03-01 (the last record on or before it; last contact 2022-02-11),
    never after DTHDTC, and the follow-up element SE FU ends there."""
    death = CT002_DEATH_2022_03_01
    dm, follow_up = _ct002(_with(exported.snapshot, adverse_events=death, relapses=_RELAPSE_0310))
    assert str(dm["DTHDTC"])[:10] == "2022-03-01"
    assert str(dm["RFPENDTC"])[:10] == "2022-03-01"
    assert str(dm["RFENDTC"])[:10] == "2022-03-01"
    assert str(follow_up["SEENDTC"])[:10] == "2022-03-01"


def test_a_relapse_after_a_withdrawal_is_no_date_of_participation(exported) -> None:  # type: ignore[no-untyped-def]
    """CT-002 withdraws on 2022-02-20 (subjects.disposition_date, a contact, D-19.111) and reports a relapse
    with onset 2022-03-10, after that end of study: by hand RFPENDTC, RFENDTC and the end of SE FU are
    2022-02-20, not 2022-03-10."""
    subject = {"disposition": "withdrawn", "disposition_date": "2022-02-20"}
    dm, follow_up = _ct002(_with(exported.snapshot, subject=subject, relapses=_RELAPSE_0310))
    assert str(dm["RFPENDTC"])[:10] == "2022-02-20"
    assert str(dm["RFENDTC"])[:10] == "2022-02-20"
    assert str(follow_up["SEENDTC"])[:10] == "2022-02-20"
