"""ADTTE TTCRSRES of a CRS episode still ongoing at the cut-off is censored at the episode's last assessment
(D-19.588).

It was censored at midnight at the start of the cut-off day, while the snapshot holds every record of that
day: a CRS with onset on the cut-off day got a negative time (AVAL -0.417, ADTM before STARTDTM), and an
episode assessed later that day was censored before an assessment that saw it ongoing. The grading engine
states what is known of an unresolved episode: it lasted at least to its last assessment
(`crs_episodes.ongoing_at_day`), the censoring time of a duration (FDA 2018 guidance, Clinical Trial
Endpoints for the Approval of Cancer Drugs and Biologics, duration of response: censored at the last
adequate assessment).

The example's CT-001 (infused 2021-04-27T02:00Z; crs_assessments.csv) has CRS from its assessment of
2021-04-30T10:00Z (39.2 °C) and is assessed again 2021-05-01T10:00Z and 2021-05-02T10:30Z, febrile. By hand:
at the cut-off 2021-04-30 the onset is the last assessment, AVAL 0; at the cut-off 2021-05-02 the last
assessment is 2 days and 30 minutes after the onset, AVAL 2 + 0.5/24 = 2.021 (3 decimals, as duration_days).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

USUBJID = "CT103A-NMOSD-CT-001"


def _adtte(template: Path, tmp_path: Path, cutoff: dt.date) -> pd.DataFrame:
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all, read_sites
    from cartrial.store.snapshot import read_snapshot

    db = tmp_path / "study.db"
    shutil.copyfile(template, db)
    url = f"sqlite:///{db}"
    snapshot = read_snapshot(url, cutoff)
    frames = build_all(snapshot, analyse(snapshot), read_sites(url))
    adtte = frames["ADTTE"]
    return adtte[(adtte["USUBJID"] == USUBJID) & (adtte["PARAMCD"] == "TTCRSRES")]


@pytest.mark.parametrize(
    ("cutoff", "aval", "adtm"),
    [
        (dt.date(2021, 4, 30), 0.0, dt.datetime(2021, 4, 30, 10, 0)),
        (dt.date(2021, 5, 2), 2.021, dt.datetime(2021, 5, 2, 10, 30)),
    ],
)
def test_an_ongoing_crs_is_censored_at_its_last_assessment(
    example_sqlite_template: Path, tmp_path: Path, cutoff: dt.date, aval: float, adtm: dt.datetime
) -> None:
    row = _adtte(example_sqlite_template, tmp_path, cutoff)
    assert len(row) == 1
    record = row.iloc[0]
    assert record["CNSR"] == 1
    assert record["AVAL"] == pytest.approx(aval, abs=1e-9)
    assert record["AVAL"] >= 0
    assert pd.Timestamp(record["STARTDTM"]) == pd.Timestamp(2021, 4, 30, 10, 0)
    assert pd.Timestamp(record["ADTM"]) == pd.Timestamp(adtm)
    assert str(record["ADT"]) == adtm.date().isoformat()
