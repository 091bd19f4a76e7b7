"""A study without any therapies record (a virtual study: CRS management is not simulated, D-19.393) read
"tocilizumab was given in 0 and corticosteroids in 0 of 11 CRS cases" and "CRS treated with tocilizumab 0
of 12": a count of data that were never recorded. Without a therapies record the treatment is "not
recorded": the per-subject flags are missing, the summary's k is empty with the reason, and the key finding
says so; a study that records therapies keeps its counts (D-19.476)."""

from __future__ import annotations

import dataclasses

import pandas as pd

from cartrial.analysis import analyse


def _crs_finding(analysis) -> str:  # type: ignore[no-untyped-def]
    [text] = [f.statement for f in analysis.findings if f.statement.startswith("CRS began")]
    return text


def test_no_therapies_record_is_not_recorded_not_zero(snapshot) -> None:  # type: ignore[no-untyped-def]
    assert len(snapshot.tables["therapies"])  # the example records therapies
    tables = {**snapshot.tables, "therapies": snapshot.tables["therapies"].iloc[0:0]}
    analysis = analyse(dataclasses.replace(snapshot, tables=tables))
    text = _crs_finding(analysis)
    assert "was given in 0" not in text and "not recorded" in text
    summary = analysis.datasets["crs_icans_summary"].table
    treated = summary[summary["measure"].isin(["crs_tocilizumab", "crs_corticosteroid"])]
    assert len(treated) and treated["k"].isna().all() and treated["percent"].isna().all()
    assert treated["description"].str.contains("not recorded").all()
    by_subject = analysis.datasets["crs_icans_by_subject"].table
    assert by_subject["crs_tocilizumab"].isna().all()
    episodes = analysis.datasets["crs_episodes"].table
    assert len(episodes) and episodes["tocilizumab_doses"].isna().all()
    # the other measures keep their counts
    anyc = summary[summary["measure"] == "crs_any"]
    assert anyc["k"].notna().all() and (pd.to_numeric(anyc["k"]) > 0).any()


def test_recorded_therapies_keep_their_counts(analysis) -> None:  # type: ignore[no-untyped-def]
    text = _crs_finding(analysis)
    assert "tocilizumab was given in" in text
    summary = analysis.datasets["crs_icans_summary"].table
    treated = summary[summary["measure"] == "crs_tocilizumab"]
    assert treated["k"].notna().all()
    assert not treated["description"].str.contains("not recorded").any()
