"""ADLB.LBSEQ names the SDTM LB record each analysis value comes from (D-19.259): the record of that
subject with the same test, date and standard result, in the datasets as written."""

from __future__ import annotations

import json

import pandas as pd


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
