"""SV.SVUPDES (D-19.1367): a visit is unplanned when its VISITNUM is not a protocol visit number
(schedule.visits, numbered 1..n) — the one rule ADLB's AVISITN uses (D-19.1363) — never by its name.

Worked from the example's files by hand: the protocol's 11th visit is 'Day 14' (study_day 14, window
-2/+2, protocol days 12..16); CT-001 was infused 2021-04-27T02:00Z (10:00 in Shanghai, protocol day 0
2021-04-27), so its 2021-05-11 neutrophils (day 14) are visit 11. An added result at 2021-05-14T07:00Z
(15:00 Shanghai, day 17: after Day 14's window, before Day 21's days 19..23) is the unscheduled visit
11.01."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml

from .conftest import frames_of, with_labs

NAME = "UNSCHEDULED SAFETY CALL"


def _sv_with_day_14_renamed(exported):  # type: ignore[no-untyped-def]
    snapshot = with_labs(exported, "CT-001", ("2021-05-14T07:00:00Z",))
    protocol = snapshot.protocol
    visits = list(protocol.schedule.visits)
    assert (visits[10].name, visits[10].study_day) == ("Day 14", 14)
    visits[10] = visits[10].model_copy(update={"name": NAME})
    schedule = protocol.schedule.model_copy(update={"visits": visits})
    snapshot = dataclasses.replace(snapshot, protocol=protocol.model_copy(update={"schedule": schedule}))
    sv = frames_of(exported, snapshot)["SV"]
    return sv[sv["USUBJID"] == "CT103A-NMOSD-CT-001"].set_index("VISITNUM")


def test_a_scheduled_visit_named_unscheduled_is_not_unplanned(exported) -> None:  # type: ignore[no-untyped-def]
    sv = _sv_with_day_14_renamed(exported)
    assert sv.loc[11.0, "VISIT"] == NAME
    assert sv.loc[11.0, "SVUPDES"] == ""
    assert sv.loc[11.01, "VISIT"] == "UNSCHEDULED 11.01"
    assert sv.loc[11.01, "SVUPDES"] == "UNSCHEDULED VISIT"


def test_sv_unplanned_exactly_when_visitnum_is_no_protocol_visit(exported, examples_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """In the example's own SV, SVUPDES is set exactly on the VISITNUMs that are not whole numbers 1..n
    (n the count of schedule.visits in protocol.yaml, read as plain YAML)."""
    protocol = (examples_dir / "ct103a-nmosd" / "protocol.yaml").read_text(encoding="utf-8")
    n = len(yaml.safe_load(protocol)["schedule"]["visits"])
    planned = {float(i) for i in range(1, n + 1)}
    sv = exported.frames["SV"]
    assert len(sv) > 0
    assert (~sv["VISITNUM"].isin(planned)).any()
    for r in sv.itertuples():
        expected = "" if r.VISITNUM in planned else "UNSCHEDULED VISIT"
        assert expected == r.SVUPDES, (r.USUBJID, r.VISITNUM)
