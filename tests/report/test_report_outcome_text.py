"""The report's text follows what the analysis analysed (D-19.71): for a study that collects none of the
NMOSD outcomes (EDSS, vision, walk, OSIS, relapses, AQP4-IgG) the methods list no relapse option, rate CI
or efficacy-population rule, the listings intro does not announce relapses, the subject listing shows no
AQP4-IgG or relapse-history column, there is no empty efficacy section and the swimmer plot has no relapse
legend. The reference study's report keeps all of them. The study "of another indication" here is the
example study seen through a protocol without those assessments and endpoints, its NMOSD forms empty."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from cartrial.analysis import Analysis, analyse
from cartrial.analysis.output import readme_text
from cartrial.protocol.model import MEASURE_ASSESSMENT
from cartrial.report.render import Report, build_report
from cartrial.store.snapshot import read_snapshot

CUTOFF = dt.date(2022, 3, 20)
NMOSD_ASSESSMENTS = {"edss", "visual_acuity", "osis", "timed_25_foot_walk", "relapse_review", "aqp4_igg"}
NMOSD_FORMS = ("edss", "visual_acuity", "osis", "timed_walk", "relapses")
NMOSD_OPTIONS = {"relapse_follow_up_end", "rate_ci", "efficacy_evaluable"}


class _OtherIndication:
    """The example protocol without the NMOSD assessments and the endpoints measured by them."""

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol

    def __getattr__(self, name: str) -> Any:
        return getattr(self._protocol, name)

    @property
    def collected_assessments(self) -> frozenset[str]:
        return frozenset(self._protocol.schedule.collected - NMOSD_ASSESSMENTS)

    @property
    def endpoints(self) -> dict[str, Any]:
        return {k: e for k, e in self._protocol.endpoints.items() if e.measure not in MEASURE_ASSESSMENT}


def _report(analysis: Analysis, tables: Any) -> Report:
    return build_report(
        analysis, tables, cartrial_version="test", generated_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    )


@pytest.fixture(scope="module")
def both(example_sqlite_template: Path) -> dict[str, tuple[Analysis, Report]]:
    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", CUTOFF)
    tables = dict(snapshot.tables)
    for name in NMOSD_FORMS:
        tables[name] = tables[name].iloc[0:0]
    tables["subjects"] = tables["subjects"].assign(aqp4_igg_status="", aqp4_igg_titre="")
    tables["pd_samples"] = tables["pd_samples"].assign(aqp4_igg_titre="")
    other = dataclasses.replace(snapshot, tables=tables, protocol=_OtherIndication(snapshot.protocol))
    out = {}
    for key, snap in (("nmosd", snapshot), ("other", other)):
        analysis = analyse(snap)
        out[key] = (analysis, _report(analysis, snap.tables))
    return out


def _section(report: Report, anchor: str) -> Any:
    return next((s for s in report.sections if s.anchor == anchor), None)


def test_a_study_without_the_nmosd_outcomes_reads_as_analysed(
    both: dict[str, tuple[Analysis, Report]],
) -> None:
    analysis, report = both["other"]
    assert not set(analysis.options) & NMOSD_OPTIONS
    assert not {name for name, _text in report.methods} & NMOSD_OPTIONS
    assert "- rates:" not in readme_text(analysis)
    assert _section(report, "listings").intro == "Per-subject CRS episodes, DLTs and serious adverse events."
    demographics = _section(report, "demographics")
    assert demographics.intro.endswith("then the subject records as captured.")
    subjects = next(t for t in demographics.tables if t.name == "records_subjects")
    assert not {"aqp4_igg_status", "aqp4_igg_titre", "relapse_history"} & set(subjects.header)
    assert {"subject_id", "sex", "treatment_history"} <= set(subjects.header)
    assert _section(report, "efficacy") is None  # nothing analysed: no empty section
    by_subject = next(d for d in report.datasets_methods if d["name"] == "demographics_by_subject")
    assert by_subject["sources"] == "subjects, infusions"
    swimmer = report.figures["swimmer"]
    assert "relapse" not in swimmer.svg.lower() and "relapse" not in swimmer.caption.lower()


def test_the_reference_study_report_keeps_its_outcome_text(both: dict[str, tuple[Analysis, Report]]) -> None:
    analysis, report = both["nmosd"]
    assert set(analysis.options) >= NMOSD_OPTIONS
    assert "- rates: exact Poisson" in readme_text(analysis)
    assert _section(report, "listings").intro == (
        "Per-subject CRS episodes, DLTs, serious adverse events and relapses."
    )
    demographics = _section(report, "demographics")
    assert demographics.intro.endswith(
        "then the subject records as captured and the baseline values of the analysis datasets."
    )
    subjects = next(t for t in demographics.tables if t.name == "records_subjects")
    assert {"aqp4_igg_status", "aqp4_igg_titre", "relapse_history"} <= set(subjects.header)
    assert _section(report, "efficacy") is not None
    by_subject = next(d for d in report.datasets_methods if d["name"] == "demographics_by_subject")
    assert by_subject["sources"] == "subjects, infusions, relapses_by_subject, edss_change"
    assert "relapse" in report.figures["swimmer"].svg.lower()
