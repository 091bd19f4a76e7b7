"""D-19.607: a subject's study days are counted on the calendar of the subject's site (`site.time_zone`,
D-19.285), not on the UTC calendar. Date-only fields (AE start, relapse onset, lymphodepletion) are the
site's calendar dates, so day 0 must be the infusion's date on that calendar too, and a date-time's day
number is its date there (SDTMIG 3.4 §4.4.4: --DY from the date portions of --DTC and RFSTDTC; ADaM
compares the dates as recorded at the site). A site without a time zone keeps the UTC calendar.

The example study (site TJH, Asia/Shanghai) cut to its first patient, CT-001: the infusion moved to 07:30 on
the ward clock of 2021-04-27 (stored 2021-04-26T23:30Z); its AE "Lymphocyte count decreased" starts
2021-04-27 (the infusion's ward day), its neutrophil count of 2021-04-28T07:00Z is drawn at 15:00 on
2021-04-28 in Wuhan, and a relapse is added on 2021-06-01. Counted by hand on the ward calendar:
- day 0 = 2021-04-27; AESTDY = 1 (SDTM has no day 0: the infusion's day is day 1);
- the lab of 2021-04-28 is protocol day 1, LBDY/ADY 2; the relapse of 2021-06-01 is day 3 (to 30 April)
  + 31 (May) + 1 = 35 after the infusion.
The UTC calendar put day 0 on 2021-04-26: AESTDY 2, LBDY 3, relapse day 36.

A New York evening infusion (20:30 EDT on 2021-04-27, stored 2021-04-28T00:30Z; not 20:00 EDT, whose
00:00:00Z is the store's form of a date typed without a time, the 28th, D-19.947): the AE of 2021-04-27 is
on the infusion's ward day (AESTDY 1; UTC: day 0 = 04-28, AESTDY −1), the lab of 2021-04-28T07:00Z is
drawn at 03:00 EDT on 04-28 (LBDY 2; UTC: LBDY 1).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.analysis import analyse
from cartrial.cdisc.adam import build_adam
from cartrial.cdisc.common import dtc
from cartrial.cdisc.sdtm import build_sdtm
from cartrial.columns import calendar_days, on_site_clock
from cartrial.store.snapshot import read_snapshot

from ..conftest import copy_sqlite_file

CUTOFF = dt.date(2022, 3, 20)
SUBJECT = "CT-001"


def _study(template: Path, folder: Path, zone: str | None, infused_at: str) -> dict[str, Any]:
    """CT-001 of the example study with its infusion at `infused_at` and its site TJH in `zone` (set in a
    real SQLite copy of the study, as `cartrial db edit site TJH --set time_zone=…` does), analysed and
    exported (SDTM + ADaM)."""
    db = folder / "study.db"
    copy_sqlite_file(template, db)
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE site SET time_zone = ? WHERE site_id = 'TJH'", (zone,))
    snapshot = read_snapshot(f"sqlite:///{db}", CUTOFF)
    tables: dict[str, pd.DataFrame] = {}
    for name, frame in snapshot.tables.items():
        if name == "escalation_decisions":  # the cohorts name the other patients
            frame = frame.iloc[0:0]
        elif "subject_id" in frame.columns:
            frame = frame[frame["subject_id"] == SUBJECT].reset_index(drop=True)
        tables[name] = frame
    tables["infusions"] = tables["infusions"].assign(infused_at=infused_at)
    relapse = tables["relapses"].iloc[[-1]].assign(onset_date="2021-06-01")
    tables["relapses"] = pd.concat([tables["relapses"], relapse], ignore_index=True)
    snapshot = dataclasses.replace(snapshot, tables=tables)
    analysis = analyse(snapshot)
    sdtm = build_sdtm(snapshot, analysis)
    return {"analysis": analysis, "sdtm": sdtm, "adam": build_adam(snapshot, analysis, sdtm)}


def _one(frame: pd.DataFrame, **where: Any) -> pd.Series:
    rows = frame
    for column, value in where.items():
        rows = rows[rows[column] == value]
    assert len(rows) == 1, where
    return rows.iloc[0]


@pytest.fixture(scope="module")
def shanghai(example_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _study(
        example_sqlite_template, tmp_path_factory.mktemp("sh"), "Asia/Shanghai", "2021-04-26T23:30:00Z"
    )


@pytest.fixture(scope="module")
def new_york(example_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _study(
        example_sqlite_template, tmp_path_factory.mktemp("ny"), "America/New_York", "2021-04-28T00:30:00Z"
    )


@pytest.fixture(scope="module")
def no_zone(example_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _study(example_sqlite_template, tmp_path_factory.mktemp("nz"), None, "2021-04-26T23:30:00Z")


def test_an_early_morning_infusion_in_wuhan_counts_days_on_the_ward_calendar(
    shanghai: dict[str, Any],
) -> None:
    analysis, sdtm, adam = shanghai["analysis"], shanghai["sdtm"], shanghai["adam"]
    member = _one(analysis.datasets["populations"].table, subject_id=SUBJECT)
    assert member["infusion_date"] == "2021-04-27"
    relapses = analysis.datasets["relapses_by_subject"].table
    assert int(_one(relapses, subject_id=SUBJECT)["first_post_attack_day"]) == 35
    # the reviewer reads the ward clock with its offset, and the day counts from that date
    assert _one(sdtm["DM"], SUBJID=SUBJECT)["RFSTDTC"] == "2021-04-27T07:30+08:00"
    assert _one(adam["ADSL"], SUBJID=SUBJECT)["TRTSDT"] == dt.date(2021, 4, 27)
    assert float(_one(sdtm["AE"], AETERM="Lymphocyte count decreased")["AESTDY"]) == 1.0
    assert float(_one(adam["ADAE"], AETERM="Lymphocyte count decreased")["ASTDY"]) == 1.0
    lab = _one(sdtm["LB"], LBTESTCD="NEUT", LBDTC="2021-04-28T15:00+08:00")
    assert float(lab["LBDY"]) == 2.0
    adlb = _one(adam["ADLB"], PARAMCD="NEUT", ADT=dt.date(2021, 4, 28))
    assert float(adlb["ADY"]) == 2.0
    day0 = _one(sdtm["LB"], LBTESTCD="NEUT", LBDTC="2021-04-27T15:00+08:00")
    assert float(day0["LBDY"]) == 1.0


def test_an_evening_infusion_in_new_york_counts_days_on_the_ward_calendar(new_york: dict[str, Any]) -> None:
    analysis, sdtm, adam = new_york["analysis"], new_york["sdtm"], new_york["adam"]
    assert _one(analysis.datasets["populations"].table, subject_id=SUBJECT)["infusion_date"] == "2021-04-27"
    relapses = analysis.datasets["relapses_by_subject"].table
    assert int(_one(relapses, subject_id=SUBJECT)["first_post_attack_day"]) == 35
    assert _one(sdtm["DM"], SUBJID=SUBJECT)["RFSTDTC"] == "2021-04-27T20:30-04:00"
    assert float(_one(sdtm["AE"], AETERM="Lymphocyte count decreased")["AESTDY"]) == 1.0
    assert float(_one(adam["ADAE"], AETERM="Lymphocyte count decreased")["ASTDY"]) == 1.0
    lab = _one(sdtm["LB"], LBTESTCD="NEUT", LBDTC="2021-04-28T03:00-04:00")
    assert float(lab["LBDY"]) == 2.0
    assert float(_one(adam["ADLB"], PARAMCD="NEUT", ADT=dt.date(2021, 4, 28))["ADY"]) == 2.0


def test_a_site_without_a_time_zone_keeps_the_utc_calendar(no_zone: dict[str, Any]) -> None:
    analysis, sdtm, adam = no_zone["analysis"], no_zone["sdtm"], no_zone["adam"]
    assert _one(analysis.datasets["populations"].table, subject_id=SUBJECT)["infusion_date"] == "2021-04-26"
    relapses = analysis.datasets["relapses_by_subject"].table
    assert int(_one(relapses, subject_id=SUBJECT)["first_post_attack_day"]) == 36
    assert _one(sdtm["DM"], SUBJID=SUBJECT)["RFSTDTC"] == "2021-04-26T23:30"
    assert float(_one(sdtm["AE"], AETERM="Lymphocyte count decreased")["AESTDY"]) == 2.0
    assert float(_one(adam["ADAE"], AETERM="Lymphocyte count decreased")["ASTDY"]) == 2.0
    assert float(_one(sdtm["LB"], LBTESTCD="NEUT", LBDTC="2021-04-28T07:00")["LBDY"]) == 3.0
    assert float(_one(adam["ADLB"], PARAMCD="NEUT", ADT=dt.date(2021, 4, 28))["ADY"]) == 3.0


def test_elapsed_times_stay_exact_on_the_site_calendar(
    shanghai: dict[str, Any], no_zone: dict[str, Any]
) -> None:
    """The same instants: the PK sample times after the dose (ADPC.AFRLT, days) do not depend on the
    calendar the days are counted on."""
    at_site = shanghai["adam"]["ADPC"]["AFRLT"].astype(float).tolist()
    in_utc = no_zone["adam"]["ADPC"]["AFRLT"].astype(float).tolist()
    assert at_site == in_utc and len(at_site)


def test_a_site_at_utc_gives_the_outputs_of_a_site_without_a_zone(
    example_sqlite_template: Path, tmp_path: Path, no_zone: dict[str, Any]
) -> None:
    at_utc = _study(example_sqlite_template, tmp_path, "Etc/UTC", "2021-04-26T23:30:00Z")
    for name, dataset in no_zone["analysis"].datasets.items():
        pd.testing.assert_frame_equal(at_utc["analysis"].datasets[name].table, dataset.table, obj=name)
    for kind in ("sdtm", "adam"):
        assert set(at_utc[kind]) == set(no_zone[kind])
        for name, frame in no_zone[kind].items():
            pd.testing.assert_frame_equal(at_utc[kind][name], frame, obj=name)


MOMENTS = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2040, 12, 31)).map(
    lambda m: m.replace(tzinfo=dt.UTC)
)


@given(infused=MOMENTS, moment=MOMENTS, zone=st.sampled_from([None, "", "UTC", "Etc/UTC"]))
def test_a_site_at_utc_counts_the_days_as_before(
    infused: dt.datetime, moment: dt.datetime, zone: str | None
) -> None:
    """For a site at UTC (Etc/UTC, UTC) or without a zone every day number and --DTC is the UTC one."""
    day0 = on_site_clock(infused, zone)
    assert day0 == infused and day0.date() == infused.date()
    assert calendar_days(moment, day0) == (moment.date() - infused.date()).days
    text = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert dtc(text, zone) == dtc(text)


def test_the_engines_read_the_calendar_from_the_infusions_time_zone_column() -> None:
    """The grading engine's lab study day and the neuro engine's day 0 read the optional `time_zone` of the
    infusions form (plain data, filled by the analysis from `site.time_zone`): a neutrophil count drawn
    2021-04-28T02:00Z (10:00 in Wuhan) after an infusion at 2021-04-26T23:30Z (07:30 in Wuhan on 04-27) is
    study day 1 there, day 2 on the UTC calendar; an unknown zone is a located problem."""
    from cartrial.errors import InputError
    from cartrial.grading import derive_lab_grades
    from cartrial.neuro import infusion_days

    labs = pd.DataFrame(
        {
            "subject_id": ["S1"],
            "collected_at": ["2021-04-28T02:00:00Z"],
            "analyte": ["neutrophils"],
            "value": ["1.0"],
            "unit": ["10^9/L"],
            "lln": ["1.8"],
        }
    )
    infusions = pd.DataFrame({"subject_id": ["S1"], "infused_at": ["2021-04-26T23:30:00Z"]})
    zoned = infusions.assign(time_zone="Asia/Shanghai")
    assert derive_lab_grades(labs, infusions=zoned).table["study_day"].tolist() == [1]
    assert derive_lab_grades(labs, infusions=infusions).table["study_day"].tolist() == [2]
    assert infusion_days(zoned) == {"S1": dt.date(2021, 4, 27)}
    assert infusion_days(infusions) == {"S1": dt.date(2021, 4, 26)}
    with pytest.raises(InputError) as refused:
        infusion_days(infusions.assign(time_zone="Mars/Olympus"))
    assert "time_zone" in str(refused.value) and "IANA" in str(refused.value)


def test_the_neuro_engine_counts_an_edss_visit_on_the_ward_calendar() -> None:
    """An EDSS taken at 09:00 in Wuhan on the infusion's ward day (2021-04-27T01:00Z; infusion at 07:30 =
    2021-04-26T23:30Z) is on day 0, so it is the baseline (the last visit on or before day 0): 3.0, not the
    4.0 of the week before; on the UTC calendar it was day 1, a post-infusion visit."""
    from cartrial.neuro import derive_disability

    edss = pd.DataFrame(
        {
            "subject_id": ["S1"] * 3,
            "assessed_at": ["2021-04-20T01:00:00Z", "2021-04-27T01:00:00Z", "2021-08-01T01:00:00Z"],
            "edss": [4.0, 3.0, 3.0],
        }
    )
    infusions = pd.DataFrame({"subject_id": ["S1"], "infused_at": ["2021-04-26T23:30:00Z"]})
    at_site = derive_disability(edss, infusions.assign(time_zone="Asia/Shanghai")).table
    in_utc = derive_disability(edss, infusions).table
    assert at_site["baseline_edss"].tolist() == [3.0]
    assert in_utc["baseline_edss"].tolist() == [4.0]


@settings(max_examples=property_examples(200), deadline=None)
@given(
    infused=st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2035, 12, 31)),
    later=st.timedeltas(min_value=dt.timedelta(days=-40), max_value=dt.timedelta(days=400)),
    zone=st.sampled_from(
        [("Etc/GMT-8", dt.timedelta(hours=8)), ("Asia/Kolkata", dt.timedelta(hours=5, minutes=30))]
    ),
)
def test_study_days_in_a_fixed_offset_zone_match_a_hand_shifted_calendar(
    infused: dt.datetime, later: dt.timedelta, zone: tuple[str, dt.timedelta]
) -> None:
    """Oracle independent of zoneinfo: in a zone of one fixed offset (UTC+8; India, UTC+5:30 since 1945) the
    site's date of an instant is the date of the UTC time plus that literal offset."""
    name, offset = zone
    i = infused.replace(tzinfo=dt.UTC)
    m = i + later
    assert calendar_days(m, on_site_clock(i, name)) == ((m + offset).date() - (i + offset).date()).days
    assert on_site_clock(m, name).date() == (m + offset).date()
