"""The escalation state shown to a site-restricted investigator (D-19.486): their own site's patients keep
their rows (infusion day, DLT window, evaluation); another site's patients were listed too, without a subject
id but with their infusion day, dose level, DLT flag and not-evaluable reason. They are now only counted, per
cohort and dose level (infused, DLT-evaluable, with a DLT): what the safety review committee's summary
needs. The expectations come from the study-wide view of the same data (a statistician's)."""

from __future__ import annotations

import datetime as dt

from tests.conftest import record_decision

DETAIL = ("infused_on", "window_closes_on", "days_left", "reason_not_evaluable", "evaluation")


def _decide(study) -> None:
    record_decision(study.service, decided_on=dt.date(2021, 7, 1), outcomes="1NN")


def _counts(rows: list[dict]) -> dict:
    return {
        "infused": len(rows),
        "evaluable": sum(1 for p in rows if p["evaluable"]),
        "dlt": sum(1 for p in rows if p["dlt"]),
    }


def test_the_api_counts_other_sites_patients_per_cohort(any_web_study) -> None:
    _decide(any_web_study)
    whole = any_web_study.bearer("stat").get("/api/v1/escalation").json()
    assert {p["subject_id"] for p in whole["patients"]} == {"CT-001", "CT-101"}
    assert whole["other_sites"] == []
    other = [p for p in whole["patients"] if p["subject_id"] == "CT-101"]
    inv = any_web_study.bearer("inv").get("/api/v1/escalation").json()
    assert [p["subject_id"] for p in inv["patients"]] == ["CT-001"]  # no row without a subject id
    own = next(p for p in whole["patients"] if p["subject_id"] == "CT-001")
    assert inv["patients"][0] == own  # the own site's row is whole
    assert inv["cohorts"][0]["patients"] == ["CT-001"]
    assert inv["other_sites"] == [{"cohort": 1, "dose_level": 1, **_counts(other)}]
    assert inv["recommendation"] == whole["recommendation"]  # the study-level recommendation is the same
    leaks = [key for key, value in inv.items() if "CT-101" in str(value)]
    assert leaks == []  # nowhere: not in the cohorts' replay either


def test_the_page_counts_other_sites_patients_per_cohort(any_web_study) -> None:
    _decide(any_web_study)
    page = any_web_study.session("inv").get("/escalation")
    assert page.status_code == 200
    assert "another site" not in page.text
    assert "CT-001" in page.text
    whole = any_web_study.bearer("stat").get("/api/v1/escalation").json()
    other = _counts([p for p in whole["patients"] if p["subject_id"] == "CT-101"])
    counted = f"{other['infused']} infused, {other['evaluable']} DLT-evaluable, {other['dlt']} with a DLT"
    assert f"other sites: {counted}" in page.text
    # a study-wide reader still sees every patient's row
    assert "CT-101" in any_web_study.session("stat").get("/escalation").text
