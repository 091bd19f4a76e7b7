"""D-19.787: the report's DLT listing shows the analysis's `query` (and how long the event was graded, known
unresolved) for a DLT counted through assessments that could not grade it; it selects `dlt_assessments`
columns, no rule of its own."""

from __future__ import annotations

import pandas as pd

from cartrial.report.render import SECTIONS, _table

QUERY = "icans_3: duration > 3 days only through assessments that could not grade it"


def test_the_dlt_listing_shows_the_query_and_the_graded_days() -> None:
    frame = pd.DataFrame(
        {
            "subject_id": ["S1"],
            "category": ["icans"],
            "grade": [3],
            "onset_day": [1.0],
            "duration_days": [None],
            "ongoing_at_day": [6.0],
            "graded_to_day": [1.0],
            "rules_fired": ["icans_3"],
            "query": [QUERY],
            "source": ["cartrial.grading"],
        }
    )
    spec = next(t for s in SECTIONS for t in s.tables if t.dataset == "dlt_listing")
    table = _table("dlt_listing", "DLTs", "safety", "", frame, spec.columns)
    row = dict(zip(table.header, table.rows[0], strict=True))
    assert row["query"] == QUERY
    assert float(row["graded_to_day"]) == 1.0 and float(row["ongoing_at_day"]) == 6.0
