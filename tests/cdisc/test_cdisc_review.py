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
    event instant (the AE record's date) and, for the ongoing episode, the date of its last CRS assessment
    (D-19.588) — in the example CT-001's of 2021-05-02T10:30, on the cut-off day. With that assessment
    removed the last one is 2021-05-01T10:00: ADT 2021-05-01, the day before the cut-off, never the cut-off
    itself nor STARTDT + truncated days (by hand: onset 2021-04-30T10:00 + 1.0 day)."""
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

    # the last assessment before the cut-off day
    import dataclasses

    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all, read_sites
    from cartrial.store.snapshot import read_snapshot

    url = f"sqlite:///{tmp_path / 'study.db'}"
    snapshot = read_snapshot(url, cutoff)
    crs = snapshot.tables["crs_assessments"]
    dropped = crs[~((crs["subject_id"] == "CT-001") & crs["assessed_at"].str.startswith("2021-05-02"))]
    assert len(dropped) == len(crs) - 1
    changed = dataclasses.replace(snapshot, tables={**snapshot.tables, "crs_assessments": dropped})
    adtte = build_all(changed, analyse(changed), read_sites(url))["ADTTE"]
    ongoing = adtte[(adtte["PARAMCD"] == "TTCRSRES") & (adtte["CNSR"] == 1)]
    assert len(ongoing) == 1
    assert str(ongoing["ADT"].iloc[0]) == "2021-05-01"
    assert ongoing["AVAL"].iloc[0] == 1.0


def test_stresn_is_the_number_stresc_reads_as(exported) -> None:  # type: ignore[no-untyped-def]
    """D-19.142: --STRESN is --STRESC in numeric format (SDTMIG 3.4 §4.5.1); OE wrote OESTRESC 0.18 with
    OESTRESN 0.1761 and OESTRESC "-0.00" for decimal 1.0, PP wrote PPSTRESC 1198.81 with PPSTRESN
    1198.8090195976451."""
    import math

    checked = 0
    for name, frame in exported.frames.items():
        for column in [c for c in frame.columns if c.endswith("STRESC") and len(c) == 8]:
            number = column[:-1] + "N"
            if number not in frame.columns:
                continue
            for text, value in zip(frame[column], frame[number], strict=True):
                text = "" if text is None else str(text)
                try:
                    expected = float(text)
                except ValueError:
                    assert value is None or math.isnan(value), (name, text, value)
                    continue
                assert not text.startswith("-0") or expected != 0, (name, text)
                assert value == expected, (name, column, text, value)
                checked += 1
    assert checked > 1000


def test_an_off_chart_visual_acuity_has_its_standard_result(exported) -> None:  # type: ignore[no-untyped-def]
    """D-19.143: OEORRES counting fingers / hand motion had OESTRESC blank (a validator's "--STRESC missing
    when --ORRES is provided"); OESTRESC is now the neuro engine's off-chart level (CF, HM, LP, NLP),
    OESTRESN stays empty (no logMAR under the off-chart convention none)."""
    oe = exported.frames["OE"]
    collected = oe["OEORRES"].fillna("") != ""
    assert (oe.loc[collected, "OESTRESC"].fillna("") != "").all()
    off = oe[oe["OEORRES"].isin(["CF", "HM"])]
    assert len(off) == 6
    assert (off["OESTRESC"] == off["OEORRES"]).all() and off["OESTRESN"].isna().all()


def test_adam_value_level_origins_are_the_variable_s_adam_origin(exported) -> None:  # type: ignore[no-untyped-def]
    """D-19.144: the ADAE value-level metadata of AETOXGR and ATOXGR (per grading scale) said Collected,
    Source Investigator for the CTCAE records, although an ADaM value is not collected and the variables' own
    origins are Predecessor (AE.AETOXGR) and Derived; the SDTM AE value-level origins (Collected for the
    reported CTCAE grade, Derived for the ASTCT grade) are right and unchanged."""
    from xml.etree import ElementTree as etree

    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}

    def origins(path: Path) -> dict[str, tuple[str, str]]:
        """(Type, Source) of the def:Origin of every ItemDef, by OID."""
        out = {}
        for item in etree.parse(str(path)).iterfind(".//odm:ItemDef", ns):
            origin = item.find("def:Origin", ns)
            assert origin is not None
            out[str(item.get("OID"))] = (str(origin.get("Type")), str(origin.get("Source", "")))
        return out

    adam = origins(exported.out / "adam" / "define.xml")
    assert [oid for oid, (kind, _) in adam.items() if kind == "Collected"] == []
    for name in ("AETOXGR", "ATOXGR"):
        scales = [oid for oid in adam if oid.startswith(f"IT.ADAE.{name}.")]
        assert scales
        assert all(adam[oid] == adam[f"IT.ADAE.{name}"] for oid in scales)
    sdtm = origins(exported.out / "sdtm" / "define.xml")
    kinds = {oid: kind for oid, (kind, _) in sdtm.items() if oid.startswith("IT.AE.AETOXGR.")}
    assert set(kinds.values()) == {"Collected", "Derived"}


def test_adedss_traces_each_score_to_its_qs_or_rs_record(exported_each) -> None:  # type: ignore[no-untyped-def]
    """D-19.145: ADEDSS had no traceability to SDTM (no --SEQ, no SRCDOM/SRCVAR/SRCSEQ); each EDSS record now
    names the EDSS0101 record of QS or RS (whichever the export wrote) it was read from, with the same value
    and date; the per-subject EDSSCHG summary has none."""
    frames = exported_each.frames
    adedss = frames["ADEDSS"]
    domain = "QS" if "QS" in frames and len(frames["QS"]) else "RS"
    source = frames[domain].set_index(["USUBJID", f"{domain}SEQ"])
    scores = adedss[adedss["PARAMCD"] == "EDSS"]
    assert len(scores) > 0 and (scores["SRCDOM"] == domain).all()
    assert (scores["SRCVAR"] == f"{domain}STRESN").all()
    for _, row in scores.iterrows():
        record = source.loc[(row["USUBJID"], int(row["SRCSEQ"]))]
        assert record[f"{domain}TESTCD"] == "EDSS0101"
        assert record[f"{domain}STRESN"] == row["AVAL"]
        assert str(record[f"{domain}DTC"])[:10] == str(row["ADT"])[:10]
    summary = adedss[adedss["PARAMCD"] == "EDSSCHG"]
    assert (summary["SRCDOM"].fillna("") == "").all() and summary["SRCSEQ"].isna().all()


def test_ts_names_the_data_cut_off(example_sqlite_template: Path, tmp_path: Path) -> None:
    """An interim package is read at its data cut-off: TS carries it as DCUTDTC (C98717, "a date which
    indicates any data collected by this date will be used for analysis") with its DCUTDESC (C98718), both
    in CDISC CT's TSPARMCD codelist (C66738). The export had no cut-off in TS at all, so a reviewer of
    two interim packages could not tell them apart from the trial design datasets."""
    from cartrial.cdisc.export import validate_all

    cutoff = dt.date(2021, 9, 30)
    _analysis, frames = _frames_at(example_sqlite_template, tmp_path, cutoff)
    assert all(v == [] for v in validate_all(frames).values())
    ts = frames["TS"].set_index("TSPARMCD")
    assert ts.loc["DCUTDTC", "TSVAL"] == cutoff.isoformat()
    assert ts.loc["DCUTDTC", "TSPARM"] == "Data Cutoff Date"
    assert ts.loc["DCUTDESC", "TSPARM"] == "Data Cutoff Description"
    assert "unlocked" in ts.loc["DCUTDESC", "TSVAL"]  # the template study has no lock at that cut-off
