"""A cytopenia present before the treatment-emergent period is pre-existing, not a DLT (D-19.1195).

The protocol's haematological DLT counts only toxicity "not due to the underlying disease" (template
NCT06958939, ct103a-nmosd-trial.md §4), and the study's treatment-emergent period starts at the first
lymphodepletion dose (analysis.options.treatment_emergent_start, D-19.710): a value before it is a baseline
value.

Hand derivation: CT-003 (site TJH, Asia/Shanghai) was lymphodepleted from 2021-06-04 and infused
2021-06-08T01:45Z (study day 0 = 8 June). Its neutrophils (CTCAE v5.0, < 1.0-0.5 x10^9/L grade 3) replaced by
ANC 0.9 on 2021-06-05 (day -3, in lymphodepletion), 0.9 on 2021-06-11 (day 3) and 2.0 on 2021-06-17 (day 9):
a run of grade 3 begun in the treatment-emergent period, split at the infusion (D-19.1191): days 0 to 9 (about
8.97 days > 7), a DLT by the example protocol's haematological rule. With ANC 0.8 on 2021-05-14 (day -25,
before lymphodepletion: baseline) in front, the same run began at screening: pre-existing, one event from day
-25, not split, not a DLT, and dlt_assessments' not_fired says it is pre-existing.
"""

from __future__ import annotations

import pandas as pd

from cartrial.analysis.core import study_populations
from cartrial.protocol import parse_protocol
from cartrial.store.snapshot import StudySnapshot

from .conftest import CUTOFF

SUBJECT = "CT-003"
TERM = "Neutrophil count decreased"


def _tables(snapshot: StudySnapshot, values: list[tuple[str, str]]) -> dict[str, pd.DataFrame]:
    tables = dict(snapshot.tables)
    labs = tables["labs"]
    ours = (labs["subject_id"] == SUBJECT) & (labs["analyte"] == "neutrophils")
    template = labs[ours].iloc[0].to_dict()
    rows = [template | {"collected_at": at, "value": value} for at, value in values]
    for n, row in enumerate(rows):
        if "record_id" in row:
            row["record_id"] = str(990100 + n)
    tables["labs"] = pd.concat([labs[~ours], pd.DataFrame(rows)], ignore_index=True)
    return tables


def _neutropenia(snapshot: StudySnapshot, values: list[tuple[str, str]]) -> pd.DataFrame:
    protocol = parse_protocol(snapshot.protocol_yaml)
    study = study_populations(_tables(snapshot, values), protocol, CUTOFF, time_zones=snapshot.time_zones)
    table = study.evaluation.assessments
    return table[(table["subject_id"] == SUBJECT) & (table["term"] == TERM)].reset_index(drop=True)


EMERGENT = [
    ("2021-06-05T01:00:00Z", "0.9"),
    ("2021-06-11T01:00:00Z", "0.9"),
    ("2021-06-17T01:00:00Z", "2.0"),
]


def test_a_neutropenia_begun_in_lymphodepletion_is_a_dlt_from_day_0(snapshot: StudySnapshot) -> None:
    table = _neutropenia(snapshot, EMERGENT)
    assert [round(float(d), 2) for d in table["onset_day"]] == [-3.03, 0.0]
    assert table["is_dlt"].astype(bool).tolist() == [False, True]


def test_a_neutropenia_present_at_screening_is_pre_existing(snapshot: StudySnapshot) -> None:
    table = _neutropenia(snapshot, [("2021-05-14T01:00:00Z", "0.8"), *EMERGENT])
    assert len(table) == 1
    assert round(float(table.at[0, "onset_day"]), 2) == -25.03
    assert round(float(table.at[0, "duration_days"]), 2) == 34.0
    assert not bool(table.at[0, "is_dlt"])
    assert "pre-existing" in str(table.at[0, "not_fired"])
