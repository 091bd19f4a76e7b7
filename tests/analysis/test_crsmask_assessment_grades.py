"""The analysis layer's per-assessment CRS grade follows the episodes' fever-masking rule (D-19.1355): a
recorded ``fever_masked`` flag counts only after a CRS fever recorded after the infusion (D-19.1308; ASTCT
2019, Lee DW et al., BBMT 2019;25:625, CRS-2), so no assessment is graded above the episode that holds it."""

from __future__ import annotations

import pandas as pd

from cartrial.analysis import Analysis, safety
from cartrial.store.snapshot import StudySnapshot


def _afebrile_flagged(snapshot: StudySnapshot) -> dict[str, pd.DataFrame]:
    """The example's tables with one infused subject's CRS assessments replaced by two afebrile rows flagged
    fever_masked (hypotension without vasopressor, then a facemask), and no therapies for that subject."""
    tables = dict(snapshot.tables)
    crs = tables["crs_assessments"]
    subject = str(tables["infusions"]["subject_id"].iloc[0])
    rows = crs[crs["subject_id"].astype(str) == subject].head(2).copy()
    assert len(rows) == 2
    for column, values in {
        "temperature_c": [37.0, 37.1],
        "fever_masked": [True, True],
        "hypotension": [True, False],
        "vasopressors": [0, 0],
        "vasopressin": [False, False],
        "oxygen": ["none", "facemask"],
        "oxygen_l_min": [None, None],
        "crs_resolved": [False, False],
        "death_due_to_crs": [False, False],
        "fever_other_cause": [False, False],
    }.items():
        if column in rows.columns:
            rows[column] = pd.Series(values, index=rows.index, dtype=object)
    for column in ("temperature_f", "systolic_bp_mmhg"):
        if column in rows.columns:
            rows[column] = None
    tables["crs_assessments"] = rows.reset_index(drop=True)
    therapies = tables["therapies"]
    tables["therapies"] = therapies[therapies["subject_id"].astype(str) != subject].reset_index(drop=True)
    return tables


def test_an_afebrile_flagged_row_is_no_crs_in_the_analysis(snapshot: StudySnapshot) -> None:
    tables = _afebrile_flagged(snapshot)
    after = safety.crs_assessment_grades(tables).table
    assert after["grade"].tolist() == [0, 0]  # no fever recorded: the ASTCT fever requirement fails
    assert after["episode"].tolist() == [0, 0]
    assert after["fever_masked_used"].tolist() == [False, False]
    assert int(safety.crs_episodes(tables).table["max_grade"].max()) == 0
    recorded = safety.crs_assessment_grades(tables, masking="recorded").table
    assert recorded["grade"].tolist() == [2, 3]  # the flag as recorded (ASTCT grade 2, then 3 by facemask)
    assert all("fever_masked as recorded" in r for r in recorded["grade_reason"])


def test_no_assessment_is_graded_above_its_episode_in_the_example(analysis: Analysis) -> None:
    rows = analysis.datasets["crs_assessment_grades"].table
    episodes = analysis.datasets["crs_episodes"].table
    assert len(rows) and set(rows["masking"]) == {"after_fever"}
    in_episode = rows[rows["episode"] >= 1]
    worst = in_episode.groupby(["subject_id", "episode"])["grade"].max()
    counts = in_episode.groupby(["subject_id", "episode"]).size()
    for _, episode in episodes[episodes["episode"] >= 1].iterrows():
        key = (episode["subject_id"], episode["episode"])
        assert int(worst[key]) <= int(episode["max_grade"])
        assert int(counts[key]) == int(episode["n_assessments"])
    # a row graded >= 1 lies in an episode
    assert (rows.loc[rows["grade"] >= 1, "episode"] >= 1).all()
