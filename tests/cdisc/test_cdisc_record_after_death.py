"""A record dated after the subject's death is a data error, not a date of participation (D-19.653).

SDTMIG 3.4 DM: RFPENDTC is the end of participation or follow-up ("examples include ... death date"); no
contact follows a death. The store accepts such a record with a data query (edit check RECORD-AFTER-DEATH,
D-19.93), and the analysis ends the follow-up at the death (`last_contact`, D-19.94). The export moved
RFPENDTC, RFENDTC and the end of the SE follow-up element to a lab drawn after the death, so DM said the
subject took part after DTHDTC.

Case by hand: the example's CT-002 (site TJH, Asia/Shanghai) dies on 2022-03-01 (a fatal adverse event) and
has a haemoglobin drawn 2022-03-05T02:00Z (10:00 in Wuhan). RFPENDTC, RFENDTC and SEENDTC of FU are the
death's day 2022-03-01; the lab stays in LB as recorded (LBDTC 2022-03-05T10:00+08:00: nothing is dropped
or moved), as is the unscheduled visit it makes in SV, and the export lists both as data issues naming the
dataset, the variable and the record number, never a value; the export is written (the query is the
site's to resolve).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd

DEATH = {
    "subject_id": "CT-002",
    "term": "Death",
    "category": "death",
    "started_on": "2022-03-01",
    "ended_on": "2022-03-01",
    "grade": "5",
    "grading_scale": "CTCAE",
    "grading_scale_version": "5.0",
    "serious": "true",
    "serious_death": "true",
    "relatedness": "unrelated",
    "dlt": "false",
    "outcome": "fatal",
    "record_id": "999998",
}


def _dead_with_a_later_lab(snapshot):  # type: ignore[no-untyped-def]
    tables = dict(snapshot.tables)
    labs = tables["labs"]
    lab = labs[(labs["subject_id"] == "CT-002") & (labs["analyte"] == "hemoglobin")].iloc[-1].to_dict()
    lab |= {"collected_at": "2022-03-05T02:00:00Z", "value": "87", "record_id": "999997"}
    tables["labs"] = pd.concat([labs, pd.DataFrame([lab])], ignore_index=True)
    aes = tables["adverse_events"]
    tables["adverse_events"] = pd.concat(
        [aes, pd.DataFrame([{c: "" for c in aes.columns} | DEATH])], ignore_index=True
    )
    return dataclasses.replace(snapshot, tables=tables)


def test_a_record_after_the_death_ends_no_participation(exported, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import export_cdisc

    snapshot = _dead_with_a_later_lab(exported.snapshot)
    result = export_cdisc(
        snapshot, analyse(snapshot), tmp_path / "out", formats="json", created="2026-01-01T00:00:00"
    )
    frames = result.frames
    dm = frames["DM"].set_index("USUBJID").loc["CT103A-NMOSD-CT-002"]
    assert str(dm["DTHDTC"])[:10] == "2022-03-01"
    assert str(dm["RFPENDTC"])[:10] == "2022-03-01"
    assert str(dm["RFENDTC"])[:10] == "2022-03-01"
    se = frames["SE"]
    follow_up = se[(se["USUBJID"] == "CT103A-NMOSD-CT-002") & (se["ETCD"] == "FU")].iloc[0]
    assert str(follow_up["SEENDTC"])[:10] == "2022-03-01"
    # the record is kept as recorded, on the site's clock
    lb = frames["LB"].reset_index(drop=True)
    later = lb[(lb["USUBJID"] == "CT103A-NMOSD-CT-002") & (lb["LBDTC"] == "2022-03-05T10:00+08:00")]
    assert len(later) == 1
    record = int(later.index[0]) + 1
    # its visit (an unscheduled one, from the lab) is in SV as it happened
    sv = frames["SV"].reset_index(drop=True)
    visit = sv[(sv["USUBJID"] == "CT103A-NMOSD-CT-002") & (sv["SVSTDTC"].str[:10] == "2022-03-05")]
    assert len(visit) == 1
    visit_record = int(visit.index[0]) + 1
    # and listed as data issues: dataset, variable, record number; no value
    expected = [
        ("LB", "LBDTC", record),
        ("SV", "SVSTDTC", visit_record),
        ("SV", "SVENDTC", visit_record),
    ]
    issues = [i for i in result.data_issues if i.rule == "record-after-death"]
    assert len(issues) == len(result.data_issues)
    assert sorted((i.dataset, i.variable, i.record) for i in issues) == sorted(expected)
    assert {i.severity for i in issues} == {"warning"}
    manifest = json.loads((tmp_path / "out" / "cdisc-export.json").read_text(encoding="utf-8"))
    assert sorted((i["dataset"], i["variable"], i["record"]) for i in manifest["data_issues"]) == sorted(
        expected
    )
    assert "Data issues: 3 record(s) dated after the subject's death" in (
        tmp_path / "out" / "README.md"
    ).read_text(encoding="utf-8")
    text = json.dumps(manifest["data_issues"]) + "".join(str(i) for i in issues)
    for value in ("2022-03-05", "2022-03-01", "87", "CT-002", "10:00"):
        assert value not in text


def test_the_example_study_has_no_record_after_a_death(exported) -> None:  # type: ignore[no-untyped-def]
    from cartrial.cdisc.validate import records_after_death

    assert records_after_death(exported.frames) == []
