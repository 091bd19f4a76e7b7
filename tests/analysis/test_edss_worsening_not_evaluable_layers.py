"""A subject with no EDSS change to evaluate (no baseline, or no visit after it) is not evaluable for
worsening: the report's ``edss_change.worsening_confirmed`` (and ``worsening_unconfirmed``) is blank, as
ADaM ADEDSS.CRIT2FL is (D-19.1138, D-19.1189). Before, the engine's row said False — "not a worsener" —
where ADEDSS left CRIT2FL blank, so the report and the ADaM dataset disagreed."""

from __future__ import annotations

from datetime import date

import pandas as pd
from tests.analysis.conftest import analyse_with_ct002_attack, ct002_attack_snapshot

from cartrial.cdisc.export import build_all
from cartrial.neuro.derive import derive_disability
from cartrial.store.snapshot import StudySnapshot

SUBJECT = "CT-002"


def test_engine_row_without_a_change_is_not_evaluable_for_worsening() -> None:
    edss = pd.DataFrame(
        {
            "subject_id": ["A", "A", "A", "B"],
            "assessed_at": ["2021-01-01", "2021-04-01", "2021-07-01", "2021-01-01"],
            "edss": [2.0, 3.0, 3.0, 2.0],
        }
    )
    infusions = {"A": date(2021, 1, 2), "B": date(2021, 1, 2)}
    table = derive_disability(edss, infusions).table.set_index("subject_id")
    assert table.loc["A", "worsening_confirmed"] is True or bool(table.loc["A", "worsening_confirmed"])
    assert pd.isna(table.loc["B", "worsening_confirmed"])  # no visit after the baseline
    assert pd.isna(table.loc["B", "worsening_unconfirmed"])


def test_report_dataset_and_adedss_agree(snapshot: StudySnapshot) -> None:
    analysis = analyse_with_ct002_attack(snapshot, "edss_baseline_visit", "outside_relapse")
    change = analysis.datasets["edss_change"].table.set_index("subject_id")
    assert pd.isna(change.loc[SUBJECT, "worsening_confirmed"])
    attacked = ct002_attack_snapshot(snapshot, "edss_baseline_visit", "outside_relapse")
    frames = build_all(attacked, analysis, None)  # the tables analysed (D-19.1291)
    adsl = frames["ADSL"].set_index("SUBJID")
    adedss = frames["ADEDSS"]
    crit = adedss[adedss["PARAMCD"] == "EDSSCHG"].set_index("USUBJID")["CRIT2FL"]
    for sid, row in change.iterrows():
        flag = crit[adsl.loc[sid, "USUBJID"]]
        if pd.isna(row["worsening_confirmed"]):
            assert flag == ""
        else:
            assert flag == ("Y" if bool(row["worsening_confirmed"]) else "N")
