"""AQP4-IgG baseline: the last titre on or before day 0, the screening titre when the PD samples have none
(D-19.233).

The protocol defines baseline as the last value on or before day 0 (examples/ct103a-nmosd/protocol.yaml,
``analysis.populations``) and schedules AQP4-IgG at the screening visit (day -28); the store holds that
screening titre in ``subjects.aqp4_igg_titre`` (with ``subjects.aqp4_igg_assay``). `aqp4_titre_change` read
the PD samples only: a subject without a pre-infusion PD titre had "no baseline AQP4-IgG titre" and left the
AQP4 population although its screening titre is a value before infusion. By hand from the example CSVs:
CT-003's only pre-infusion PD titre is day -7 (1:100, pd_samples.csv); with it removed, its screening titre
(1:100, subjects.csv) is the baseline, its last PD titre 1:10 (day 180): 1:100 → 1:32 → 1:10, change -2
steps, fell.
"""

from __future__ import annotations

import pandas as pd
import pytest

from cartrial.analysis.core import study_populations
from cartrial.analysis.kinetics import pd_datasets
from cartrial.analysis.model import Dataset, Population
from cartrial.protocol.analysis_spec import AnalysisOptions, Aqp4Baseline
from cartrial.store.snapshot import StudySnapshot

from .conftest import CUTOFF, rows

SUBJECT = "CT-003"


def _without_pre_infusion_pd_titre(snapshot: StudySnapshot) -> dict[str, pd.DataFrame]:
    tables = dict(snapshot.tables)
    pdt = tables["pd_samples"].copy()
    pre = (pdt["subject_id"] == SUBJECT) & (pd.to_numeric(pdt["nominal_day"]) <= 0)
    assert pre.sum() == 1
    pdt.loc[pre, "aqp4_igg_titre"] = ""
    tables["pd_samples"] = pdt
    return tables


def _titre(
    snapshot: StudySnapshot, baseline: str | None, screening_assay: str = ""
) -> tuple[pd.DataFrame, Dataset, dict[str, Population]]:
    tables = _without_pre_infusion_pd_titre(snapshot)
    subjects = tables["subjects"].copy()
    subjects.loc[subjects["subject_id"] == SUBJECT, "aqp4_igg_assay"] = screening_assay
    tables["subjects"] = subjects
    populations = dict(study_populations(tables, snapshot.protocol, CUTOFF).populations)
    kwargs = {} if baseline is None else {"aqp4_baseline": baseline}
    dataset = pd_datasets(tables, populations, **kwargs)["aqp4_titre_change"]
    return dataset.table.set_index("subject_id"), dataset, populations


def test_the_screening_titre_is_the_baseline_when_no_pd_titre_precedes_day_0(snapshot: StudySnapshot) -> None:
    table, dataset, populations = _titre(snapshot, None)
    screening = {r["subject_id"]: r["aqp4_igg_titre"] for r in rows("subjects")}
    row = table.loc[SUBJECT]
    assert bool(row["evaluable"])
    assert row["baseline_titre"] == screening[SUBJECT] == "1:100"
    assert row["baseline_source"] == "screening"
    assert row["last_titre"] == "1:10" and row["change_steps"] == -2 and bool(row["titre_fell"])
    others = table.drop(index=SUBJECT)
    assert (others.loc[others["evaluable"].astype(bool), "baseline_source"] == "pd_samples").all()
    assert any(SUBJECT in note and "screening" in note for note in dataset.notes)
    assert SUBJECT in populations["efficacy:aqp4_titre"].subject_ids


def test_a_screening_titre_of_another_assay_is_flagged(snapshot: StudySnapshot) -> None:
    """neuro-outcomes.md §6: titres of different assays are not pooled without a flag."""
    table, dataset, _ = _titre(snapshot, None, screening_assay="live_cba")
    assert table.loc[SUBJECT, "baseline_source"] == "screening"
    assert bool(table.loc[SUBJECT, "baseline_assay_differs"])
    assert not table.drop(index=SUBJECT)["baseline_assay_differs"].fillna(False).astype(bool).any()
    assert any("another assay" in note and SUBJECT in note for note in dataset.notes)


def test_option_pd_samples_keeps_the_baseline_to_the_pd_series(snapshot: StudySnapshot) -> None:
    table, _, populations = _titre(snapshot, "pd_samples")
    row = table.loc[SUBJECT]
    assert not bool(row["evaluable"])
    assert row["reason"] == "no baseline AQP4-IgG titre"
    assert pd.isna(row["baseline_titre"])
    assert SUBJECT not in populations["efficacy:aqp4_titre"].subject_ids


def test_the_option_is_a_protocol_analysis_option() -> None:
    assert AnalysisOptions().aqp4_igg_baseline is Aqp4Baseline.PD_SAMPLES_THEN_SCREENING
    assert AnalysisOptions(aqp4_igg_baseline="pd_samples").aqp4_igg_baseline is Aqp4Baseline.PD_SAMPLES
    with pytest.raises(ValueError):
        AnalysisOptions(aqp4_igg_baseline="screening_only")


def test_the_analysis_runs_with_the_protocol_option_and_names_it(snapshot: StudySnapshot) -> None:
    from cartrial.analysis import analyse
    from cartrial.protocol import parse_protocol

    analysis = analyse(snapshot)
    assert analysis.options["aqp4_igg_baseline"] == "pd_samples_then_screening"
    assert analysis.option_sources["aqp4_igg_baseline"] == "protocol analysis.options.aqp4_igg_baseline"
    text = snapshot.protocol_yaml.replace(
        "aqp4_igg_baseline: pd_samples_then_screening", "aqp4_igg_baseline: pd_samples"
    )
    assert text != snapshot.protocol_yaml
    protocol = parse_protocol(text)
    assert protocol.analysis.options.aqp4_igg_baseline is Aqp4Baseline.PD_SAMPLES
