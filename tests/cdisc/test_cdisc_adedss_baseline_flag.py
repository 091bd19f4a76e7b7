"""ADEDSS flags as baseline (ABLFL) the record the analysis took as baseline (D-19.866).

ADaM IG v1.3 §4.2 (BDS): BASE is the AVAL of the record flagged ABLFL="Y". The analysis baseline of the EDSS
is not always the last pre-dose record: a visit during an attack (within 30 days after a relapse onset) is
skipped (D-19.864), so the flag must follow `edss_change.baseline_day`, not recompute "last before dosing".
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from cartrial.analysis.model import Population
from cartrial.cdisc.adam import build_adedss
from cartrial.cdisc.spec import dataset_specs
from cartrial.errors import InternalError


class _Dataset:
    def __init__(self, table: pd.DataFrame) -> None:
        self.table = table


DAY0 = dt.date(2022, 3, 1)


def _adedss(change: dict[str, list[object]]) -> pd.DataFrame:
    days_scores = [(-60, 3.0), (-5, 6.0), (90, 3.0)]
    scored = pd.DataFrame(
        {
            "subject_id": ["S1"] * 3,
            "assessed_at": [(DAY0 + dt.timedelta(days=d)).isoformat() for d, _ in days_scores],
            "edss": [e for _, e in days_scores],
        }
    )
    base: dict[str, list[object]] = {
        "subject_id": ["S1"],
        "baseline_edss": [3.0],
        "last_edss": [3.0],
        "edss_change": [0.0],
        "improvement_evaluable": [True],
        "improvement_confirmed": [False],
        "worsening_confirmed": [False],
    }
    analysis = type("A", (), {})()
    # the subjects with an EDSS change (baseline and last EDSS), which CRIT2FL reads (D-19.1138)
    analysis.populations = {"efficacy:edss_change": Population("efficacy:edss_change", "", ("S1",))}
    analysis.datasets = {
        "edss_scored": _Dataset(scored),
        "edss_change": _Dataset(pd.DataFrame({**base, **change})),
    }
    adsl = pd.DataFrame(
        {"STUDYID": ["S"], "USUBJID": ["S-S1"], "SUBJID": ["S1"], "TRT01A": ["D"], "TRT01AN": [1.0],
         "TRTSDT": [DAY0]}
    )  # fmt: skip
    frame = build_adedss(analysis, adsl, dataset_specs()["ADEDSS"])
    return frame[frame["PARAMCD"] == "EDSS"].reset_index(drop=True)


def test_the_flagged_baseline_record_is_the_analysis_baseline() -> None:
    """Baseline day -60 (EDSS 3.0): ABLFL on that record, whose AVAL is BASE; the day -5 record (6.0, during
    an attack) is not flagged."""
    edss = _adedss({"baseline_day": [-60]})
    flagged = edss[edss["ABLFL"] == "Y"]
    assert len(flagged) == 1
    assert flagged["AVAL"].iloc[0] == flagged["BASE"].iloc[0] == 3.0
    assert edss.loc[edss["AVAL"] == 6.0, "ABLFL"].iloc[0] != "Y"


def test_no_analysis_baseline_flags_no_record() -> None:
    """No baseline in the analysis (every pre-dose visit during an attack): no record is ABLFL."""
    edss = _adedss({"baseline_edss": [None], "edss_change": [None], "baseline_day": [None]})
    assert (edss["ABLFL"] != "Y").all()


def test_a_baseline_day_without_its_record_stops_the_export() -> None:
    """BASE 3.0 with a baseline day (-59) that no scored record has (records on days -60, -5, 90): BASE
    without an ABLFL record would break ADaM IG v1.3 §4.2, so the export stops (D-19.871)."""
    with pytest.raises(InternalError, match=r"BASE.*no record flagged ABLFL"):
        _adedss({"baseline_day": [-59]})
