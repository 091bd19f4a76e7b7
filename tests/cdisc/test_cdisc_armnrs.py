"""DM.ARMNRS states why ARM and/or ACTARM is null as SDTMIG 3.4 pairs them (D-19.658).

SDTMIG 3.4 DM (ARMNRS, codelist ARMNULRS C142179; DM assumption on ARM/ACTARM and its examples): a subject
never assigned to an arm has ARMCD, ARM, ACTARMCD and ACTARM null and ARMNRS "NOT ASSIGNED" (or "SCREEN
FAILURE"); "ASSIGNED, NOT TREATED" goes with ARM populated (the assigned arm) and ACTARM null. The store
records a subject's dose level only at the infusion (`infusions.dose_level`): a consented subject never
infused has no arm in the data, and DM wrote ARM null with "ASSIGNED, NOT TREATED", a pair a validator
reads as a contradiction (an assignment without the arm assigned). By hand: the new subject CT-099 (consented,
no infusion) has the four arm variables null and ARMNRS "NOT ASSIGNED"; every infused subject has its arm and
ARMNRS null."""

from __future__ import annotations

from tests.cdisc.conftest import frames_with_a_subject_never_infused

NEW = "CT-099"


def test_a_subject_without_an_arm_is_not_assigned(exported) -> None:  # type: ignore[no-untyped-def]
    from cartrial.cdisc.export import validate_all

    frames = frames_with_a_subject_never_infused(exported, NEW)
    assert all(v == [] for v in validate_all(frames).values())
    dm = frames["DM"].set_index("SUBJID")
    for name in ("ARMCD", "ARM", "ACTARMCD", "ACTARM"):
        assert dm.loc[NEW, name] == ""
    assert dm.loc[NEW, "ARMNRS"] == "NOT ASSIGNED"
    treated = dm.drop(index=NEW)
    assert (treated["ARM"] != "").all() and (treated["ARMNRS"] == "").all()
    # the IG's pairing holds for every record
    for _, record in dm.iterrows():
        if record["ARMNRS"] == "ASSIGNED, NOT TREATED":
            assert record["ARM"] != "" and record["ACTARM"] == ""
        if record["ARM"] == "":
            assert record["ARMNRS"] in ("NOT ASSIGNED", "SCREEN FAILURE")
