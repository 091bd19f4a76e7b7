"""ADLB.AVISIT/AVISITN (D-19.1363): the analysis visit of a lab result is the protocol's scheduled visit
whose window holds its date (the visit SDTM LB.VISIT/VISITNUM assign, nearest target first); a result in
no scheduled window has none (AVISIT null, not 'UNSCHEDULED x.0k').

The expected visits are derived here from the example's files, not from the exporter: labs.csv
(`collected_at`, UTC), infusions.csv (`infused_at`, UTC), sites.csv (Asia/Shanghai, UTC+8, no daylight
saving) and the protocol's schedule.visits read as plain YAML (study_day, window_minus_days,
window_plus_days; visits numbered 1..n in order). The protocol day is the collection date minus the infusion
date, both on the Shanghai calendar. Hand check: CT-001 (infused 2021-04-27T02:00Z, 10:00 local) has its
2021-05-25T... lab on protocol day 28, 'Day 28 (month 1)' (visit 13); its 2021-04-22 screening lab on day -5
is in no window (Leukapheresis -14 -5/+5 ends on day -9, Lymphodepletion day -4 has no window)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import pandas as pd
import yaml

SHANGHAI = dt.timedelta(hours=8)


def _expected(examples_dir: Path) -> dict[tuple[str, str, dt.date], tuple[float, str]]:
    folder = examples_dir / "ct103a-nmosd"
    visits = yaml.safe_load((folder / "protocol.yaml").read_text(encoding="utf-8"))["schedule"]["visits"]
    infused = pd.read_csv(folder / "study" / "infusions.csv", dtype=str)
    day0 = {
        r.subject_id: (dt.datetime.fromisoformat(r.infused_at.replace("Z", "+00:00")) + SHANGHAI).date()
        for r in infused.itertuples()
    }
    labs = pd.read_csv(folder / "study" / "labs.csv", dtype=str)
    out: dict[tuple[str, str, dt.date], tuple[float, str]] = {}
    for r in labs.itertuples():
        day = (dt.datetime.fromisoformat(r.collected_at.replace("Z", "+00:00")) + SHANGHAI).date()
        pday = (day - day0[r.subject_id]).days
        best: tuple[int, int, str] | None = None
        for number, v in enumerate(visits, start=1):
            low = v["study_day"] - v.get("window_minus_days", 0)
            high = v["study_day"] + v.get("window_plus_days", 0)
            if low <= pday <= high:
                distance = abs(pday - v["study_day"])
                if best is None or distance < best[0]:
                    best = (distance, number, v["name"])
        out[(r.subject_id, r.analyte, day)] = (float(best[1]), best[2]) if best else (float("nan"), "")
    return out


ANALYTE = {
    "HGB": "hemoglobin",
    "LYM": "lymphocytes",
    "NEUT": "neutrophils",
    "PLAT": "platelets",
    "WBC": "wbc",
}


def test_adlb_avisit_is_the_protocol_visit_window(exported, examples_dir: Path) -> None:  # type: ignore[no-untyped-def]
    adlb = exported.frames["ADLB"]
    expected = _expected(examples_dir)
    assert len(adlb) > 0
    scheduled = 0
    for r in adlb.itertuples():
        key = (r.USUBJID.removeprefix("CT103A-NMOSD-"), ANALYTE[r.PARAMCD], r.ADT)
        number, name = expected[key]
        if name:
            scheduled += 1
            assert (number, name) == (r.AVISITN, r.AVISIT), key
        else:
            assert pd.isna(r.AVISITN) and r.AVISIT == "", key
    assert scheduled > 0


def test_adlb_avisit_hand_checked(exported) -> None:  # type: ignore[no-untyped-def]
    adlb = exported.frames["ADLB"]
    one = adlb[(adlb["USUBJID"] == "CT103A-NMOSD-CT-001") & (adlb["PARAMCD"] == "NEUT")].set_index("ADT")
    assert one.loc[dt.date(2021, 5, 25), "AVISIT"] == "Day 28 (month 1)"
    assert one.loc[dt.date(2021, 5, 25), "AVISITN"] == 13.0
    assert one.loc[dt.date(2021, 4, 22), "AVISIT"] == ""
    assert pd.isna(one.loc[dt.date(2021, 4, 22), "AVISITN"])


def test_adlb_avisit_in_define(exported) -> None:  # type: ignore[no-untyped-def]
    define = (exported.out / "adam" / "define.xml").read_text(encoding="utf-8")
    for name in ("AVISIT", "AVISITN"):
        assert f'OID="MT.ADLB.{name}"' in define


# CT-001's added neutrophils at a site on America/Los_Angeles (conftest PACIFIC_LABS), worked by hand: the
# infusion 2021-04-27T02:00Z is 2021-04-26 19:00 PDT, so protocol day 0 is 2021-04-26 (ADY 1). Day 28
# (month 1) (visit 13) is days 25..31, Month 6 (visit 16) days 166..194, Month 9 starts on day 256.
# ADT: (ADY, AVISITN, AVISIT).
PACIFIC_VISITS = {
    # 2021-05-28T06:00Z = 05-27 23:00 PDT: day 31, the upper edge of Day 28 (on UTC's calendar, 05-28)
    dt.date(2021, 5, 27): (32.0, 13.0, "Day 28 (month 1)"),
    # 2021-05-28T08:00Z = 05-28 01:00 PDT: day 32, in no window
    dt.date(2021, 5, 28): (33.0, math.nan, ""),
    # 2021-05-21T00:00:00Z, a date typed without a time: 05-21 itself (not 05-20 17:00), day 25, lower edge
    dt.date(2021, 5, 21): (26.0, 13.0, "Day 28 (month 1)"),
    # 2021-11-07T07:30Z = 11-07 00:30 PDT (the clocks go back at 09:00Z; fixed UTC-8 would say 11-06): day 195
    dt.date(2021, 11, 7): (196.0, math.nan, ""),
    # 2021-11-07T06:30Z = 11-06 23:30 PDT: day 194, the upper edge of Month 6
    dt.date(2021, 11, 6): (195.0, 16.0, "Month 6"),
}


def test_adlb_avisit_on_a_site_west_of_utc(pacific_frames) -> None:  # type: ignore[no-untyped-def]
    adlb = pacific_frames["ADLB"]
    one = adlb[(adlb["USUBJID"] == "CT103A-NMOSD-CT-001") & (adlb["PARAMCD"] == "NEUT")]
    for day, (ady, number, name) in PACIFIC_VISITS.items():
        rows = one[one["ADT"] == day]
        assert len(rows) == 1, day
        row = rows.iloc[0]
        assert row["ADY"] == ady, day
        assert row["AVISIT"] == name, day
        assert (pd.isna(row["AVISITN"]) and math.isnan(number)) or row["AVISITN"] == number, day


def test_a_scheduled_visit_named_unscheduled_is_an_analysis_visit(exported) -> None:  # type: ignore[no-untyped-def]
    """Scheduled means a protocol visit number (schedule.visits, 1..n), the rule of LB.VISITNUM, never the
    visit's name: with the protocol's Day 14 (visit 11, days 12..16) renamed 'UNSCHEDULED SAFETY CALL',
    CT-001's 2021-05-11 neutrophils (Shanghai, day 14) keep AVISITN 11 and that name; an added result on
    2021-05-14 (day 17: after Day 14's window, before Day 21's 19..23) is the real unscheduled visit 11.01
    and has no analysis visit."""
    from .conftest import frames_of, with_labs

    name = "UNSCHEDULED SAFETY CALL"
    snapshot = with_labs(exported, "CT-001", ("2021-05-14T07:00:00Z",))
    protocol = snapshot.protocol
    visits = list(protocol.schedule.visits)
    assert (visits[10].name, visits[10].study_day) == ("Day 14", 14)
    visits[10] = visits[10].model_copy(update={"name": name})
    schedule = protocol.schedule.model_copy(update={"visits": visits})
    snapshot = dataclasses.replace(snapshot, protocol=protocol.model_copy(update={"schedule": schedule}))
    frames = frames_of(exported, snapshot)
    lb = frames["LB"]
    lb = lb[(lb["USUBJID"] == "CT103A-NMOSD-CT-001") & (lb["LBTESTCD"] == "NEUT")].set_index("LBDTC")
    assert lb.loc["2021-05-11T15:00+08:00", "VISITNUM"] == 11.0
    assert lb.loc["2021-05-11T15:00+08:00", "VISIT"] == name
    assert lb.loc["2021-05-14T15:00+08:00", "VISITNUM"] == 11.01
    assert lb.loc["2021-05-14T15:00+08:00", "VISIT"] == "UNSCHEDULED 11.01"
    adlb = frames["ADLB"]
    one = adlb[(adlb["USUBJID"] == "CT103A-NMOSD-CT-001") & (adlb["PARAMCD"] == "NEUT")].set_index("ADT")
    assert one.loc[dt.date(2021, 5, 11), "AVISIT"] == name
    assert one.loc[dt.date(2021, 5, 11), "AVISITN"] == 11.0
    assert one.loc[dt.date(2021, 5, 14), "AVISIT"] == ""
    assert pd.isna(one.loc[dt.date(2021, 5, 14), "AVISITN"])
