"""ADLB carries PCHG, ANRIND and BNRIND (D-19.1436), the BDS variables the reference lists for ADLB
(data-standards.md §3: "... BASE, CHG, PCHG, ABLFL, ANRIND, BNRIND, ATOXGR ...").

Sources: CDISC ADaMIG v1.3 §3.3.5 BDS (PCHG = (AVAL - BASE) / BASE * 100, on the records CHG is on; ANRIND
the reference range indicator of AVAL; BNRIND the indicator of the baseline record); SDTMIG 3.4 LB.LBNRIND
(D-19.435, D-19.474: LOW below the lower limit, HIGH above the upper, else NORMAL).

Expected values by hand from examples/ct103a-nmosd/study/labs.csv, CT-001 hemoglobin (g/L, LLN 115):
baseline 2021-04-22 119 (NORMAL) - the last record before lymphodepletion, which starts 2021-04-23
(lymphodepletion.csv; the baseline is the last value before lymphodepletion, D-19.710) -, 2021-04-27 121
(the infusion day, 15:00 local after the 10:00 infusion: CHG +2, PCHG +2/119*100 = +1.6807 %),
2021-04-28 114 (LOW; CHG -5, PCHG -5/119*100 = -4.2017 %),
2021-05-04 97 (LOW; CHG -22, PCHG -22/119*100 = -18.4874 %), 2021-05-18 124 (NORMAL; PCHG +4.2017 %)."""

from __future__ import annotations

import datetime as dt
import math

import pytest


def _hgb(frames):  # type: ignore[no-untyped-def]
    adlb = frames["ADLB"]
    rows = adlb[(adlb["USUBJID"] == "CT103A-NMOSD-CT-001") & (adlb["PARAMCD"] == "HGB")]
    return rows.set_index("ADT")


def test_adlb_pchg_by_hand(example_frames) -> None:  # type: ignore[no-untyped-def]
    hgb = _hgb(example_frames)
    assert hgb.loc[dt.date(2021, 5, 4), "PCHG"] == pytest.approx(-22 / 119 * 100)
    assert hgb.loc[dt.date(2021, 4, 28), "PCHG"] == pytest.approx(-5 / 119 * 100)
    assert hgb.loc[dt.date(2021, 4, 27), "CHG"] == pytest.approx(2)
    assert hgb.loc[dt.date(2021, 4, 27), "PCHG"] == pytest.approx(2 / 119 * 100)
    assert hgb.loc[dt.date(2021, 5, 18), "PCHG"] == pytest.approx(5 / 119 * 100)
    base = hgb.loc[dt.date(2021, 4, 22)]
    assert base["ABLFL"] == "Y" and math.isnan(base["PCHG"])  # only where CHG is (post-baseline)
    both = example_frames["ADLB"].dropna(subset=["CHG"])
    assert both["PCHG"].notna().sum() == (both["BASE"] != 0).sum()


def test_adlb_anrind_and_bnrind_by_hand(example_frames) -> None:  # type: ignore[no-untyped-def]
    hgb = _hgb(example_frames)
    assert hgb.loc[dt.date(2021, 4, 22), "ANRIND"] == "NORMAL"
    assert hgb.loc[dt.date(2021, 4, 28), "ANRIND"] == "LOW"
    assert hgb.loc[dt.date(2021, 5, 4), "ANRIND"] == "LOW"
    assert hgb.loc[dt.date(2021, 5, 18), "ANRIND"] == "NORMAL"
    assert set(hgb["BNRIND"]) == {"NORMAL"}  # the baseline record's ANRIND on every record


def test_adlb_anrind_is_lb_lbnrind_of_its_record(example_frames) -> None:  # type: ignore[no-untyped-def]
    """One derivation: ANRIND is LB.LBNRIND of the record LBSEQ names (ADaMIG: a predecessor)."""
    adlb, lb = example_frames["ADLB"], example_frames["LB"]
    source = lb.set_index(["USUBJID", "LBSEQ"])["LBNRIND"]
    linked = adlb.dropna(subset=["LBSEQ"])
    expected = [source.get((u, s), "") for u, s in zip(linked["USUBJID"], linked["LBSEQ"], strict=True)]
    assert list(linked["ANRIND"]) == expected
    from cartrial.cdisc.spec import dataset_specs

    names = [v.name for v in dataset_specs()["ADLB"].variables]
    assert names.index("CHG") < names.index("PCHG") and names.index("ANRIND") < names.index("BNRIND")
    # ADaMIG v1.3 BDS: PCHG is Perm (as CHG there; CHG kept as the spec has it)
    assert dataset_specs()["ADLB"].variable("PCHG").core == "Perm"
