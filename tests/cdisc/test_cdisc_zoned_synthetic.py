"""A small synthetic study at a site with a time zone, exported and read back as a reviewer reads it
(D-19.607, D-19.654): every date-time --DTC carries the site's UTC offset at that instant (ISO 8601; SDTMIG
3.4 §4.4.2), every --DY/--STDY/--ENDY is counted from the date portions of the --DTC and DM.RFSTDTC with no
day 0 (SDTMIG 3.4 §4.4.4), ADSL.TRTSDT is the date portion of RFSTDTC (the infusion on the site's
calendar) and ADaM ADY/ASTDY/AENDY count ADT/ASTDT/AENDT from TRTSDT the same way (ADaMIG 1.3 §3.3.3).

Expected values come from the rules and zoneinfo, never from the export code. New York has daylight saving
(EST -05:00, EDT -04:00) inside the synthetic study's span, and the synthetic records' UTC instants fall on
another date in New York (checked: the case discriminates)."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import zoneinfo
from pathlib import Path

import pandas as pd

ZONE = "America/New_York"
DTC = re.compile(r"^[A-Z]{2}(DTC|STDTC|ENDTC)$|^RF[A-Z]*DTC$")
DY = {"DTC": "DY", "STDTC": "STDY", "ENDTC": "ENDY"}


def _frames(tmp_path: Path, zone: str | None) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    from cartrial import examples
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all, read_sites
    from cartrial.store.importing import import_templates, write_synthetic_study
    from cartrial.store.snapshot import read_snapshot
    from cartrial.store.study_setup import init_study

    folder = tmp_path / "study"
    write_synthetic_study(folder, 4)
    db = tmp_path / "study.db"
    url = f"sqlite:///{db}"
    init_study(url, examples.path("ct103a-nmosd") / "protocol.yaml", "admin")
    import_templates(url, folder, "admin")
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE site SET time_zone = ?", (zone,))
    snapshot = read_snapshot(url, dt.date(2024, 6, 30))
    return build_all(snapshot, analyse(snapshot), read_sites(url)), snapshot.tables


def _study_day(day: dt.date, reference: dt.date) -> int:
    delta = (day - reference).days
    return delta + 1 if delta >= 0 else delta  # SDTMIG 3.4 §4.4.4: no day 0


def test_a_zoned_site_writes_offsets_and_counts_days_on_its_calendar(tmp_path: Path) -> None:
    frames, tables = _frames(tmp_path, ZONE)
    place = zoneinfo.ZoneInfo(ZONE)
    dm = frames["DM"].set_index("USUBJID")
    reference = {u: dt.date.fromisoformat(str(v)[:10]) for u, v in dm["RFSTDTC"].items() if str(v)}
    assert len(reference) == 4
    offsets: set[str] = set()
    days_checked = 0
    for name, frame in frames.items():
        if name.startswith("AD") or "USUBJID" not in frame.columns:
            continue
        for column in (c for c in frame.columns if DTC.match(str(c))):
            for value in frame[column]:
                text = "" if pd.isna(value) else str(value)
                if "T" in text:  # a date-time: the site's wall-clock time and offset at that instant
                    moment = dt.datetime.fromisoformat(text)
                    local = moment.astimezone(place)  # round trip: right for either side of a fall-back hour
                    assert local.replace(tzinfo=None) == moment.replace(tzinfo=None), (name, column)
                    assert local.utcoffset() == moment.utcoffset(), (name, column)
                    offsets.add(text[-6:])
            suffix = next((s for s in DY if column.endswith(s) and len(column) == 2 + len(s)), None)
            day_column = column[:2] + DY[suffix] if suffix else ""
            if day_column not in frame.columns:
                continue
            for usubjid, value, day in zip(frame["USUBJID"], frame[column], frame[day_column], strict=True):
                text = "" if pd.isna(value) else str(value)
                if len(text) >= 10 and usubjid in reference:
                    assert day == _study_day(dt.date.fromisoformat(text[:10]), reference[usubjid]), (
                        name,
                        day_column,
                    )
                    days_checked += 1
    assert offsets == {"-04:00", "-05:00"}  # EDT and EST both met
    assert days_checked > 1000
    adsl = frames["ADSL"].set_index("USUBJID")
    for usubjid, start in reference.items():
        assert adsl.loc[usubjid, "TRTSDT"] == start
    checked = 0
    for name, date, day in (("ADLB", "ADT", "ADY"), ("ADAE", "ASTDT", "ASTDY"), ("ADAE", "AENDT", "AENDY")):
        frame = frames[name]
        for usubjid, value, number in zip(frame["USUBJID"], frame[date], frame[day], strict=True):
            if value is None or pd.isna(value):
                continue
            assert number == _study_day(value, adsl.loc[usubjid, "TRTSDT"]), (name, day)
            checked += 1
    assert checked > 100
    # the case discriminates: some lab's date in New York is not its UTC date
    labs = tables["labs"]
    utc_days = {str(v)[:10] for v in labs["collected_at"]}
    local_days = {str(v)[:10] for v in frames["LB"]["LBDTC"] if "T" in str(v)}
    assert local_days - utc_days
