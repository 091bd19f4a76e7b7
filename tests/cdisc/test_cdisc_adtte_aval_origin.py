"""ADTTE AVAL counts the time-to-event origin as day 0 (D-19.1269): AVAL = ADT - STARTDT, not the
ADT - STARTDT + 1 of the CDISC pilot ADTTE, because the protocol's time origin is the infusion on day 0
(reference ct103a-nmosd-trial.md: "single IV infusion on day 0"; neuro-outcomes.md: relapse-free survival
"Kaplan-Meier from day 0"). define.xml must say which count AVAL uses: a reviewer recomputing AVAL from
STARTDT and ADT cannot tell "+ 1" from "no + 1" by a text "days from the infusion".
Hand values from the example: CT-003's first attack after its 2021-06-08 infusion is on 2021-10-06,
22 + 31 + 31 + 30 + 6 = 120 days later; CT-001's last contact 2022-02-01 is 280 days after 2021-04-27."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import sqlite3
from pathlib import Path

import pandas as pd


def test_whole_day_aval_is_adt_minus_startdt(exported) -> None:  # type: ignore[no-untyped-def]
    adtte = exported.frames["ADTTE"]
    relapse = adtte[adtte["PARAMCD"] == "TTRELAP"].set_index("USUBJID")
    assert relapse.loc["CT103A-NMOSD-CT-003", "AVAL"] == 120.0
    assert relapse.loc["CT103A-NMOSD-CT-003", "CNSR"] == 0.0
    assert relapse.loc["CT103A-NMOSD-CT-001", "AVAL"] == 280.0
    for _, r in relapse.iterrows():
        assert r["AVAL"] == (r["ADT"] - r["STARTDT"]).days


def test_define_states_the_aval_count(exported) -> None:  # type: ignore[no-untyped-def]
    define = (exported.out / "adam" / "define.xml").read_text(encoding="utf-8")
    method = re.search(r'<MethodDef OID="MT\.ADTTE\.AVAL".*?</MethodDef>', define, re.S)
    assert method is not None
    text = method.group(0)
    assert "AVAL = ADT - STARTDT" in text and "no + 1" in text
    # not "(ADTM - STARTDTM)": those are wall-clock times, AVAL the elapsed time (D-19.1269 as amended)
    assert "elapsed time in days between the UTC instants of STARTDTM and ADTM" in text


def test_define_states_the_elapsed_time_and_its_rounding(exported) -> None:  # type: ignore[no-untyped-def]
    """STARTDTM and ADTM are the site's wall-clock times (D-19.607), AVAL the elapsed time between the
    instants: across a daylight-saving change they differ, so the text must say which, and the rounding."""
    define = (exported.out / "adam" / "define.xml").read_text(encoding="utf-8")
    method = re.search(r'<MethodDef OID="MT\.ADTTE\.AVAL".*?</MethodDef>', define, re.S)
    assert method is not None
    text = method.group(0)
    assert "elapsed" in text and "UTC" in text and "3 decimals" in text
    assert "00:00 of STARTDT" in text  # an infusion recorded without a time (D-19.1270)


def test_aval_across_the_end_of_summer_time_is_the_elapsed_time(
    example_sqlite_template: Path, tmp_path: Path
) -> None:
    """Site TJH in Europe/Berlin: CT-009's CRS began at its assessment of 2021-10-29T10:15:00Z (12:15 CEST)
    and resolved at 2021-10-31T10:00:00Z (11:00 CET; summer time ended at 01:00Z that day). Elapsed time:
    1 day 23 h 45 min = 1.98958 days, 1.990 at 3 decimals; the wall clocks differ by 1 day 22 h 45 min."""
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all, read_sites
    from cartrial.store.snapshot import read_snapshot

    db = tmp_path / "study.db"
    shutil.copyfile(example_sqlite_template, db)
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE site SET time_zone = 'Europe/Berlin'")
    url = f"sqlite:///{db}"
    snapshot = read_snapshot(url, dt.date(2022, 3, 20))
    adtte = build_all(snapshot, analyse(snapshot), read_sites(url))["ADTTE"]
    r = adtte[(adtte["USUBJID"] == "CT103A-NMOSD-CT-009") & (adtte["PARAMCD"] == "TTCRSRES")].iloc[0]
    assert pd.Timestamp(r["STARTDTM"]).to_pydatetime() == dt.datetime(2021, 10, 29, 12, 15)
    assert pd.Timestamp(r["ADTM"]).to_pydatetime() == dt.datetime(2021, 10, 31, 11, 0)
    assert r["AVAL"] == 1.990
    start = pd.Timestamp(r["STARTDTM"]).tz_localize("Europe/Berlin")
    end = pd.Timestamp(r["ADTM"]).tz_localize("Europe/Berlin")
    assert round((end - start).total_seconds() / 86400, 3) == r["AVAL"]  # elapsed, not wall-clock difference
