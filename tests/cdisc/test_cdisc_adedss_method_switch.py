"""ADEDSS carries the EDSS method switch (D-19.746): CRIT3/CRIT3FL on the EDSSCHG record say whether the
baseline and a later visit use different EDSS methods (analysis `edss_change.method_switch`), and CRIT2FL
(confirmed worsening) is null, not "N", when the switch lies in the walking range and the default
``method_switch=exclude`` leaves the change not evaluable (`method_switch_excluded`); CRIT1FL likewise (the
engine sets improvement_evaluable false). Before: no CRIT3, CRIT2FL "N" (read as "did not worsen")."""

from __future__ import annotations

import pandas as pd

from cartrial.analysis.model import Population
from cartrial.cdisc.adam import build_adedss
from cartrial.cdisc.spec import dataset_specs


class _Dataset:
    def __init__(self, table: pd.DataFrame) -> None:
        self.table = table


def _adedss(change: dict[str, list[object]]) -> pd.DataFrame:
    base: dict[str, list[object]] = {
        "subject_id": ["S1", "S2"],
        "baseline_edss": [6.0, 2.0],
        "last_edss": [6.5, 3.0],
        "edss_change": [0.5, 1.0],
        "improvement_evaluable": [False, True],
        "improvement_confirmed": [False, False],
        "worsening_confirmed": [False, True],
    }
    analysis = type("A", (), {})()
    # the subjects with an EDSS change (baseline and last EDSS), which CRIT2FL reads (D-19.1138)
    analysis.populations = {"efficacy:edss_change": Population("efficacy:edss_change", "", ("S1", "S2"))}
    analysis.datasets = {
        "edss_scored": _Dataset(pd.DataFrame(columns=["subject_id", "assessed_at", "edss"])),
        "edss_change": _Dataset(pd.DataFrame({**base, **change})),
    }
    adsl = pd.DataFrame(
        {"STUDYID": ["S", "S"], "USUBJID": ["S-S1", "S-S2"], "SUBJID": ["S1", "S2"], "TRT01A": ["D", "D"],
         "TRT01AN": [1.0, 1.0], "TRTSDT": [None, None]}
    )  # fmt: skip
    frame = build_adedss(analysis, adsl, dataset_specs()["ADEDSS"])
    return frame[frame["PARAMCD"] == "EDSSCHG"].set_index("USUBJID")


def test_a_walking_range_switch_blanks_the_worsening_flag_and_is_flagged() -> None:
    # the engine writes pd.NA, not False, for a change left not evaluable by the switch (review 3)
    chg = _adedss(
        {
            "method_switch": [True, True],
            "method_switch_excluded": [True, False],
            "worsening_confirmed": [pd.NA, True],
        }
    )
    assert chg.loc["S-S1", ["CRIT1FL", "CRIT2FL", "CRIT3FL"]].tolist() == ["", "", "Y"]
    assert chg.loc["S-S2", ["CRIT1FL", "CRIT2FL", "CRIT3FL"]].tolist() == ["N", "Y", "Y"]
    assert set(chg["CRIT3"]) == {
        "EDSS method differs from baseline at a later visit (Neurostatus vs Kurtzke)"
    }


def test_no_method_recorded_leaves_crit3_null() -> None:
    chg = _adedss({})
    assert chg.loc["S-S1", "CRIT2FL"] == "N"
    # changed by design (review 3): no method switch at all leaves CRIT3/CRIT3FL out, not all-null columns
    assert "CRIT3" not in chg.columns and "CRIT3FL" not in chg.columns


def test_no_switch_in_any_subject_leaves_crit3_out() -> None:
    chg = _adedss({"method_switch": [False, False], "method_switch_excluded": [False, False]})
    assert "CRIT3" not in chg.columns and "CRIT3FL" not in chg.columns
