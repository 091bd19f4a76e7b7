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
CT-001's site TJH is in Wuhan (UTC+8): STARTDTM/ADTM are the local time at site (D-19.607), the onset 18:00,
the last assessment 18:30 on 2021-05-02, and FADTC is written on the site's clock with its offset.
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
        (dt.date(2021, 4, 30), 0.0, dt.datetime(2021, 4, 30, 18, 0)),  # 10:00Z in Wuhan
        (dt.date(2021, 5, 2), 2.021, dt.datetime(2021, 5, 2, 18, 30)),  # 10:30Z in Wuhan
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
    assert pd.Timestamp(record["STARTDTM"]) == pd.Timestamp(2021, 4, 30, 18, 0)  # 10:00Z in Wuhan
    assert pd.Timestamp(record["ADTM"]) == pd.Timestamp(adtm)
    assert str(record["ADT"]) == adtm.date().isoformat()


def _frames(
    template: Path, tmp_path: Path, cutoff: dt.date, blank_last: bool = False
) -> dict[str, pd.DataFrame]:
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all, read_sites
    from cartrial.store.snapshot import read_snapshot

    db = tmp_path / "study.db"
    shutil.copyfile(template, db)
    url = f"sqlite:///{db}"
    snapshot = read_snapshot(url, cutoff)
    analysis = analyse(snapshot)
    if blank_last:
        analysis.datasets["crs_episodes"].table["last_assessed_at"] = None
    return build_all(snapshot, analysis, read_sites(url))


def test_a_censored_crs_cites_the_fa_record_of_its_last_assessment(
    example_sqlite_template: Path, tmp_path: Path
) -> None:
    """D-19.591: the censoring time is read from the last CRS assessment (an FA record), so SRCDOM/SRCVAR/
    SRCSEQ name FA, FADTC and the first FASEQ of that assessment (CT-001's of 2021-05-02T10:30Z), not
    AE/AEENRTPT."""
    frames = _frames(example_sqlite_template, tmp_path, dt.date(2021, 5, 2))
    adtte = frames["ADTTE"]
    record = adtte[(adtte["USUBJID"] == USUBJID) & (adtte["PARAMCD"] == "TTCRSRES")].iloc[0]
    assert (record["SRCDOM"], record["SRCVAR"]) == ("FA", "FADTC")
    fa = frames["FA"]
    cited = fa[(fa["USUBJID"] == USUBJID) & (fa["FASEQ"] == record["SRCSEQ"])]
    assert len(cited) == 1
    assert cited.iloc[0]["FACAT"] == "CRS ASSESSMENT"
    assert str(cited.iloc[0]["FADTC"]).startswith("2021-05-02T18:30")  # 10:30Z on the Wuhan clock
    assert str(cited.iloc[0]["FADTC"]).endswith("+08:00")
    same = fa[(fa["USUBJID"] == USUBJID) & (fa["FADTC"] == cited.iloc[0]["FADTC"])]
    assert record["SRCSEQ"] == same["FASEQ"].min()  # the assessment's first record
    # a resolved CRS (an event) still cites its AE record's end
    events = adtte[(adtte["PARAMCD"] == "TTCRSRES") & (adtte["CNSR"] == 0)]
    assert set(events["SRCDOM"]) <= {"AE"} and set(events["SRCVAR"]) <= {"AEENDTC"}


def test_an_ongoing_crs_without_its_last_assessment_is_an_internal_error(
    example_sqlite_template: Path, tmp_path: Path
) -> None:
    """An unresolved episode always has an assessment (its onset's): a missing `last_assessed_at` is a broken
    invariant, never a time silently measured to the onset (D-19.591)."""
    from cartrial.errors import InternalError

    with pytest.raises(InternalError, match="last_assessed_at"):
        _frames(example_sqlite_template, tmp_path, dt.date(2021, 5, 2), blank_last=True)
