"""D-19.329: the example's day-0 PK sample is drawn before the infusion (an hour before, see
test_cdisc_adpc_times), but PC.PCTPT read "DAY 0" like a sample after it. A planned pre-dose sample is named
for its place relative to the dose (SDTMIG 3.4 PC: PCTPT, e.g. "PRE-DOSE"; the reference here is the CAR-T
infusion, PCTPTREF): the day-0 sample drawn before the infusion reads PRE-INFUSION; its PCTPTNUM is
-0.5, before DAY 0's (one number per time point, D-19.381); PCELTM is empty (no planned offset before the
dose is held; never DAY 0's P0D, D-19.473); every later
sample keeps DAY n."""

from __future__ import annotations


def test_day_0_sample_before_the_infusion_is_pre_infusion(exported) -> None:  # type: ignore[no-untyped-def]
    pc, dm = exported.frames["PC"], exported.frames["DM"]
    merged = pc.merge(dm[["USUBJID", "RFSTDTC"]], on="USUBJID", validate="many_to_one")
    before = merged["PCDTC"].astype(str) < merged["RFSTDTC"].astype(str)
    assert before.any()
    pre = merged[before]
    assert set(pre["PCTPT"]) == {"PRE-INFUSION"}
    assert set(pre["PCTPTNUM"]) == {-0.5}
    assert set(pre["PCELTM"]) == {""}
    assert set(pre["PCTPTREF"]) == {"CAR-T INFUSION"}
    after = merged[~before]
    assert "PRE-INFUSION" not in set(after["PCTPT"])
    day1 = after[after["PCTPTNUM"] == 1]
    assert len(day1) and set(day1["PCTPT"]) == {"DAY 1"}
