"""PC.PCELTM is the planned elapsed time from PCTPTREF (SDTMIG 3.4 PC, PCELTM: "Planned elapsed time (in
ISO 8601) relative to a planned fixed reference"; the SDTM timing-variable examples: "-PT15M" 15 minutes
prior to the reference point). The PRE-INFUSION and the DAY 0 time points were both PCELTM P0D, as if the
pre-infusion sample were planned at the infusion: two time points, one planned elapsed time. The store holds
no planned offset before the dose, so PRE-INFUSION's PCELTM is empty (unknown), never P0D (D-19.473)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from cartrial.cdisc.sdtm import PRE_INFUSION, planned_time_points
from cartrial.cdisc.spec import dataset_specs
from cartrial.cdisc.validate import validate_dataset

# planned days as a CSV cell types them (-60 to 3650, two decimals), day 0 often (the pre-infusion day)
DAYS = st.one_of(st.just(0.0), st.integers(-6000, 365000).map(lambda v: v / 100))


def test_pre_infusion_has_no_planned_elapsed_time_of_zero() -> None:
    tpt, _, eltm = planned_time_points(np.array([0.0, 0.0, 1.0]), np.array([True, False, False]))
    assert list(tpt) == [PRE_INFUSION, "DAY 0", "DAY 1"]
    assert eltm[0] == "" and eltm[1] == "P0D" and eltm[2] == "P1D"


@given(st.lists(st.tuples(DAYS, st.booleans()), min_size=1, max_size=40))
def test_a_planned_elapsed_time_belongs_to_one_time_point(samples: list[tuple[float, bool]]) -> None:
    nominal = np.array([d for d, _ in samples], dtype=float)
    before = np.array([b and d == 0 for d, b in samples])
    tpt, _, eltm = planned_time_points(nominal, before)
    pairs = pd.DataFrame({"t": tpt, "e": eltm})
    given_ = pairs[pairs["e"] != ""].drop_duplicates()
    assert not given_["e"].duplicated().any() and not given_["t"].duplicated().any()
    # a time point before the reference never has a positive (or zero) planned elapsed time
    assert all(e == "" or e.startswith("-") for t, e, d in zip(tpt, eltm, nominal, strict=True) if d < 0)
    assert all(e == "" for t, e in zip(tpt, eltm, strict=True) if t == PRE_INFUSION)


def test_the_validator_refuses_one_elapsed_time_for_two_time_points() -> None:
    spec = dataset_specs()["PC"]
    frame = pd.DataFrame(
        {
            "PCTPT": ["PRE-INFUSION", "DAY 0", "DAY 1"],
            "PCTPTNUM": [-0.5, 0.0, 1.0],
            "PCELTM": ["P0D", "P0D", "P1D"],
            "PCTPTREF": ["CAR-T"] * 3,
        }
    )
    found = [f for f in validate_dataset(frame, spec) if f.rule == "time-point"]
    assert len(found) == 1 and "PCELTM" in found[0].message and "records 1, 2" in found[0].message
    frame.loc[0, "PCELTM"] = ""
    assert not [f for f in validate_dataset(frame, spec) if f.rule == "time-point"]


def test_example_pre_infusion_elapsed_time_is_empty(exported) -> None:  # type: ignore[no-untyped-def]
    pc = exported.frames["PC"]
    pre = pc[pc["PCTPT"] == PRE_INFUSION]
    assert len(pre) and set(pre["PCELTM"]) == {""}
    assert set(pc.loc[pc["PCTPT"] == "DAY 1", "PCELTM"]) == {"P1D"}
