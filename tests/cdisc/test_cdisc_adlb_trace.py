"""ADLB.LBSEQ names the SDTM LB record each analysis value comes from (D-19.259): the record of that
subject with the same test, date and standard result, in the datasets as written."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest


def _dataset(path) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    doc = json.loads(path.read_text())
    return pd.DataFrame(doc["rows"], columns=[c["name"] for c in doc["columns"]])


def _check(adlb: pd.DataFrame, lb: pd.DataFrame) -> None:
    assert len(adlb) > 0
    merged = adlb.merge(lb, on=["USUBJID", "LBSEQ"], how="left", validate="many_to_one")
    assert merged["LBTESTCD"].notna().all()  # every LBSEQ is an LB record of the subject
    assert (merged["LBTESTCD"] == merged["PARAMCD"]).all()
    assert (merged["LBDTC"].astype(str).str[:10] == merged["ADT"].astype(str).str[:10]).all()
    assert (merged["LBSTRESN"].astype(float) == merged["AVAL"].astype(float)).all()
    # one LB record feeds one ADLB record
    assert not adlb.duplicated(["USUBJID", "LBSEQ"]).any()


def test_adlb_lbseq_is_the_lb_record_of_the_value_in_the_frames(example_frames) -> None:  # type: ignore[no-untyped-def]
    frames = example_frames
    adlb = frames["ADLB"].copy()
    adlb["ADT"] = [d.isoformat() for d in adlb["ADT"]]
    _check(adlb, frames["LB"])


def test_adlb_lbseq_is_the_lb_record_of_the_value_in_the_files(exported) -> None:  # type: ignore[no-untyped-def]
    out = exported.out
    _check(_dataset(out / "adam" / "adlb.json"), _dataset(out / "sdtm" / "lb.json"))


def test_every_adam_predecessor_seq_is_the_sdtm_record_of_the_value(exported) -> None:  # type: ignore[no-untyped-def]
    """ADAE.AESEQ and ADPC.PCSEQ are the SDTM records' own --SEQ too (finalize renumbered any 5-character
    --SEQ of an ADaM dataset; D-19.259)."""
    out = exported.out
    ae, adae = _dataset(out / "sdtm" / "ae.json"), _dataset(out / "adam" / "adae.json")
    merged = adae.merge(ae, on=["USUBJID", "AESEQ"], how="left", suffixes=("", "_ae"), validate="one_to_one")
    assert len(merged) > 0 and (merged["AETERM"] == merged["AETERM_ae"]).all()
    assert (merged["ASTDT"].astype(str).str[:10] == merged["AESTDTC"].astype(str).str[:10]).all()
    pc, adpc = _dataset(out / "sdtm" / "pc.json"), _dataset(out / "adam" / "adpc.json")
    merged = adpc.merge(pc, on=["USUBJID", "PCSEQ"], how="left", validate="one_to_one")
    assert len(merged) > 0 and (merged["PCTESTCD"] == merged["PARAMCD"]).all()
    assert (merged["PCSTRESC"].fillna("") == merged["AVALC"].fillna("")).all()


@pytest.mark.parametrize(
    "ungraded",
    [
        {"value": ""},  # a result not reported (labs.csv value not required)
        {"lln": "", "value": "88"},  # a haemoglobin without its LLN: CTCAE anaemia cannot be graded
    ],
    ids=["no-value", "no-lln"],
)
def test_adlb_lbseq_skips_a_same_day_lb_record_adlb_does_not_hold(exported, ungraded) -> None:  # type: ignore[no-untyped-def]
    """D-19.1030: CT-001's haemoglobin of 2021-04-28 (07:00Z, 114 g/L) plus an earlier sample that day
    (00:30Z) which the grading leaves out. LB holds both (the earlier one first); ADLB only the graded one,
    whose LBSEQ must be its own LB record (LBREFID LB-13, LBSTRESN 114), never the ungraded record's. Before
    the fix the k-th-of-the-day match took the first LB record of the day: the ungraded one."""
    import dataclasses

    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all

    snapshot = exported.snapshot
    labs = snapshot.tables["labs"]
    same_day = labs[
        (labs["subject_id"] == "CT-001")
        & (labs["analyte"] == "hemoglobin")
        & (labs["collected_at"] == "2021-04-28T07:00:00Z")
    ]
    assert len(same_day) == 1 and str(same_day["record_id"].iloc[0]) == "13"
    row = same_day.iloc[0].to_dict() | {"collected_at": "2021-04-28T00:30:00Z", "record_id": "999997"}
    row |= ungraded
    tables = {**snapshot.tables, "labs": pd.concat([labs, pd.DataFrame([row])], ignore_index=True)}
    changed = dataclasses.replace(snapshot, tables=tables)
    frames = build_all(changed, analyse(changed), {"TJH": "China"})
    lb, adlb = frames["LB"], frames["ADLB"]
    assert (lb["LBREFID"] == "LB-999997").sum() == 1  # LB keeps the ungraded result
    merged = adlb.merge(lb, on=["USUBJID", "LBSEQ"], how="left", validate="many_to_one")
    assert not (merged["LBREFID"] == "LB-999997").any()
    day = merged[
        (merged["USUBJID"] == "CT103A-NMOSD-CT-001")
        & (merged["PARAMCD"] == "HGB")
        & (merged["ADT"] == dt.date(2021, 4, 28))
    ]
    assert day["LBREFID"].tolist() == ["LB-13"]
    assert day["AVAL"].tolist() == [114.0]
    frames["ADLB"] = adlb.assign(ADT=[d.isoformat() for d in adlb["ADT"]])
    _check(frames["ADLB"], lb)


def test_adlb_lbseq_is_blank_for_a_record_lb_lacks_never_a_same_day_neighbour() -> None:
    """D-19.1030: an ADLB record whose LBREFID LB does not hold has no predecessor: LBSEQ blank, never the
    LBSEQ of another LB record of that subject, test and day (before: the k-th-of-the-day fallback gave it
    LB-2's LBSEQ, [2, 2]). LB by hand: LB-1 (LBSEQ 1, a result ADLB does not hold) and LB-2 (LBSEQ 2), both
    A's lymphocytes of 2024-03-12; the graded table holds records 2 (08:00Z) and 3 (09:00Z, not in LB).
    Expected by hand, in ADLB's time order: record 2 -> LB-2's LBSEQ 2; record 3 -> no LB record -> blank."""
    import types

    from cartrial.analysis import safety
    from cartrial.analysis.model import Dataset
    from cartrial.analysis.populations import SAFETY
    from cartrial.cdisc.adam import build_adlb
    from cartrial.cdisc.spec import dataset_specs

    tables = {
        "labs": pd.DataFrame(
            {
                "record_id": ["2", "3"],
                "subject_id": "A",
                "collected_at": ["2024-03-12T08:00:00Z", "2024-03-12T09:00:00Z"],
                "analyte": "lymphocytes",
                "value": ["0.3", "0.4"],
                "unit": "10^9/L",
                "lln": "1.0",
            }
        ),
        "infusions": pd.DataFrame(
            {
                "subject_id": ["A"],
                "infused_at": ["2024-03-10T09:00:00Z"],
                "dose_level": ["1"],
                "time_zone": [""],
            }
        ),
        "lymphodepletion": pd.DataFrame(columns=["subject_id"]),
    }
    graded = safety.graded_labs(tables, "5.0", "infusion").table
    assert graded["record_id"].astype(str).tolist() == ["2", "3"]
    analysis = types.SimpleNamespace(
        datasets={"lab_shift": Dataset("lab_shift", "", pd.DataFrame(), SAFETY, "", ())},
        intermediates={},
        options={},
    )
    adsl = pd.DataFrame(
        {
            "STUDYID": "S",
            "USUBJID": ["S-A"],
            "TRT01A": "DL1",
            "TRT01AN": 1.0,
            "SAFFL": "Y",
            "TRTSDT": ["2024-03-10"],
        }
    )
    lb = pd.DataFrame(
        {
            "USUBJID": ["S-A", "S-A"],
            "LBSEQ": [1.0, 2.0],
            "LBREFID": ["LB-1", "LB-2"],
            "LBTESTCD": "LYM",  # CDISC LBTESTCD of lymphocytes (ADLB PARAMCD)
            "LBDTC": ["2024-03-12T07:00:00", "2024-03-12T08:00:00"],
        }
    )
    adlb = build_adlb(analysis, {"LB": lb}, adsl, dataset_specs()["ADLB"], None, graded_labs=graded)
    assert adlb["AVAL"].tolist() == [0.3, 0.4]  # ADLB's order: record 2, then record 3
    assert adlb["PARAMCD"].tolist() == ["LYM", "LYM"] and adlb["ADT"].tolist() == [dt.date(2024, 3, 12)] * 2
    seq = adlb["LBSEQ"].to_numpy(dtype=float)
    assert seq[0] == 2.0 and math.isnan(seq[1])
    # a LBREFID LB names twice for the subject identifies no record: blank too, never either LBSEQ
    twice = pd.concat([lb, lb.iloc[[1]].assign(LBSEQ=3.0)], ignore_index=True)
    adlb = build_adlb(analysis, {"LB": twice}, adsl, dataset_specs()["ADLB"], None, graded_labs=graded)
    assert np.isnan(adlb["LBSEQ"].to_numpy(dtype=float)).all()
