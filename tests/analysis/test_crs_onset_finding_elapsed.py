"""The CRS onset finding says elapsed days after the infusion, not a study "day" (D-19.987).

Before: "CRS began at a median of day 2.8" with the definition "(day 0 = infusion)", while the number is
``crs_first_onset_day``, fractional days from the infusion instant (`toxicity.ELAPSED_DAYS`), and the
report's "day 0 = infusion date" is the calendar day on the site's calendar (figures' heat map, swimmer plot).

By hand: CT-001 infused at 18:00Z, its only CRS episode's onset (the first fever) at 10:00Z two calendar days
later: 40 hours = 1.667 elapsed days (calendar day 2), so "1.7 days after the infusion".
"""

from __future__ import annotations

import pandas as pd

from cartrial.analysis.core import study_populations
from cartrial.analysis.findings import safety_findings
from cartrial.analysis.toxicity import crs_icans_datasets
from cartrial.store.snapshot import StudySnapshot

from .conftest import CUTOFF

SUBJECT = "CT-001"
INFUSED = "2021-04-26T18:00:00Z"
SERIES = (("2021-04-28T10:00:00Z", "38.5", "false"), ("2021-04-29T10:00:00Z", "36.8", "true"))


def _tables(snapshot: StudySnapshot) -> dict[str, pd.DataFrame]:
    tables = dict(snapshot.tables)
    crs = tables["crs_assessments"]
    template = crs[crs["subject_id"] == SUBJECT].iloc[0].to_dict()
    rows = [
        template
        | {
            "assessed_at": at,
            "temperature_c": temperature,
            "crs_resolved": resolved,
            "fever_masked": "false",
            "transaminase_grade": "0",
            "record_id": str(900000 + i),
        }
        for i, (at, temperature, resolved) in enumerate(SERIES)
    ]
    infusions = tables["infusions"].copy()
    infusions.loc[infusions["subject_id"] == SUBJECT, "infused_at"] = INFUSED
    therapies = tables["therapies"]
    return {
        **tables,
        "infusions": infusions,
        "crs_assessments": pd.DataFrame(rows),  # CT-001's CRS only: the median is its onset
        "therapies": therapies[therapies["subject_id"] != SUBJECT],
    }


def test_the_crs_onset_finding_is_elapsed_days_after_the_infusion(snapshot, analysis) -> None:  # type: ignore[no-untyped-def]
    tables = _tables(snapshot)
    study = study_populations(tables, snapshot.protocol, CUTOFF)
    crs = crs_icans_datasets(tables, study.populations)
    row = crs["crs_icans_by_subject"].table.set_index("subject_id").loc[SUBJECT]
    assert row["crs_first_onset_day"] == 1.667
    datasets = {**analysis.datasets, **crs}
    finding = next(
        f
        for f in safety_findings(datasets, analysis.populations, snapshot.protocol)
        if f.statement.startswith("CRS began")
    )
    assert finding.statement.startswith("CRS began a median of 1.7 days after the infusion (range 1.7–1.7); ")
    assert "day 1.7" not in finding.statement
    assert finding.definition.startswith(
        "time from the infusion instant to onset of the first CRS episode, in elapsed days "
        "(not the calendar study day)"
    )
    assert "day 0" not in finding.definition
