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
from tests.cdisc.conftest import CT002_DEATH_2022_03_01 as DEATH


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
    # 3 dates in 2 records (LB's, and SV's start and end of one visit), counted by hand (D-19.659)
    assert "Data issues: 3 date(s) in 2 record(s) dated after the subject's death" in (
        tmp_path / "out" / "README.md"
    ).read_text(encoding="utf-8")
    text = json.dumps(manifest["data_issues"]) + "".join(str(i) for i in issues)
    for value in ("2022-03-05", "2022-03-01", "87", "CT-002", "10:00"):
        assert value not in text


def test_the_example_study_has_no_record_after_a_death(exported) -> None:  # type: ignore[no-untyped-def]
    from cartrial.cdisc.validate import records_after_death

    assert records_after_death(exported.frames) == []


def _frames(**domains: list[dict[str, str]]) -> dict[str, pd.DataFrame]:
    dm = pd.DataFrame(
        [
            {"USUBJID": "S-1", "DTHDTC": "2022-03-01"},
            {"USUBJID": "S-2", "DTHDTC": ""},
        ]
    )
    return {"DM": dm} | {name: pd.DataFrame(rows) for name, rows in domains.items()}


def test_a_partial_date_wholly_after_the_death_is_listed() -> None:
    """A right-truncated date is after the death when its earliest possible day is (SDTMIG 3.4 §4.4.2):
    by hand, against a death on 2022-03-01, "2022-04" (April) and "2023" are after; "2022-03" (March, the
    death's month) and "2022" may not be; the subject without a death has none (D-19.659)."""
    from cartrial.cdisc.validate import records_after_death

    cm = [
        {"USUBJID": "S-1", "CMSTDTC": "2022-02-01", "CMENDTC": "2022-04"},
        {"USUBJID": "S-1", "CMSTDTC": "2022-02-01", "CMENDTC": "2022-03"},
        {"USUBJID": "S-1", "CMSTDTC": "2023", "CMENDTC": ""},
        {"USUBJID": "S-1", "CMSTDTC": "2022", "CMENDTC": "2022-03-01T10:00"},
        {"USUBJID": "S-2", "CMSTDTC": "2024-01", "CMENDTC": "2025"},
    ]
    found = sorted((i.variable, i.record) for i in records_after_death(_frames(CM=cm)))
    assert found == [("CMENDTC", 1), ("CMSTDTC", 3)]


def test_a_data_issue_names_the_store_check_only_where_the_store_checks_that_date() -> None:
    """The store's RECORD-AFTER-DEATH (D-19.93) compares a lab's collection, a therapy's start and an
    adverse event's onset with the death (store.edit_checks.DATED_TABLES), and since D-19.727 an adverse
    event's end and a therapy's stop (END_DATES_AFTER_DEATH), not a visit (SV, derived from the records):
    the message says so (D-19.659). Changed by design (D-19.727): AEENDTC and CMENDTC now name the check."""
    from cartrial.cdisc.validate import records_after_death

    frames = _frames(
        LB=[{"USUBJID": "S-1", "LBDTC": "2022-03-05"}],
        AE=[{"USUBJID": "S-1", "AESTDTC": "2022-03-02", "AEENDTC": "2022-03-09"}],
        CM=[{"USUBJID": "S-1", "CMSPID": "CM-3", "CMSTDTC": "2022-02-01", "CMENDTC": "2022-03-09"}],
        SV=[{"USUBJID": "S-1", "SVSTDTC": "2022-03-05", "SVENDTC": "2022-03-05"}],
    )
    messages = {(i.dataset, i.variable): i.message for i in records_after_death(frames)}
    assert set(messages) == {
        ("LB", "LBDTC"),
        ("AE", "AESTDTC"),
        ("AE", "AEENDTC"),
        ("CM", "CMENDTC"),
        ("SV", "SVSTDTC"),
        ("SV", "SVENDTC"),
    }
    for key in (("LB", "LBDTC"), ("AE", "AESTDTC"), ("AE", "AEENDTC"), ("CM", "CMENDTC")):
        assert "RECORD-AFTER-DEATH" in messages[key]
    for key in (("SV", "SVSTDTC"), ("SV", "SVENDTC")):
        assert "RECORD-AFTER-DEATH" not in messages[key]
    assert "the visit's records" in messages[("SV", "SVSTDTC")]


def test_mh_and_cm_history_records_are_not_said_to_be_queried_by_the_store() -> None:
    """MH and CM hold records the store's RECORD-AFTER-DEATH never compares with the death: the diagnosis
    date and the relapse history of the subject form (MHSPID DIAGNOSIS, HISTORY; sdtm.build_mh) and the
    prior treatments of the subject form (CMSPID HISTORY; sdtm.build_cm). Only a relapse form's onset
    (MHSPID REL-n: store table relapse, onset_date) and a therapy form's start (CMSPID CM-n: therapy,
    given_at) are in store.edit_checks.DATED_TABLES."""
    from cartrial.cdisc.validate import records_after_death

    frames = _frames(
        MH=[
            {"USUBJID": "S-1", "MHSPID": "DIAGNOSIS", "MHSTDTC": "2022-03-05"},
            {"USUBJID": "S-1", "MHSPID": "HISTORY", "MHSTDTC": "2022-03-06"},
            {"USUBJID": "S-1", "MHSPID": "REL-12", "MHSTDTC": "2022-03-07"},
        ],
        CM=[
            {"USUBJID": "S-1", "CMSPID": "HISTORY", "CMSTDTC": "2022-03-05", "CMENDTC": ""},
            {"USUBJID": "S-1", "CMSPID": "CM-7", "CMSTDTC": "2022-03-06", "CMENDTC": ""},
        ],
    )
    queried = {(i.dataset, i.record): "RECORD-AFTER-DEATH" in i.message for i in records_after_death(frames)}
    assert queried == {("MH", 1): False, ("MH", 2): False, ("MH", 3): True, ("CM", 1): False, ("CM", 2): True}


def test_every_store_queried_date_is_a_dated_table_of_the_store() -> None:
    """Each SDTM date said to be queried by RECORD-AFTER-DEATH names the store table and date column it is
    written from, and the store's check compares exactly that column (store.edit_checks.DATED_TABLES): the
    two lists cannot drift apart. By hand from the SDTM builders (sdtm.py): EX from infusion and
    lymphodepletion; CM (CM-n) from therapy; AE from adverse_event (a CRS/ICANS episode from its
    assessments); CE and MH (REL-n) from relapse; LB from lab_result and pd_sample; PC from pk_sample; QS/RS
    from edss_assessment; OE from visual_acuity; FT from timed_walk; FA from crs/icans_assessment."""
    from cartrial.cdisc.validate import STORE_QUERIED_DATES
    from cartrial.store.edit_checks import DATED_TABLES, END_DATES_AFTER_DEATH

    expected = {
        ("EX", "EXSTDTC"): {"infusion", "lymphodepletion_administration"},
        ("EX", "EXENDTC"): {"infusion", "lymphodepletion_administration"},
        ("CM", "CMSTDTC"): {"therapy"},
        ("CM", "CMENDTC"): {"therapy"},
        ("AE", "AESTDTC"): {"adverse_event", "crs_assessment", "icans_assessment"},
        ("AE", "AEENDTC"): {"adverse_event", "crs_assessment", "icans_assessment"},
        ("CE", "CESTDTC"): {"relapse"},
        ("MH", "MHSTDTC"): {"relapse"},
        ("LB", "LBDTC"): {"lab_result", "pd_sample"},
        ("PC", "PCDTC"): {"pk_sample"},
        ("QS", "QSDTC"): {"edss_assessment"},
        ("RS", "RSDTC"): {"edss_assessment"},
        ("OE", "OEDTC"): {"visual_acuity"},
        ("FT", "FTDTC"): {"timed_walk"},
        ("FA", "FADTC"): {"crs_assessment", "icans_assessment"},
    }
    assert {
        key: {table for table, _ in date.sources} for key, date in STORE_QUERIED_DATES.items()
    } == expected
    # exact: an end variable's adverse_event/therapy source is the compared end (D-19.727); every other
    # source (a start, a CRS/ICANS episode's end from its assessments) is the table's dated column
    for (_, variable), date in STORE_QUERIED_DATES.items():
        for table, column in date.sources:
            if variable in ("AEENDTC", "CMENDTC") and table in ("adverse_event", "therapy"):
                assert column == END_DATES_AFTER_DEATH[table], (variable, table, column)
            else:
                assert column == DATED_TABLES[table], (variable, table, column)
    assert STORE_QUERIED_DATES[("CM", "CMSTDTC")].spid == ("CM-",)
    assert STORE_QUERIED_DATES[("CM", "CMENDTC")].spid == ("CM-",)
    assert STORE_QUERIED_DATES[("AE", "AEENDTC")].sources[0] == ("adverse_event", "ended_on")
    assert STORE_QUERIED_DATES[("CM", "CMENDTC")].sources == (("therapy", "stopped_at"),)
    assert STORE_QUERIED_DATES[("MH", "MHSTDTC")].spid == ("REL-",)
