"""A subject's total CRS duration is not known while an episode is ongoing (D-19.589).

`crs_icans_by_subject.crs_total_duration_days` summed the durations of the resolved episodes only: a
subject with a resolved episode of 1 day and a second episode still unresolved at the end of its
assessments had a total of 1.0 day, and `crs_icans_timing` summarised that 1.0 as a total duration — the
second episode had already lasted 2 days by its last assessment. A total with an unresolved part is at
least the known part, not a duration: it is blank (missing in the summary), as the total of a single
ongoing episode already was; `crs_ongoing` says why.

By hand: CT-001 (infused 2021-04-27T02:00Z, infusions.csv) gets the CRS assessments 2021-04-28T10:00Z
38.5 °C, 2021-04-29T10:00Z 36.8 °C with CRS resolved (episode 1, 1 day), 2021-05-05T10:00Z 39.0 °C and
2021-05-06T10:00Z 38.8 °C (episode 2, not resolved): two episodes, the first onset day 1 + 8/24 = 1.333,
the total duration unknown.
"""

from __future__ import annotations

import pandas as pd

from cartrial.analysis.core import study_populations
from cartrial.analysis.toxicity import crs_icans_datasets
from cartrial.store.snapshot import StudySnapshot

from .conftest import CUTOFF

SUBJECT = "CT-001"
SERIES = (
    ("2021-04-28T10:00:00Z", "38.5", "false"),
    ("2021-04-29T10:00:00Z", "36.8", "true"),
    ("2021-05-05T10:00:00Z", "39.0", "false"),
    ("2021-05-06T10:00:00Z", "38.8", "false"),
)


def _two_episodes(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
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
    therapies = tables["therapies"]
    return {
        **tables,
        "crs_assessments": pd.concat(
            [crs[crs["subject_id"] != SUBJECT], pd.DataFrame(rows)], ignore_index=True
        ),
        "therapies": therapies[therapies["subject_id"] != SUBJECT],
    }


def test_the_total_duration_is_blank_while_an_episode_is_ongoing(snapshot: StudySnapshot) -> None:
    tables = _two_episodes(dict(snapshot.tables))
    study = study_populations(tables, snapshot.protocol, CUTOFF)
    datasets = crs_icans_datasets(tables, study.populations)
    row = datasets["crs_icans_by_subject"].table.set_index("subject_id").loc[SUBJECT]
    assert row["crs_episodes"] == 2
    assert row["crs_first_onset_day"] == 1.333
    assert bool(row["crs_ongoing"])
    assert pd.isna(row["crs_total_duration_days"])
    timing = datasets["crs_icans_timing"].table
    level = timing[(timing["group"] == "dose level 1") & (timing["measure"] == "crs_total_duration_days")]
    assert int(level["n"].iloc[0]) + int(level["n_missing"].iloc[0]) == 3  # CT-001, CT-002, CT-003
    # by hand (crs_assessments.csv): CT-002 (2021-05-20 to 05-22) and CT-003 (2021-06-12 to 06-16) have a
    # resolved CRS, a total each; CT-001's is blank (the sum of the resolved part gave n 3, n_missing 0)
    assert int(level["n"].iloc[0]) == 2
    assert int(level["n_missing"].iloc[0]) == 1
    # n_missing mixes "no CRS" and "ongoing": n_ongoing says how many are still ongoing (D-19.589)
    assert int(level["n_ongoing"].iloc[0]) == 1
    onset = timing[(timing["group"] == "dose level 1") & (timing["measure"] == "crs_first_onset_day")]
    assert pd.isna(onset["n_ongoing"].iloc[0])  # an onset is known while the episode is ongoing
