"""ADSL of a reviewer of this single-infusion design (D-19.1360, D-19.1361, D-19.1362): TRTEDTM, the
datetime of last exposure (ADaMIG v1.3 ADSL, beside TRTEDT), DTHDT, the date of death (ADaMIG v1.3 ADSL
subject death variables, beside DTHFL), and DCUTDT, the data cut-off date of the analysis (TS DCUTDTC).

Expected values are read by hand: the example's infusions.csv (`infused_at`, UTC) and sites.csv
(Asia/Shanghai, UTC+8, no daylight saving): CT-001 2021-04-27T02:00:00Z is 10:00 local, CT-002
2021-05-18T02:30:00Z is 10:30 local; the protocol allows one CAR-T infusion (INFUSION-ONCE, D-19.284), so
the last exposure is that infusion. The README cut-off is 2022-03-20. Nobody dies in the example; a fatal
adverse event of CT-003 on 2021-06-18 makes it dead on that date."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from .conftest import CUTOFF, frames_with_a_subject_never_infused

DEATH = dt.date(2021, 6, 18)


def test_adsl_trtedtm_is_the_single_infusion_on_the_site_clock(exported) -> None:  # type: ignore[no-untyped-def]
    by = exported.frames["ADSL"].set_index("SUBJID")
    assert by.loc["CT-001", "TRTEDTM"] == dt.datetime(2021, 4, 27, 10, 0)
    assert by.loc["CT-002", "TRTEDTM"] == dt.datetime(2021, 5, 18, 10, 30)
    timed = by[by["TRTEDTM"].notna()]
    assert len(timed) >= 2
    for _, r in timed.iterrows():  # its date part is TRTEDT, the site's calendar date
        assert pd.Timestamp(r["TRTEDTM"]).date() == pd.Timestamp(r["TRTEDT"]).date()


def test_a_subject_never_infused_has_no_trtedtm(exported) -> None:  # type: ignore[no-untyped-def]
    adsl = frames_with_a_subject_never_infused(exported, "CT-099")["ADSL"].set_index("SUBJID")
    assert pd.isna(adsl.loc["CT-099", "TRTEDT"])
    assert pd.isna(adsl.loc["CT-099", "TRTEDTM"])


def test_adsl_dcutdt_is_the_cutoff_for_every_subject(exported) -> None:  # type: ignore[no-untyped-def]
    adsl = exported.frames["ADSL"]
    assert len(adsl) > 0
    assert {str(v) for v in adsl["DCUTDT"]} == {CUTOFF.isoformat()}


def test_adsl_dthdt_is_the_date_of_death(exported) -> None:  # type: ignore[no-untyped-def]
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all, validate_all

    adsl = exported.frames["ADSL"]
    assert adsl["DTHDT"].isna().all()  # nobody dies in the example
    ae = exported.snapshot.tables["adverse_events"]
    death = {column: "" for column in ae.columns} | {
        "subject_id": "CT-003",
        "term": "Death NOS",
        "category": "death",
        "started_on": DEATH.isoformat(),
        "ended_on": DEATH.isoformat(),
        "grade": "5",
        "grading_scale": "CTCAE",
        "grading_scale_version": "5.0",
        "serious": "true",
        "relatedness": "unrelated",
        "dlt": "false",
        "outcome": "fatal",
        "record_id": "999999",
    }
    tables = {
        **exported.snapshot.tables,
        "adverse_events": pd.concat([ae, pd.DataFrame([death])], ignore_index=True),
    }
    snapshot = dataclasses.replace(exported.snapshot, tables=tables)
    frames = build_all(snapshot, analyse(snapshot), {"TJH": "China"})
    by = frames["ADSL"].set_index("SUBJID")
    assert by.loc["CT-003", "DTHFL"] == "Y"
    assert str(by.loc["CT-003", "DTHDT"]) == DEATH.isoformat()
    assert by.drop(index="CT-003")["DTHDT"].isna().all()
    findings = validate_all(frames)
    assert findings["ADSL"] == [], findings["ADSL"][:2]


def test_new_adsl_variables_in_the_files_and_define(exported) -> None:  # type: ignore[no-untyped-def]
    from cartrial.cdisc.transport import read_dataset_json

    _, meta = read_dataset_json(exported.out / "adam" / "adsl.json")
    types = {c["name"]: c["dataType"] for c in meta["columns"]}
    assert types["TRTEDTM"] == "datetime"
    assert types["DTHDT"] == "date"
    assert types["DCUTDT"] == "date"
    define = (exported.out / "adam" / "define.xml").read_text(encoding="utf-8")
    for name in ("TRTEDTM", "DTHDT", "DCUTDT"):
        assert f'Name="{name}"' in define
        assert f'OID="MT.ADSL.{name}"' in define  # a derived variable has its method


def test_a_never_infused_subject_has_the_cutoff(exported) -> None:  # type: ignore[no-untyped-def]
    """The frame of a never-infused subject still has TRTEDTM, DTHDT and DCUTDT, and its DCUTDT is the
    cut-off (one for every subject, infused or not)."""
    frames = frames_with_a_subject_never_infused(exported, "CT-099")
    adsl = frames["ADSL"].set_index("SUBJID")
    for name in ("TRTEDTM", "DTHDT", "DCUTDT"):
        assert name in adsl.columns
    assert str(adsl.loc["CT-099", "DCUTDT"]) == CUTOFF.isoformat()


def test_trtedtm_on_a_site_west_of_utc(pacific_frames) -> None:  # type: ignore[no-untyped-def]
    """CT-001's infusion 2021-04-27T02:00:00Z at a site on America/Los_Angeles (PDT, UTC-7) is 2021-04-26
    19:00 there: TRTEDTM and TRTSDTM hold that wall-clock time, TRTEDT the site's date 2021-04-26 (UTC's
    and Shanghai's date is 04-27)."""
    by = pacific_frames["ADSL"].set_index("SUBJID")
    assert by.loc["CT-001", "TRTEDTM"] == dt.datetime(2021, 4, 26, 19, 0)
    assert by.loc["CT-001", "TRTSDTM"] == dt.datetime(2021, 4, 26, 19, 0)
    assert str(by.loc["CT-001", "TRTEDT"]) == "2021-04-26"


def test_a_second_infusion_never_reaches_ex(exported) -> None:  # type: ignore[no-untyped-def]
    """A re-infusion cannot reach EX through the analysis: `analyse` refuses a second infusion row of a
    subject (the infusions' parse, one infusion row per subject), so the export is never built of one."""
    from cartrial.analysis import analyse
    from cartrial.errors import InputError

    infusions = exported.snapshot.tables["infusions"]
    again = infusions.iloc[[0]].assign(infused_at="2021-05-27T02:00:00Z", record_id="999999")
    tables = {**exported.snapshot.tables, "infusions": pd.concat([infusions, again], ignore_index=True)}
    with pytest.raises(InputError, match="subject listed twice; allowed: one infusion row per subject"):
        analyse(dataclasses.replace(exported.snapshot, tables=tables))


def test_trtedtm_of_two_infusions_in_ex_is_the_later(exported, example_frames) -> None:  # type: ignore[no-untyped-def]
    """`build_adsl` of an EX holding a second CAR-T infusion of CT-001 (EXSTDTC 2021-05-27T09:15+08:00, a
    frame the analysis never makes, see above): TRTSDT/TRTSDTM stay the first infusion (2021-04-27 10:00
    Shanghai), TRTEDT/TRTEDTM are the later one (2021-05-27 09:15 on the site's clock, Asia/Shanghai)."""
    from cartrial.cdisc.adam import build_adsl
    from cartrial.cdisc.spec import dataset_specs

    ex = example_frames["EX"]
    first = ex[(ex["USUBJID"] == "CT103A-NMOSD-CT-001") & (ex["EXCAT"] == "CAR-T CELL INFUSION")]
    assert list(first["EXSTDTC"]) == ["2021-04-27T10:00+08:00"]
    second = first.assign(EXSEQ=99.0, EXSTDTC="2021-05-27T09:15+08:00", EXENDTC="2021-05-27T09:15+08:00")
    sdtm = {**example_frames, "EX": pd.concat([ex, second], ignore_index=True)}
    adsl = build_adsl(exported.analysis, sdtm, dataset_specs()["ADSL"], "CT103A-NMOSD", CUTOFF)
    by = adsl.set_index("SUBJID")
    assert by.loc["CT-001", "TRTSDTM"] == dt.datetime(2021, 4, 27, 10, 0)
    assert str(by.loc["CT-001", "TRTSDT"]) == "2021-04-27"
    assert by.loc["CT-001", "TRTEDTM"] == dt.datetime(2021, 5, 27, 9, 15)
    assert str(by.loc["CT-001", "TRTEDT"]) == "2021-05-27"
    assert by.loc["CT-002", "TRTEDTM"] == by.loc["CT-002", "TRTSDTM"] == dt.datetime(2021, 5, 18, 10, 30)
