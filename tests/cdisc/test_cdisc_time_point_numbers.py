"""PC.PCTPT and PCTPTNUM are one-to-one (SDTMIG 3.4: PCTPTNUM is the numeric version of PCTPT): the day-0
sample drawn before the infusion (PRE-INFUSION) and the one after it (DAY 0) were both PCTPTNUM 0, and a
fractional planned day was written "DAY 0" like day 0. ADPC.NFRLT stays the planned day (D-19.381)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial.cdisc.sdtm import PRE_INFUSION, PRE_INFUSION_NUMBER, planned_time_points, pre_infusion_number
from cartrial.cdisc.spec import dataset_specs
from cartrial.cdisc.validate import validate_dataset

# planned days as a CSV cell types them: -60 to 3650 days, at most two decimals
DAYS = st.integers(-6000, 365000).map(lambda v: v / 100)
# any planned day the store takes (a float from -60 to 3650), not within 1e-9 of 0 unless 0 (no float lies
# between such a day and 0 for PRE-INFUSION, `pre_infusion_number`)
ANY_DAY = st.floats(-60, 3650, allow_nan=False).filter(lambda d: d == 0 or abs(d) >= 1e-9)


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
    # PRE-INFUSION has no planned elapsed time (D-19.473); every other time point has one
    assert all((e == "") == (t == PRE_INFUSION) for t, e in zip(tpt, eltm, strict=True))
    assert all(e.startswith(("P", "-P")) for e in eltm if e)
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


def _pre_number(nominal: list[float]) -> float:
    """PCTPTNUM of a pre-infusion day-0 sample added to samples at planned days `nominal`."""
    days = np.array([*nominal, 0.0], dtype=float)
    before = np.zeros(len(days), dtype=bool)
    before[-1] = True
    tpt, number, _ = planned_time_points(days, before)
    assert tpt[-1] == PRE_INFUSION
    assert _one_to_one(pd.Series(tpt), pd.Series(number))
    return float(number[-1])


def test_pre_infusion_never_takes_a_planned_day_of_minus_a_half() -> None:
    """D-19.388: a study with a planned day -0.5 (12 h before the infusion; the template allows -60 to 3650)
    had two time points at PCTPTNUM -0.5; PRE-INFUSION now lies strictly between -0.5 and 0."""
    pre = _pre_number([-0.5, 0.0, 1.0])
    assert -0.5 < pre < 0


def test_pre_infusion_sorts_after_a_planned_day_of_minus_a_quarter() -> None:
    """D-19.388: with a planned day -0.25 (drawn before the pre-infusion sample), PRE-INFUSION at -0.5 sorted
    before it; its number is now between -0.25 and 0, so PCTPTNUM order is planned order."""
    pre = _pre_number([-0.25, 0.0])
    assert -0.25 < pre < 0


def test_pre_infusion_is_minus_a_half_without_planned_days_within_a_day_before() -> None:
    """Whole planned days before the infusion (-28, -1) or none: the usual -0.5 (the number does not move
    with the data cut for such a study)."""
    assert _pre_number([-28.0, -1.0, 0.0, 7.0]) == _pre_number([0.0, 7.0]) == _pre_number([]) == -0.5


@given(
    st.lists(st.floats(-60, 3650, allow_nan=False).filter(lambda d: d == 0 or abs(d) >= 1e-9), max_size=30)
)
def test_pre_infusion_lies_between_the_last_earlier_planned_day_and_day_0(days: list[float]) -> None:
    pre = _pre_number(days)
    assert pre < 0 and all(d < pre for d in days if d < 0)


@given(
    st.lists(
        st.tuples(
            st.floats(-60, 3650, allow_nan=False).filter(lambda d: d == 0 or abs(d) >= 1e-9), st.booleans()
        ),
        min_size=1,
        max_size=30,
    )
)
def test_any_planned_days_have_one_to_one_time_points(samples: list[tuple[float, bool]]) -> None:
    nominal = np.array([d for d, _ in samples], dtype=float)
    before = np.array([b and d == 0 for d, b in samples])
    tpt, number, eltm = planned_time_points(nominal, before)
    assert _one_to_one(pd.Series(tpt), pd.Series(number))
    assert all((e == "") == (t == PRE_INFUSION) for t, e in zip(tpt, eltm, strict=True))
    assert all(e.startswith(("P", "-P")) and not e.endswith("T") for e in eltm if e)


def test_distinct_planned_days_get_distinct_time_point_texts() -> None:
    """D-19.389: 0.0416667 and 0.04166666 days (one hour, typed two ways) were both "DAY 0.0416667" with two
    PCTPTNUMs; the text is now the shortest that reads back as the day."""
    tpt, number, _ = planned_time_points(np.array([0.0416667, 0.04166666]), np.array([False, False]))
    assert tpt[0] != tpt[1]
    assert [float(t.removeprefix("DAY ")) for t in tpt] == list(number)


@pytest.mark.parametrize(
    ("day", "eltm"),
    [
        (7.0, "P7D"),
        (-5.0, "-P5D"),
        (0.0, "P0D"),
        (0.25, "PT6H"),
        (7.5, "P7DT12H"),
        (-0.5, "-PT12H"),
        (0.04, "PT57M36S"),
        (6.9999999999, "P7D"),
        (0.0416667, "PT1H"),
    ],
)
def test_planned_elapsed_time_is_a_valid_duration_to_the_second(day: float, eltm: str) -> None:
    """D-19.389: 6.9999999999 days was "P6DT24H" (24 hours is not an hour of a day); the duration is now
    rounded to the second first, then split into days, hours, minutes and seconds."""
    _, _, written = planned_time_points(np.array([day]), np.array([False]))
    assert written[0] == eltm


def test_pre_infusion_number_without_a_planned_day_between_minus_one_and_zero_is_the_constant() -> None:
    """`PRE_INFUSION_NUMBER` is the number used, not a second copy of it (D-19.388)."""
    for nominal in ([], [np.nan], [-7.0, -1.0, 0.0, 14.0], [-3.0, 28.0]):
        assert pre_infusion_number(np.asarray(nominal, dtype=float)) == PRE_INFUSION_NUMBER
    assert pre_infusion_number(np.asarray([-0.5, 0.0])) == -0.25
