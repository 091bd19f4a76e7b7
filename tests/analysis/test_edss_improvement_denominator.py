"""The confirmed EDSS improvement finding counts only the patients who can improve (D-19.623).

The neuro engine marks a subject whose baseline EDSS leaves no room to improve under the protocol's
improvement definition as not evaluable for improvement (``improvement_evaluable`` False; `cdi_common`:
"reference 0 cannot improve: not evaluable", `affirm`: baseline < 2.0; docs/science/neuro-outcomes.md §5).
The key finding "Confirmed EDSS improvement in k of n evaluable patients" took n from the EDSS-change
population (a baseline and a later EDSS), so such a subject was a non-improver in the denominator: the rate
was biased down, silently.

Case built by hand on the example study: every functional system and ambulation score of CT-002 set to 0,
so its EDSS is 0 at every visit (Kurtzke 1983: all FS grade 0 → EDSS 0). The EDSS-change population keeps
its 12 patients (CT-002 still has a baseline and a later EDSS), but only the 11 others can improve: the
finding's denominator is 11 (12 − 1), its numerator the confirmed improvements among those 11, and CT-002
is named as not evaluable for improvement with the reason.
"""

from __future__ import annotations

import dataclasses

from cartrial.analysis import analyse
from cartrial.neuro.edss_scale import FS_NAMES
from cartrial.store.snapshot import StudySnapshot

SUBJECT = "CT-002"
SCORES = (*FS_NAMES, "ambulation")  # every functional system and ambulation


def _edss_zero(snapshot: StudySnapshot) -> StudySnapshot:
    edss = snapshot.tables["edss"].copy()
    edss.loc[edss["subject_id"] == SUBJECT, list(SCORES)] = "0"
    return dataclasses.replace(snapshot, tables={**snapshot.tables, "edss": edss})


def test_a_baseline_edss_0_is_not_in_the_improvement_denominator(snapshot: StudySnapshot) -> None:
    analysis = analyse(_edss_zero(snapshot))
    change = analysis.datasets["edss_change"].table.set_index("subject_id")
    assert change.loc[SUBJECT, "baseline_edss"] == 0.0
    assert not bool(change.loc[SUBJECT, "improvement_evaluable"])
    assert len(analysis.populations["efficacy:edss_change"].subject_ids) == 12
    finding = next(f for f in analysis.findings if f.statement.startswith("Confirmed EDSS improvement"))
    assert finding.denominator == 11
    # hand count (cdi_common: >= 1.0 from a baseline <= 5.5, else >= 0.5, confirmed >= 84 days later):
    # CT-001 5.0 -> 2.0 (Jul 26, confirmed Oct 24), CT-004 6.0 -> 5.0 (Oct 11, Jan 9), CT-006 3.0 -> 2.0
    # (Nov 22, Feb 22); CT-007 and CT-008 improve but are not confirmed 84 days later, CT-005/009/011 fall 0.5
    assert finding.numerator == 3
    assert sorted(change.index[change["improvement_confirmed"].astype(bool)]) == [
        "CT-001",
        "CT-004",
        "CT-006",
    ]
    assert "in 3 of 11 evaluable patients" in finding.statement
    assert f"{SUBJECT}" in finding.statement
    assert "no room to improve" in finding.statement


def test_every_patient_can_improve_in_the_example(snapshot: StudySnapshot) -> None:
    """No baseline EDSS 0 in the example: the denominator stays the EDSS-change population (12)."""
    analysis = analyse(snapshot)
    finding = next(f for f in analysis.findings if f.statement.startswith("Confirmed EDSS improvement"))
    assert finding.denominator == 12
    assert "no room to improve" not in finding.statement


def test_the_report_table_shows_improvement_evaluability() -> None:
    """The report's edss_change table shows who is evaluable for improvement, the finding's denominator
    (D-19.623): without it a reader counts the improvers over every row."""
    from cartrial.report.render import SECTIONS

    [spec] = [t for s in SECTIONS for t in s.tables if t.dataset == "edss_change"]
    assert "improvement_evaluable" in spec.columns
    assert spec.columns.index("improvement_evaluable") < spec.columns.index("improvement_confirmed")
