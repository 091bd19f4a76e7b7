"""PC.PCTPT and PCTPTNUM are one-to-one (SDTMIG 3.4: PCTPTNUM is the numeric version of PCTPT): the day-0
sample drawn before the infusion (PRE-INFUSION) and the one after it (DAY 0) were both PCTPTNUM 0, and a
fractional planned day was written "DAY 0" like day 0. ADPC.NFRLT stays the planned day (D-19.381)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from cartrial.cdisc.sdtm import PRE_INFUSION, planned_time_points
from cartrial.cdisc.spec import dataset_specs
from cartrial.cdisc.validate import validate_dataset

# planned days as a CSV cell types them: -60 to 3650 days, at most two decimals
DAYS = st.integers(-6000, 365000).map(lambda v: v / 100)


def _one_to_one(tpt: pd.Series, num: pd.Series) -> bool:
    pairs = pd.DataFrame({"t": tpt, "n": num}).dropna().drop_duplicates()
    return not pairs["t"].duplicated().any() and not pairs["n"].duplicated().any()


def test_pre_and_post_infusion_day_0_have_their_own_numbers(tmp_path: Path) -> None:
    """The example with a second day-0 sample, drawn 4 h after CT-001's infusion (02:00 UTC; its
    pre-infusion sample is at 01:00): two time points on planned day 0, two numbers."""
    from cartrial import examples
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import export_cdisc
    from cartrial.store.importing import import_templates
    from cartrial.store.snapshot import read_snapshot
    from cartrial.store.study_setup import init_study

    example = examples.path("ct103a-nmosd")
    study = tmp_path / "study"
    shutil.copytree(example / "study", study)
    with (study / "pk_samples.csv").open("a", encoding="utf-8") as handle:
        handle.write("CT-001,car_transgene,ddPCR,peripheral_blood,0,0.17,2021-04-27T06:00:00Z,80,")
        handle.write("copies/ug gDNA,50,false\n")
    url = f"sqlite:///{tmp_path / 'study.db'}"
    init_study(url, example / "protocol.yaml", "admin")
    import_templates(url, study, "admin")
    snapshot = read_snapshot(url, dt.date(2022, 3, 20))
    frames = export_cdisc(snapshot, analyse(snapshot), tmp_path / "cdisc", formats="json").frames  # validated
    pc = frames["PC"]
    assert {PRE_INFUSION, "DAY 0"} <= set(pc["PCTPT"])
    assert _one_to_one(pc["PCTPT"], pc["PCTPTNUM"])
    pre = pc.loc[pc["PCTPT"] == PRE_INFUSION, "PCTPTNUM"]
    day0 = pc.loc[pc["PCTPT"] == "DAY 0", "PCTPTNUM"]
    assert set(day0) == {0} and pre.max() < 0  # sorts before the post-infusion day 0
    adpc = frames["ADPC"].merge(pc[["USUBJID", "PCSEQ", "PCTPT"]], on=["USUBJID", "PCSEQ"])
    assert set(adpc.loc[adpc["PCTPT"].isin([PRE_INFUSION, "DAY 0"]), "NFRLT"]) == {0}


def test_example_pc_time_points_are_one_to_one(exported) -> None:  # type: ignore[no-untyped-def]
    pc = exported.frames["PC"]
    assert PRE_INFUSION in set(pc["PCTPT"])
    assert _one_to_one(pc["PCTPT"], pc["PCTPTNUM"])


def test_adpc_nfrlt_is_the_planned_day(exported) -> None:  # type: ignore[no-untyped-def]
    adpc, pc = exported.frames["ADPC"], exported.frames["PC"]
    merged = adpc.merge(pc[["USUBJID", "PCSEQ", "PCTPT", "PCTPTNUM"]], on=["USUBJID", "PCSEQ"])
    pre = merged["PCTPT"] == PRE_INFUSION
    assert pre.any() and (merged.loc[pre, "NFRLT"] == 0).all()
    assert (merged.loc[~pre, "NFRLT"] == merged.loc[~pre, "PCTPTNUM"]).all()


@given(st.lists(st.tuples(DAYS, st.booleans()), min_size=1, max_size=40))
def test_planned_time_points_are_one_to_one(samples: list[tuple[float, bool]]) -> None:
    nominal = np.array([d for d, _ in samples], dtype=float)
    before = np.array([b and d == 0 for d, b in samples])
    tpt, number, eltm = planned_time_points(nominal, before)
    assert _one_to_one(pd.Series(tpt), pd.Series(number))
    assert all(e.startswith(("P", "-P")) for e in eltm)
    # the same planned day, not before the infusion, is the same time point and the same elapsed time
    frame = pd.DataFrame({"d": nominal, "t": tpt, "e": eltm})[~before]
    assert (frame.groupby("d")["t"].nunique() == 1).all() and (frame.groupby("d")["e"].nunique() == 1).all()


def test_the_validator_refuses_one_number_for_two_time_points() -> None:
    spec = dataset_specs()["PC"]
    frame = pd.DataFrame(
        {"PCTPT": ["PRE-INFUSION", "DAY 0", "DAY 1"], "PCTPTNUM": [0.0, 0.0, 1.0], "PCTPTREF": ["CAR-T"] * 3}
    )
    found = [f for f in validate_dataset(frame, spec) if f.rule == "time-point"]
    assert len(found) == 1 and found[0].record == 1 and "records 1, 2" in found[0].message
