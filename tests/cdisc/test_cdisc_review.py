"""Findings of an independent submission review of the export (D-19.139 onwards): each test builds the
datasets of the example study (or an edit of it) and checks one validator-style rule."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd


def _frames_at(template: Path, tmp_path: Path, cutoff: dt.date) -> tuple[object, dict[str, pd.DataFrame]]:
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all, read_sites
    from cartrial.store.snapshot import read_snapshot

    db = tmp_path / "study.db"
    shutil.copyfile(template, db)
    url = f"sqlite:///{db}"
    snapshot = read_snapshot(url, cutoff)
    analysis = analyse(snapshot)
    return analysis, build_all(snapshot, analysis, read_sites(url))


def test_pp_reason_not_done_is_the_parameter_s_own_reason_in_full(
    example_sqlite_template: Path, tmp_path: Path
) -> None:
    """D-19.139: PPREASND of a parameter not done is that parameter's reason, never the subject's whole
    list of reasons cut at 200 characters (at an early cut-off the list named 19 other parameters and the
    reason itself was cut off)."""
    from cartrial.cdisc.export import validate_all
    from cartrial.cdisc.sdtm import PP_PARAMS

    analysis, frames = _frames_at(example_sqlite_template, tmp_path, dt.date(2021, 4, 28))
    assert all(v == [] for v in validate_all(frames).values())
    pp = frames["PP"]
    not_done = pp[pp["PPSTAT"] == "NOT DONE"]
    assert len(not_done) > 0
    nca = analysis.datasets["nca_by_subject"].table  # type: ignore[attr-defined]
    text = str(nca["not_estimable"].iloc[0])
    assert len(text) > 200  # the case the review found
    columns = {code: column for column, (code, _, _) in PP_PARAMS.items()}
    for _, row in not_done.iterrows():
        reason = row["PPREASND"]
        assert reason and len(reason) <= 200
        assert reason.endswith(("points after Tmax", "samples", "profile", ")")), reason
        column = columns.get(row["PPTESTCD"])
        if column is not None:  # the reason the engine gave this parameter, in full
            group = next(g for g in text.split("; ") if column in g.split(": ")[0].split(", "))
            assert reason == group.split(": ", 1)[1]


def test_adtte_traces_each_event_to_its_sdtm_record(exported) -> None:  # type: ignore[no-untyped-def]
    """D-19.140: an ADTTE time read from an SDTM record names the record (SRCDOM, SRCVAR and SRCSEQ, the
    --SEQ of the AE CRS episode or the CE attack), so a reviewer can trace it; a time read from ADSL or from
    no dataset variable has no SRCSEQ."""
    frames = exported.frames
    adtte = frames["ADTTE"]
    assert "SRCSEQ" in adtte.columns
    ae = frames["AE"].set_index(["USUBJID", "AESEQ"])
    ce = frames["CE"].set_index(["USUBJID", "CESEQ"])
    for _, row in adtte.iterrows():
        if row["SRCDOM"] in ("AE", "CE"):
            assert not pd.isna(row["SRCSEQ"]), (row["USUBJID"], row["PARAMCD"])
            source = (ae if row["SRCDOM"] == "AE" else ce).loc[(row["USUBJID"], int(row["SRCSEQ"]))]
            if row["SRCDOM"] == "AE":
                assert source["AECAT"] == "CRS" and source["AEGRPID"] == "CRS-1"
            if row["SRCVAR"] in ("AESTDTC", "AEENDTC", "CESTDTC") and row["CNSR"] == 0:
                assert str(source[row["SRCVAR"]])[:10] == str(row["ADT"])[:10]
        else:
            assert pd.isna(row["SRCSEQ"]), (row["USUBJID"], row["PARAMCD"])
    assert adtte["SRCDOM"].isin(["AE", "CE"]).sum() > 0


def test_adtte_adt_is_the_date_of_the_event_not_startdt_plus_truncated_days(
    example_sqlite_template: Path, tmp_path: Path
) -> None:
    """D-19.141: AVAL of the CRS times is a fraction of days between instants; ADT was STARTDT + AVAL with the
    fraction dropped, so a CRS resolved 1.99 days after a 10:00 onset (AEENDTC 2021-08-29) had ADT 2021-08-28,
    and a CRS ongoing at the cut-off was censored the day before the cut-off. ADT is now the date of the
    event instant (the AE record's date) and the cut-off for the ongoing episode."""
    cutoff = dt.date(2021, 5, 2)  # CT-001's first CRS (onset 2021-04-30T10:00) is ongoing
    _, frames = _frames_at(example_sqlite_template, tmp_path, cutoff)
    adtte = frames["ADTTE"]
    ongoing = adtte[(adtte["PARAMCD"] == "TTCRSRES") & (adtte["CNSR"] == 1)]
    assert len(ongoing) == 1
    assert str(ongoing["ADT"].iloc[0]) == cutoff.isoformat()
    ae = frames["AE"]
    for _, row in adtte[(adtte["SRCDOM"] == "AE") & (adtte["CNSR"] == 0)].iterrows():
        source = ae[(ae["USUBJID"] == row["USUBJID"]) & (ae["AESEQ"] == row["SRCSEQ"])].iloc[0]
        assert str(source[row["SRCVAR"]])[:10] == str(row["ADT"])[:10]
