"""ADSL.TRTSDTM (D-19.1268): ADaMIG v1.3 §3.2.7 lists TRTSDTM, the datetime of first exposure to treatment,
beside the required TRTSDT; a CAR-T infusion is given at a recorded instant, yet ADSL carried only its date.
Expected values are read by hand from the example's infusions.csv (`infused_at`, UTC) and sites.csv
(Asia/Shanghai, UTC+8, no daylight saving): CT-001 2021-04-27T02:00:00Z is 10:00 local, CT-002
2021-05-18T02:30:00Z is 10:30 local. A subject never infused, and an infusion whose EX.EXSTDTC has no time
(a date typed without a time at a site west of UTC, D-19.947), have a null TRTSDTM (no imputed time)."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path

import pandas as pd

from .conftest import frames_with_a_subject_never_infused


def _check(adsl: pd.DataFrame) -> None:
    by = adsl.set_index("SUBJID")
    assert by.loc["CT-001", "TRTSDTM"] == dt.datetime(2021, 4, 27, 10, 0)
    assert by.loc["CT-002", "TRTSDTM"] == dt.datetime(2021, 5, 18, 10, 30)
    timed = adsl[adsl["TRTSDTM"].notna()]
    assert len(timed) > 0
    for _, r in timed.iterrows():  # the date part is TRTSDT, the site's calendar date
        assert pd.Timestamp(r["TRTSDTM"]).date() == pd.Timestamp(r["TRTSDT"]).date()


def test_adsl_trtsdtm_is_the_infusion_on_the_site_clock(exported) -> None:  # type: ignore[no-untyped-def]
    _check(exported.frames["ADSL"])


def test_adsl_trtsdtm_is_adtte_ttcrson_startdtm(exported) -> None:  # type: ignore[no-untyped-def]
    adsl = exported.frames["ADSL"].set_index("USUBJID")
    adtte = exported.frames["ADTTE"]
    onset = adtte[(adtte["PARAMCD"] == "TTCRSON") & adtte["STARTDTM"].notna()]
    assert len(onset) > 0
    for _, r in onset.iterrows():
        assert adsl.loc[r["USUBJID"], "TRTSDTM"] == r["STARTDTM"]


def test_adsl_trtsdtm_in_the_files_and_define(exported) -> None:  # type: ignore[no-untyped-def]
    from cartrial.cdisc.transport import read_dataset_json, read_xpt

    frame, meta = read_dataset_json(exported.out / "adam" / "adsl.json")
    types = {c["name"]: c for c in meta["columns"]}
    assert types["TRTSDTM"]["dataType"] == "datetime"
    _check(frame)
    xpt, _, _ = read_xpt(exported.out / "adam" / "adsl.xpt")
    _check(xpt)  # the public reader gives the SAS datetime numbers as datetimes
    define = (exported.out / "adam" / "define.xml").read_text(encoding="utf-8")
    assert 'Name="TRTSDTM"' in define


def test_a_subject_never_infused_has_no_trtsdtm(exported) -> None:  # type: ignore[no-untyped-def]
    adsl = frames_with_a_subject_never_infused(exported, "CT-099")["ADSL"].set_index("SUBJID")
    assert pd.isna(adsl.loc["CT-099", "TRTSDT"])
    assert pd.isna(adsl.loc["CT-099", "TRTSDTM"])
    assert adsl.loc["CT-001", "TRTSDTM"] == dt.datetime(2021, 4, 27, 10, 0)


def test_an_infusion_without_a_time_has_no_trtsdtm(example_sqlite_template: Path, tmp_path: Path) -> None:
    """CT-001's infusion typed as 2021-04-27 (stored 00:00:00Z, D-19.947) at a New York site: EX.EXSTDTC is
    the date alone, so TRTSDTM and ADTTE TTCRSON STARTDTM are null (one rule, no imputed time). TTCRSON's
    AVAL is the analysis' elapsed time from 00:00 of STARTDT on the site's clock (D-19.948) to the CRS onset,
    its assessment of 2021-04-30T10:00:00Z (06:00 EDT), which ADTM gives: from 2021-04-27T04:00Z (00:00
    EDT) to 2021-04-30T10:00Z is 3 days 6 hours = 3.25 days (hand count)."""
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all, read_sites
    from cartrial.store.snapshot import read_snapshot

    db = tmp_path / "study.db"
    shutil.copyfile(example_sqlite_template, db)
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE site SET time_zone = 'America/New_York'")
        connection.execute(
            "UPDATE infusion SET infused_at = '2021-04-27 00:00:00.000000' WHERE subject_id = 'CT-001'"
        )
    url = f"sqlite:///{db}"
    snapshot = read_snapshot(url, dt.date(2022, 3, 20))
    frames = build_all(snapshot, analyse(snapshot), read_sites(url))
    usubjid = "CT103A-NMOSD-CT-001"
    ex = frames["EX"]
    assert list(ex[(ex["USUBJID"] == usubjid) & (ex["EXCAT"] == "CAR-T CELL INFUSION")]["EXSTDTC"]) == [
        "2021-04-27"
    ]
    adsl = frames["ADSL"].set_index("USUBJID")
    assert str(adsl.loc[usubjid, "TRTSDT"]) == "2021-04-27"
    assert pd.isna(adsl.loc[usubjid, "TRTSDTM"])
    adtte = frames["ADTTE"]
    onset = adtte[(adtte["USUBJID"] == usubjid) & (adtte["PARAMCD"] == "TTCRSON")].iloc[0]
    assert onset["CNSR"] == 0
    assert pd.isna(onset["STARTDTM"])
    assert str(onset["STARTDT"]) == "2021-04-27"
    assert pd.Timestamp(onset["ADTM"]).to_pydatetime() == dt.datetime(2021, 4, 30, 6, 0)
    assert onset["AVAL"] == 3.25
    # the define.xml text's formula for an untimed origin: ADTM - (STARTDT at 00:00), elapsed
    origin = pd.Timestamp(onset["STARTDT"]).tz_localize("America/New_York")
    adtm = pd.Timestamp(onset["ADTM"]).tz_localize("America/New_York")
    assert round((adtm - origin).total_seconds() / 86400, 3) == onset["AVAL"]
