"""One reading of "serious" (D-19.1084): the report's serious-AE listing is the rows of `teae_listing` the
analysis flagged serious (its column `serious_flag`), the flag `teae_by_subject.serious_teae`,
`teae_summary` and `teae_by_term.n_subjects_serious` count. The report (and the web page) read the text
column `serious` again with their own comparison.

By hand from the example study: one serious TEAE (CT-006, pneumonia); CT-001's anaemia entered serious
"Yes" (the import's word, read as true by the snapshot, D-19.1078): 2 serious TEAEs of CT-001 and CT-006."""

from __future__ import annotations

import dataclasses

from cartrial.analysis import analyse
from cartrial.report.render import _listing_datasets
from cartrial.store.snapshot import StudySnapshot


def test_the_report_lists_the_events_the_analysis_counts_serious(snapshot: StudySnapshot) -> None:
    ae = snapshot.tables["adverse_events"].copy()
    (row,) = ae.index[(ae["subject_id"] == "CT-001") & (ae["term"] == "Anaemia")]
    ae.loc[row, "serious"] = "Yes"
    analysis = analyse(dataclasses.replace(snapshot, tables=dict(snapshot.tables) | {"adverse_events": ae}))
    listing = analysis.datasets["teae_listing"]
    assert listing.table["serious_flag"].dtype == bool
    assert "serious_flag" in listing.columns
    assert sorted(listing.table.loc[listing.table["serious_flag"], "subject_id"]) == ["CT-001", "CT-006"]
    summary = analysis.datasets["teae_summary"].table
    k = summary[(summary["group"] == "all") & (summary["measure"] == "serious_teae")].iloc[0]["k"]
    _title, shown, _population, derivation = _listing_datasets(analysis)["serious_ae_listing"]
    assert sorted(shown["subject_id"]) == ["CT-001", "CT-006"]
    assert shown["subject_id"].nunique() == int(k) == 2
    assert "serious_flag" in derivation
    assert "serious_flag" not in shown.columns  # the text column `serious` is shown, not twice
