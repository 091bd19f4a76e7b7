"""ADTTE's numeric date-times are the local time at site (docs/science/decisions.md D-19.607): ADT and
STARTDT are dates on the site's calendar, so STARTDTM and ADTM are the site's wall-clock times and each date
is the date part of its date-time (ADaMIG: *DT = datepart(*DTM)). The example's site TJH is in Wuhan
(Asia/Shanghai, UTC+8): an instant from 16:00Z on is the next day there. AVAL stays the exact elapsed time."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path

import pandas as pd


def _adtte(template: Path, tmp_path: Path, cutoff: dt.date, zone: str | None = "keep") -> pd.DataFrame:
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all, read_sites
    from cartrial.store.snapshot import read_snapshot

    db = tmp_path / "study.db"
    shutil.copyfile(template, db)
    if zone != "keep":
        with sqlite3.connect(db) as connection:
            connection.execute("UPDATE site SET time_zone = ?", (zone,))
    url = f"sqlite:///{db}"
    snapshot = read_snapshot(url, cutoff)
    return build_all(snapshot, analyse(snapshot), read_sites(url))["ADTTE"]


def _dates_are_date_parts(adtte: pd.DataFrame) -> int:
    checked = 0
    for date, moment in (("ADT", "ADTM"), ("STARTDT", "STARTDTM")):
        both = adtte[adtte[date].notna() & adtte[moment].notna()]
        for d, m in zip(both[date], both[moment], strict=True):
            assert pd.Timestamp(m).date() == pd.Timestamp(d).date(), (date, d, m)
            checked += 1
    return checked


def test_every_adt_is_the_date_part_of_its_adtm(example_sqlite_template: Path, tmp_path: Path) -> None:
    for zone in ("keep", "America/New_York"):  # Wuhan (UTC+8), New York (UTC-5/-4)
        adtte = _adtte(example_sqlite_template, tmp_path, dt.date(2022, 3, 20), zone)
        assert _dates_are_date_parts(adtte) > 0


def test_the_ongoing_crs_is_censored_at_the_site_s_midnight(
    example_sqlite_template: Path, tmp_path: Path
) -> None:
    """CT-001's first CRS (onset 2021-04-30T10:00Z, 18:00 in Wuhan) is ongoing at the cut-off 2021-05-02:
    censored at 00:00 of 2021-05-02 in Wuhan (2021-05-01T16:00Z), 1 day 6 hours after the onset = 1.25
    days (hand count); on the UTC clock (a site without a zone) 00:00Z, 1 day 14 hours = 1.583 days."""
    for zone, aval, adtm in (
        ("keep", 1.25, dt.datetime(2021, 5, 2, 0, 0)),
        ("America/New_York", 1.75, dt.datetime(2021, 5, 2, 0, 0)),  # 04:00Z: 1 day 18 hours
        (None, 1.583, dt.datetime(2021, 5, 2, 0, 0)),
    ):
        adtte = _adtte(example_sqlite_template, tmp_path, dt.date(2021, 5, 2), zone)
        _dates_are_date_parts(adtte)
        ongoing = adtte[(adtte["PARAMCD"] == "TTCRSRES") & (adtte["CNSR"] == 1)].iloc[0]
        assert round(float(ongoing["AVAL"]), 3) == aval, zone
        assert pd.Timestamp(ongoing["ADTM"]).to_pydatetime() == adtm, zone
