"""ADTTE STARTDTM/ADTM (D-19.262): a time to event measured between instants (CRS onset from the infusion,
CRS resolution from the onset) is a fraction of days; the dataset had only the dates, so AVAL (3.333) could
not be recomputed from STARTDT and ADT (3 days). The instants are now in the dataset, in every file format."""

from __future__ import annotations

import datetime as dt

import pandas as pd


def _check(adtte: pd.DataFrame) -> None:
    timed = adtte[adtte["PARAMCD"].isin(["TTCRSON", "TTCRSRES"]) & (adtte["CNSR"] == 0)]
    assert len(timed) > 0
    for _, r in timed.iterrows():
        start, end = r["STARTDTM"], r["ADTM"]
        assert isinstance(start, dt.datetime) and isinstance(end, dt.datetime)
        assert start.date() == r["STARTDT"] and end.date() == r["ADT"]
        assert abs((end - start).total_seconds() / 86400 - float(r["AVAL"])) < 0.0006
    # a time read from dates only (the relapse endpoint) has no instant
    relapse = adtte[adtte["PARAMCD"] == "TTRELAP"]
    assert relapse["ADTM"].isna().all() and relapse["STARTDTM"].isna().all()


def test_adtte_instants_reproduce_aval_in_the_frame(exported) -> None:  # type: ignore[no-untyped-def]
    _check(exported.frames["ADTTE"])


def test_adtte_instants_in_the_dataset_json_and_xpt_files(exported) -> None:  # type: ignore[no-untyped-def]
    from cartrial.cdisc.export import _restore_types
    from cartrial.cdisc.spec import dataset_specs
    from cartrial.cdisc.transport import read_dataset_json, read_xpt

    frame, meta = read_dataset_json(exported.out / "adam" / "adtte.json")
    types = {c["name"]: c for c in meta["columns"]}
    assert types["ADTM"]["dataType"] == "datetime" and types["ADTM"]["targetDataType"] == "integer"
    _check(frame)
    xpt, _, _ = read_xpt(exported.out / "adam" / "adtte.xpt")
    _check(_restore_types(xpt, dataset_specs()["ADTTE"]))
