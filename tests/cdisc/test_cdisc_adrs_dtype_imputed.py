"""ADRS.DTYPE NRI is read from the analysis' own flag, responders_by_subject.imputed (D-19.1190), not
re-derived in the export from "AVALC given and not evaluable" (one rule; D-19.1139 as amended). A row built
by hand where the two disagree shows which one the export follows: a record the analysis did not impute has
no DTYPE even when not evaluable, and an imputed one is NRI."""

from __future__ import annotations

import pandas as pd

from cartrial.cdisc.adam import NON_RESPONDER_IMPUTED, build_adrs
from cartrial.cdisc.spec import dataset_specs


class _Dataset:
    def __init__(self, table: pd.DataFrame) -> None:
        self.table = table


class _Analysis:
    def __init__(self, by_subject: pd.DataFrame) -> None:
        summary = pd.DataFrame({"endpoint": ["walk_response"], "description": ["walking improved"]})
        self.datasets = {
            "responders_summary": _Dataset(summary),
            "responders_by_subject": _Dataset(by_subject),
        }


def _adrs(imputed: list[bool]) -> pd.DataFrame:
    by_subject = pd.DataFrame(
        {
            "endpoint": ["walk_response"] * 2,
            "definition": ["t25fw_20pct"] * 2,
            "subject_id": ["CT-001", "CT-002"],
            "evaluable": [False, False],
            "in_population": [True, True],
            "responder": [False, False],
            "imputed": imputed,
            "reason": ["no baseline", "no baseline"],
        }
    )
    adsl = pd.DataFrame(
        {
            "STUDYID": ["S"] * 2,
            "USUBJID": ["S-CT-001", "S-CT-002"],
            "SUBJID": ["CT-001", "CT-002"],
            "TRT01A": ["DL1"] * 2,
            "TRT01AN": [1.0] * 2,
        }
    )
    params = {"walk_response": ("T25RESP", "Timed 25-foot walk responder")}
    return build_adrs(_Analysis(by_subject), adsl, dataset_specs()["ADRS"], params)


def test_dtype_follows_the_analysis_imputed_flag() -> None:
    adrs = _adrs([True, False]).set_index("USUBJID")
    assert adrs.loc["S-CT-001", "DTYPE"] == NON_RESPONDER_IMPUTED == "NRI"
    assert adrs.loc["S-CT-002", "DTYPE"] == ""
    assert list(adrs["AVALC"]) == ["N", "N"]  # both in the analysis as non-responders
