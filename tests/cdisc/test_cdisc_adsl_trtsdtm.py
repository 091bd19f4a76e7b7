"""ADSL.TRTSDTM (D-19.1268): ADaMIG v1.3 §3.2.7 lists TRTSDTM, the datetime of first exposure to treatment,
beside the required TRTSDT; a CAR-T infusion is given at a recorded instant, yet ADSL carried only its date.
Expected values are read by hand from the example's infusions.csv (`infused_at`, UTC) and sites.csv
(Asia/Shanghai, UTC+8, no daylight saving): CT-001 2021-04-27T02:00:00Z is 10:00 local, CT-002
2021-05-18T02:30:00Z is 10:30 local."""

from __future__ import annotations

import datetime as dt

import pandas as pd


def _check(adsl: pd.DataFrame) -> None:
    by = adsl.set_index("SUBJID")
    assert by.loc["CT-001", "TRTSDTM"] == dt.datetime(2021, 4, 27, 10, 0)
    assert by.loc["CT-002", "TRTSDTM"] == dt.datetime(2021, 5, 18, 10, 30)
    for _, r in adsl.iterrows():  # the date part is TRTSDT, the site's calendar date
        assert r["TRTSDTM"].date() == r["TRTSDT"]


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
    from cartrial.cdisc.export import _restore_types
    from cartrial.cdisc.spec import dataset_specs
    from cartrial.cdisc.transport import read_dataset_json, read_xpt

    frame, meta = read_dataset_json(exported.out / "adam" / "adsl.json")
    types = {c["name"]: c for c in meta["columns"]}
    assert types["TRTSDTM"]["dataType"] == "datetime"
    _check(frame)
    xpt, _, _ = read_xpt(exported.out / "adam" / "adsl.xpt")
    _check(_restore_types(xpt, dataset_specs()["ADSL"]))
    define = (exported.out / "adam" / "define.xml").read_text(encoding="utf-8")
    assert 'Name="TRTSDTM"' in define
