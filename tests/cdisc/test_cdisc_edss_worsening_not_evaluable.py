"""ADEDSS leaves CRIT2FL (confirmed EDSS worsening) blank for a subject with no change to evaluate
(D-19.1138).

The example's CT-002 (infused 2021-05-18) has one EDSS before its infusion, 2021-05-15 (day -3, edss.csv); a
relapse onset added on 2021-05-01, 14 days before it, makes that visit one during an attack, so under
``edss_baseline_visit: outside_relapse`` CT-002 has no baseline (D-19.864): it is out of
``efficacy:edss_change`` (ADSL.EDSSEFL 'N'), its EDSSCHG record has no AVAL and CRIT1FL is blank (not
evaluable for improvement, D-19.623) — but CRIT2FL read 'N', a non-worsener, from the analysis' "nothing
confirmed". It is now blank as CRIT1FL is; the subjects with a change keep Y/N.
"""

from __future__ import annotations

import pandas as pd
from tests.analysis.conftest import analyse_with_ct002_attack, ct002_attack_snapshot

from cartrial.cdisc.export import build_all
from cartrial.store.snapshot import StudySnapshot

SUBJECT = "CT-002"


def test_a_subject_without_an_edss_change_has_no_worsening_flag(snapshot: StudySnapshot) -> None:
    analysis = analyse_with_ct002_attack(snapshot, "edss_baseline_visit", "outside_relapse")
    assert SUBJECT not in analysis.populations["efficacy:edss_change"].subject_ids
    # the tables analysed, not the snapshot without the attack (D-19.1291)
    frames = build_all(
        ct002_attack_snapshot(snapshot, "edss_baseline_visit", "outside_relapse"), analysis, None
    )
    adsl = frames["ADSL"].set_index("SUBJID")
    assert adsl.loc[SUBJECT, "EDSSEFL"] == "N"
    usubjid = adsl.loc[SUBJECT, "USUBJID"]
    adedss = frames["ADEDSS"]
    change = adedss[adedss["PARAMCD"] == "EDSSCHG"].set_index("USUBJID")
    assert pd.isna(change.loc[usubjid, "AVAL"]) and pd.isna(change.loc[usubjid, "BASE"])
    assert change.loc[usubjid, "CRIT1FL"] == ""
    assert change.loc[usubjid, "CRIT2FL"] == ""
    # every subject with a change keeps its evaluated flag: the 11 others of the example, none worsened
    others = change.drop(index=usubjid)
    assert len(others) == 11 and others["AVAL"].notna().all()
    assert set(others["CRIT2FL"]) == {"N"}


def test_the_worsening_flag_reads_the_edss_change_population(snapshot: StudySnapshot) -> None:
    """ADEDSS decided "a change to evaluate" by testing the baseline and last EDSS itself, a third copy of
    the rule of ``efficacy:edss_change`` (analysis/efficacy.py) that ADSL.EDSSEFL reads. It now reads the
    population: a subject the population leaves out (here CT-002, removed from it by hand) has CRIT2FL
    blank, whatever its row holds, so ADEDSS and ADSL.EDSSEFL cannot disagree (D-19.1138)."""
    import dataclasses

    from cartrial.analysis import analyse

    analysis = analyse(snapshot)
    population = analysis.populations["efficacy:edss_change"]
    assert SUBJECT in population.subject_ids  # the example's default: CT-002 has a change
    narrowed = dataclasses.replace(
        population, subject_ids=tuple(s for s in population.subject_ids if s != SUBJECT)
    )
    changed = dataclasses.replace(
        analysis, populations={**analysis.populations, "efficacy:edss_change": narrowed}
    )
    frames = build_all(snapshot, changed, None)
    adsl = frames["ADSL"].set_index("SUBJID")
    assert adsl.loc[SUBJECT, "EDSSEFL"] == "N"
    change = frames["ADEDSS"][frames["ADEDSS"]["PARAMCD"] == "EDSSCHG"].set_index("USUBJID")
    assert change.loc[adsl.loc[SUBJECT, "USUBJID"], "CRIT2FL"] == ""
    flagged = adsl.set_index("USUBJID")["EDSSEFL"]
    assert all((change.loc[u, "CRIT2FL"] == "") == (flagged[u] == "N") for u in change.index)
