"""ADLB regraded from the snapshot (an `Analysis` without its graded labs) keeps the site's calendar (review 2
of D-19.710; D-19.714): the example's site is in Wuhan (UTC+8); CT-001's lymphodepletion starts on
2021-04-23 (site date). A lymphocyte count drawn 2021-04-23T20:00Z is 2021-04-24 04:00 in Wuhan: after the
start day, on treatment (ONTRTFL Y, not the baseline). In UTC days it was on the start day and, the
lymphodepletion having no time, pre-dose: the regraded path made it the baseline (BASE 0.3) while its ADT
said 2021-04-24. The baseline is the last value before: 1.26 of 2021-04-22T07:00Z (the example's labs.csv)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd


def test_the_regraded_adlb_baseline_uses_the_site_calendar(example_sqlite_template: Path) -> None:
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all
    from cartrial.store.snapshot import read_snapshot

    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date(2022, 3, 20))
    labs = snapshot.tables["labs"]
    extra = {c: "" for c in labs.columns}
    extra.update(subject_id="CT-001", collected_at="2021-04-23T20:00:00Z", analyte="lymphocytes", value="0.3")
    for column, value in (("unit", "10^9/L"), ("lln", "1.1")):
        if column in labs.columns:
            extra[column] = value
    snapshot = dataclasses.replace(
        snapshot,
        tables={**snapshot.tables, "labs": pd.concat([labs, pd.DataFrame([extra])], ignore_index=True)},
    )
    analysis = analyse(snapshot)
    regraded = dataclasses.replace(
        analysis, intermediates={k: v for k, v in analysis.intermediates.items() if k != "graded_labs"}
    )
    for path, which in (("analysis", analysis), ("regraded", regraded)):
        adlb = build_all(snapshot, which)["ADLB"]
        own = adlb[adlb["USUBJID"].str.endswith("CT-001") & (adlb["PARAMCD"].str.startswith("LYM"))]
        drawn = own[own["AVAL"] == 0.3].iloc[0]
        assert pd.Timestamp(drawn["ADT"]).date() == dt.date(2021, 4, 24)
        assert (drawn["ONTRTFL"], drawn["ABLFL"]) == ("Y", ""), path
        assert set(own["BASE"].dropna()) == {1.26}
