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


def test_the_ongoing_crs_is_censored_at_its_last_assessment_on_the_site_s_clock(
    example_sqlite_template: Path, tmp_path: Path
) -> None:
    """CT-001's first CRS (onset at its assessment of 2021-04-30T10:00Z, 18:00 in Wuhan) is ongoing at the
    cut-off 2021-05-02: censored at the episode's last CRS assessment, 2021-05-02T10:30Z (D-19.588), not at a
    midnight. AVAL is the exact elapsed time, 2 days 30 minutes = 2.021 days whatever the zone; STARTDTM and
    ADTM are the onset and that assessment on the site's clock (hand count): Wuhan (UTC+8) 18:00 and 18:30,
    New York (EDT, UTC-4) 06:00 and 06:30, a site without a zone 10:00 and 10:30 UTC; ADT 2021-05-02, STARTDT
    2021-04-30 in each (D-19.607)."""
    for zone, start, adtm in (
        ("keep", dt.datetime(2021, 4, 30, 18, 0), dt.datetime(2021, 5, 2, 18, 30)),
        ("America/New_York", dt.datetime(2021, 4, 30, 6, 0), dt.datetime(2021, 5, 2, 6, 30)),
        (None, dt.datetime(2021, 4, 30, 10, 0), dt.datetime(2021, 5, 2, 10, 30)),
    ):
        adtte = _adtte(example_sqlite_template, tmp_path, dt.date(2021, 5, 2), zone)
        _dates_are_date_parts(adtte)
        ongoing = adtte[
            (adtte["USUBJID"] == "CT103A-NMOSD-CT-001")
            & (adtte["PARAMCD"] == "TTCRSRES")
            & (adtte["CNSR"] == 1)
        ].iloc[0]
        assert round(float(ongoing["AVAL"]), 3) == 2.021, zone
        assert pd.Timestamp(ongoing["STARTDTM"]).to_pydatetime() == start, zone
        assert pd.Timestamp(ongoing["ADTM"]).to_pydatetime() == adtm, zone
        assert str(ongoing["STARTDT"]) == "2021-04-30", zone
        assert str(ongoing["ADT"]) == "2021-05-02", zone
        assert (ongoing["SRCDOM"], ongoing["SRCVAR"]) == ("FA", "FADTC"), zone
