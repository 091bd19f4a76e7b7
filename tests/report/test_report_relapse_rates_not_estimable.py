"""The report's relapse_rates table shows why an infinite post/pre rate ratio is not estimable (D-19.1187):
the analysis writes the reason in a ``not_estimable`` column, but the report's table showed only measure,
events, patient_years, estimate and the interval, so the ratio's row read as blank cells with no reason.

Through the analysis (`relapse_datasets` on the example study) with every pre-infusion relapse removed and
one relapse after the infusion (CT-002, onset 2022-03-15, within its follow-up, D-19.587): 0 attacks before,
1 after, so the conditional MLE is infinite (no pre-infusion attack in any informative patient)."""

from __future__ import annotations

import pandas as pd

from cartrial.analysis.core import study_populations
from cartrial.analysis.efficacy import relapse_datasets
from cartrial.report.render import SECTIONS, _table
from cartrial.store.snapshot import StudySnapshot

from ..analysis.conftest import CUTOFF


def _spec_columns(name: str) -> tuple[str, ...]:
    return next(t.columns for s in SECTIONS for t in s.tables if t.dataset == name)


def test_the_report_table_gives_the_reason_of_a_not_estimable_ratio(snapshot: StudySnapshot) -> None:
    tables = dict(snapshot.tables)
    relapses = tables["relapses"]
    row = {c: "" for c in relapses.columns} | {
        "subject_id": "CT-002",
        "onset_date": "2022-03-15",
        "phenotype": "myelitis",
        "severity": "moderate",
        "lasted_over_24h": "true",
        "fever_or_infection": "false",
        "record_id": "999999",
    }
    tables["relapses"] = pd.DataFrame([row], columns=relapses.columns)
    study = study_populations(tables, snapshot.protocol, CUTOFF)
    datasets, _ = relapse_datasets(tables, snapshot.protocol, CUTOFF, study.populations)
    rates = datasets["relapse_rates"]
    shown = _table("relapse_rates", "t", "safety", "d", rates.table, _spec_columns("relapse_rates"))
    assert "not_estimable" in shown.header
    cells = dict(zip(shown.header, shown.rows[-1], strict=True))
    assert cells["measure"] == "ARR ratio after/before"
    assert cells["estimate"] == ""
    assert cells["not_estimable"].startswith("no attack before infusion (1 after)")
