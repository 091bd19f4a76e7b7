"""The report lists and plots the records as the analysis read them at its cut-off (D-19.997; the rule of
`analysis.core.tables_at_cutoff`, D-19.85, D-19.990). Before, `report_files` listed a notebook's own
tables as given: a subject's disposition dated after the cut-off (what a data cut does not yet know) was
printed in ``records_subjects.csv`` and the report, while the analysis read the subject as ongoing.

By hand (example study at 2022-03-20, tests/report/conftest.py): CT-001 given the disposition
``withdrawn`` on 2022-04-10, 21 days after the cut-off, is at the cut-off still in the study — disposition
and its date blank, as `open_at_cutoff` reads a subject whose end is after the cut-off."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pandas as pd

from cartrial.analysis import analyse
from cartrial.report import report_files
from cartrial.store.snapshot import StudySnapshot

AFTER_CUTOFF = "2022-04-10"


def test_a_disposition_after_the_cutoff_is_not_listed(snapshot: StudySnapshot) -> None:
    subjects = snapshot.tables["subjects"].copy()
    at = subjects.index[subjects["subject_id"] == "CT-001"]
    subjects.loc[at, "disposition"] = "withdrawn"
    subjects.loc[at, "disposition_date"] = AFTER_CUTOFF
    own = dataclasses.replace(snapshot, tables={**snapshot.tables, "subjects": subjects})
    files = report_files(
        analyse(own), own.tables, generated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), pdf=False
    )
    listed = pd.read_csv(
        io.StringIO(str(files["tables/records_subjects.csv"])), dtype=str, keep_default_na=False
    )
    row = listed[listed["subject_id"] == "CT-001"].iloc[0]
    assert (row["disposition"], row["disposition_date"]) == ("", "")
    assert AFTER_CUTOFF not in str(files["report.html"])
    assert all(AFTER_CUTOFF not in str(text) for name, text in files.items() if name.endswith(".csv"))
