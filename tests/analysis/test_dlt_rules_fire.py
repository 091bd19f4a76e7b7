"""The example protocol's ICANS, organ-toxicity and committee-judged DLT rules fire on study data written
through the store's audited edits (a real SQLite study database): graded ICANS is related to the product by
definition (ASTCT 2019), an adverse event's CTCAE term gives its organ, and the investigator's DLT flag is
the recorded judgement the committee rule reads. Expectations from the protocol's rule text."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from cartrial.analysis import Analysis, analyse
from cartrial.escalation.dlt import RELATEDNESS_BY_DEFINITION_SOURCE
from cartrial.protocol.organs import ORGAN_SOURCE
from cartrial.store.database import connect
from cartrial.store.models import AdverseEvent, IcansAssessment
from cartrial.store.service import StudyService
from cartrial.store.snapshot import read_snapshot

from .conftest import CUTOFF

BLANK_AE = {
    "meddra_code": None,
    "ended_on": None,
    "grading_scale": "CTCAE",
    "grading_scale_version": "5.0",
    "serious": False,
    "action_taken": None,
    "outcome": "recovered",
    "pathogen": None,
    "infection_site": None,
}


def _add_adverse_event(
    service: StudyService,
    subject: str,
    term: str,
    started_on: dt.date,
    grade: int,
    relatedness: str,
    *,
    dlt: bool,
    category: str | None = "non_hematologic",
) -> None:
    """Record one adverse event through the store's audited insert (the other fields as `BLANK_AE`)."""
    record = {"subject_id": subject, "term": term, "category": category, "started_on": started_on}
    record |= {"grade": grade, "relatedness": relatedness, "dlt": dlt}
    service.insert_record("admin", "adverse_event", BLANK_AE | record)


def _dlts(analysis: Analysis, subject: str) -> pd.DataFrame:
    table = analysis.datasets["dlt_assessments"].table
    return table[(table["subject_id"] == subject) & table["is_dlt"]].reset_index(drop=True)


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory, example_sqlite_template: Path) -> Analysis:
    import shutil

    path = tmp_path_factory.mktemp("dlt_rules") / "study.db"
    shutil.copyfile(example_sqlite_template, path)
    url = f"sqlite:///{path}"
    service = StudyService(connect(url))
    # CT-005 (infused 2021-08-03): an ICANS assessment on 2021-08-08 with every ICE item 0 in an alert
    # patient: ICE 0-2 = ASTCT 2019 ICANS grade 3
    with service.engine.connect() as connection:
        record_id, version = connection.execute(
            select(IcansAssessment.id, IcansAssessment.version)
            .where(IcansAssessment.subject_id == "CT-005")
            .order_by(IcansAssessment.assessed_at)
            .offset(5)
            .limit(1)
        ).one()
        crs_ae, crs_version = connection.execute(
            select(AdverseEvent.id, AdverseEvent.version).where(
                AdverseEvent.subject_id == "CT-001", AdverseEvent.category == "crs"
            )
        ).one()
    zero = {f"ice_{item}": 0 for item in ("orientation", "naming", "command", "writing", "attention")}
    service.update_record("admin", "icans_assessment", record_id, zero, version, "DLT rule check")
    # CT-003 (infused 2021-06-08): grade 3 ALT increase on day 10, possibly related, not flagged by the
    # investigator -> organ toxicity (hepatic) by the protocol's rule only
    _add_adverse_event(
        service,
        "CT-003",
        "Alanine aminotransferase increased",
        dt.date(2021, 6, 18),
        3,
        "possible",
        dlt=False,
    )
    # CT-007 (infused 2021-09-28): grade 2 acute kidney injury on day 4, probable: renal from grade 2
    _add_adverse_event(
        service, "CT-007", "Acute kidney injury", dt.date(2021, 10, 2), 2, "probable", dlt=False
    )
    # CT-002 (infused 2021-05-18): grade 2 fatigue on day 6 judged a DLT (investigator's DLT flag)
    _add_adverse_event(service, "CT-002", "Fatigue", dt.date(2021, 5, 24), 2, "possible", dlt=True)
    # CT-006: a flagged adverse event without a category is read by the committee rule too
    _add_adverse_event(
        service, "CT-006", "Headache", dt.date(2021, 9, 10), 2, "possible", dlt=True, category=None
    )
    # CT-001's grade 1 CRS adverse-event record flagged DLT: the committee rule reads the flag
    service.update_record("admin", "adverse_event", crs_ae, {"dlt": True}, crs_version, "DLT rule check")
    return analyse(read_snapshot(url, CUTOFF))


def test_graded_icans_grade_3_is_a_dlt_related_by_definition(edited: Analysis) -> None:
    dlts = _dlts(edited, "CT-005")
    icans = dlts[dlts["category"] == "icans"]
    assert len(icans) == 1 and icans["grade"].item() == 3
    assert icans["rules_fired"].item() == "icans_grade_3_related"
    assert icans["relatedness"].item() == "definite"
    assert RELATEDNESS_BY_DEFINITION_SOURCE in icans["rule_sources"].item()
    assert "icans_assessments" in icans["source"].item()


def test_organ_toxicity_from_the_adverse_event_term(edited: Analysis) -> None:
    hepatic = _dlts(edited, "CT-003")
    assert list(hepatic["rules_fired"]) == ["organ_toxicity_related"]
    assert list(hepatic["organ"]) == ["hepatic"]
    assert ORGAN_SOURCE in hepatic["rule_sources"].item()
    renal = _dlts(edited, "CT-007")
    assert list(renal["rules_fired"]) == ["organ_toxicity_related"] and list(renal["organ"]) == ["renal"]
    by_subject = edited.datasets["dlt_by_subject"].table.set_index("subject_id")
    assert by_subject.loc["CT-003", "agreement"] == "protocol rules only"


def test_the_committee_rule_reads_the_investigators_dlt_flag(edited: Analysis) -> None:
    fatigue = _dlts(edited, "CT-002")
    assert list(fatigue["rules_fired"]) == ["committee_judged"]
    assert "DLT flag" in fatigue["source"].item() and "judgement" in fatigue["rule_sources"].item()
    # a flagged CRS adverse-event record: only the committee rule reads it (CRS grades come from the
    # assessments, D-13.2), so its investigator grade 1 does not meet the CRS rule
    crs = _dlts(edited, "CT-001")
    assert list(crs["category"]) == ["crs"] and list(crs["rules_fired"]) == ["committee_judged"]
    assert "adverse_events record" in crs["source"].item()
    blank = _dlts(edited, "CT-006")
    assert list(blank["rules_fired"]) == ["committee_judged"]
    assert "category not recorded" in blank["source"].item()
    by_subject = edited.datasets["dlt_by_subject"].table.set_index("subject_id")
    assert by_subject.loc["CT-006", "agreement"] == "agree"
    assert by_subject.loc["CT-002", "agreement"] == "agree" and by_subject.loc["CT-002", "dlt_in_window"]
    assert by_subject.loc["CT-001", "agreement"] == "agree" and by_subject.loc["CT-001", "dlt_in_window"]
