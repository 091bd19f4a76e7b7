"""The analysis layer's per-assessment CRS grade follows the episodes' fever-masking rule (D-19.1355): a
recorded ``fever_masked`` flag counts only after a CRS fever recorded after the infusion (D-19.1308; ASTCT
2019, Lee DW et al., BBMT 2019;25:625, CRS-2), so no assessment is graded above the episode that holds it."""

from __future__ import annotations

import re

import pandas as pd

from cartrial.analysis import Analysis, safety
from cartrial.analysis.core import safety_derivations, study_populations
from cartrial.analysis.options import option_sources
from cartrial.protocol import parse_protocol
from cartrial.store.snapshot import StudySnapshot

from .conftest import CUTOFF


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
    assert all("fever_masked taken as recorded" in r for r in recorded["grade_reason"])


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


def _crs_datasets(snapshot: StudySnapshot, tables: dict[str, pd.DataFrame], masking: str | None) -> dict:  # type: ignore[type-arg]
    """The CRS datasets as `analyse` wires them, the example protocol's ``crs_masking`` set to `masking`
    (None: as the example states it, the default)."""
    text = snapshot.protocol_yaml
    if masking is not None:
        text = re.sub(r"(?m)^(\s*crs_masking:) after_fever\b", rf"\1 {masking}", text, count=1)
        assert f"crs_masking: {masking}" in text
    protocol = parse_protocol(text)
    study = study_populations(tables, protocol, CUTOFF)
    assert (
        option_sources(protocol.analysis)["crs_masking"]["source"] == "protocol analysis.options.crs_masking"
    )
    return safety_derivations(tables, protocol, study)["crs_icans_datasets"]()


def test_the_protocol_option_sets_the_episodes_and_the_rows_alike(snapshot: StudySnapshot) -> None:
    tables = _afebrile_flagged(snapshot)
    subject = str(tables["crs_assessments"]["subject_id"].iloc[0])
    grades: dict[str, tuple[list[int], int]] = {}
    for masking in ("after_fever", "recorded"):
        datasets = _crs_datasets(snapshot, tables, masking)
        rows = datasets["crs_assessment_grades"].table
        episodes = datasets["crs_episodes"].table
        own = episodes[episodes["subject_id"].astype(str) == subject]
        grades[masking] = (rows["grade"].astype(int).tolist(), int(own["max_grade"].max()))
        assert set(rows["masking"]) == {masking}
    # after_fever (D-19.1308): no fever recorded, no CRS; recorded: the flag waives the fever, hypotension
    # without vasopressor (2), then a facemask (3, CRS-6): an episode of grade 3 (D-19.1356)
    assert grades == {"after_fever": ([0, 0], 0), "recorded": ([2, 3], 3)}


def test_a_fever_before_the_infusion_has_no_crs_grade(snapshot: StudySnapshot) -> None:
    # CT-001 (infused 2021-04-27 02:00Z): its first CRS row moved to 2021-04-26T10:00Z at 38.4 °C
    tables = dict(snapshot.tables)
    crs = tables["crs_assessments"].copy()
    first = crs.index[crs["subject_id"].astype(str) == "CT-001"][0]
    crs["temperature_c"] = crs["temperature_c"].astype(object)
    crs.loc[first, "assessed_at"] = "2021-04-26T10:00:00Z"
    crs.loc[first, "temperature_c"] = 38.4
    tables["crs_assessments"] = crs
    rows = safety.crs_assessment_grades(tables).table
    moved = rows[rows["record_id"].astype(str) == str(crs.loc[first, "record_id"])].iloc[0]
    assert pd.isna(moved["grade"])
    assert moved["grade_reason"] == "before the infusion: not CRS"
    assert int(moved["episode"]) == 0


def test_the_dlt_evaluation_follows_the_protocol_crs_masking(snapshot: StudySnapshot) -> None:
    # CT-001's CRS rows replaced by two afebrile rows flagged fever_masked with hypotension, no vasopressor
    # then two vasopressors: under recorded the flag waives the fever, ASTCT grade 2 then 4 (CRS-4); the DLT
    # rule crs_grade_4_5 must see that episode as the study's crs_episodes do (D-19.1371)
    tables = dict(snapshot.tables)
    crs = tables["crs_assessments"]
    own = crs["subject_id"].astype(str) == "CT-001"
    rows = crs[own].head(2).copy()
    for column, values in {
        "temperature_c": [37.0, 37.1],
        "fever_masked": [True, True],
        "hypotension": [True, True],
        "vasopressors": [0, 2],
        "vasopressin": [False, False],
        "oxygen": ["none", "none"],
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
    tables["crs_assessments"] = pd.concat([crs[~own], rows]).reset_index(drop=True)
    seen: dict[str, tuple[int, bool, bool]] = {}
    for masking in ("after_fever", "recorded"):
        text = re.sub(
            r"(?m)^(\s*crs_masking:) after_fever\b", rf"\1 {masking}", snapshot.protocol_yaml, count=1
        )
        study = study_populations(tables, parse_protocol(text), CUTOFF)
        episodes = study.crs.table
        worst = int(episodes.loc[episodes["subject_id"].astype(str) == "CT-001", "max_grade"].max())
        assessed = study.evaluation.assessments
        crs_events = assessed[
            (assessed["subject_id"].astype(str) == "CT-001") & (assessed["category"] == "crs")
        ]
        fired = any("crs_grade_4_5" in str(r).split(";") for r in crs_events["rules_fired"])
        seen[masking] = (worst, fired, "CT-001" in study.evaluation.engine_days)
    assert seen["after_fever"][:2] == (0, False)
    assert seen["recorded"] == (4, True, True)
