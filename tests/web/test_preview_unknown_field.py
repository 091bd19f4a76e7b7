"""The engine preview concludes nothing from a value the save refuses: a field the form does not have is
refused as validate refuses it (D-19.1043). (A non-finite JSON number is refused by the API's JSON reader
before any route, D-19.1046.)"""

from __future__ import annotations

from typing import Any

import pytest

CRS = {
    "subject_id": "CT-002",
    "assessed_at": "2021-05-03T10:00:00Z",
    "temperature_c": 38.5,
    "fever_masked": False,
    "hypotension": False,
    "vasopressors": 0,
    "vasopressin": False,
    "oxygen": "none",
}
"""ASTCT 2019 (Lee 2019, CRS table): fever ≥ 38 °C with no hypotension and no oxygen is grade 1."""


@pytest.mark.parametrize(
    ("form", "values", "misspelt"),
    [
        ("crs_assessments", CRS, "systolic_bp"),
        ("crs_assessments", CRS, "temprature_c"),
        (
            "visual_acuity",
            {"subject_id": "CT-002", "eye": "OD", "notation": "snellen_20", "acuity": "20/40"},
            "acuity_txt",
        ),
    ],
)
def test_an_unknown_field_gives_no_conclusion(web_study: Any, form: str, values: Any, misspelt: str) -> None:
    """A field the form does not have is refused by the preview as by validate and save (D-19.1043): the
    preview left it out and concluded from the rest (a CRS grade without the blood pressure sent)."""
    dm = web_study.bearer("dm")
    body = {"values": {**values, misspelt: "90"}}
    answer = dm.post(f"/api/v1/forms/{form}/preview", json=body).json()["preview"]
    assert answer["result"] is None, answer
    assert [p["field"] for p in answer["problems"]] == [misspelt]
    validate = dm.post(f"/api/v1/forms/{form}/validate", json=body).json()
    assert [p["field"] for p in validate["problems"]] == [misspelt]
    assert [p["message"] for p in validate["problems"]] == [p["message"] for p in answer["problems"]]


def test_the_record_page_still_concludes_from_the_stored_record(web_study: Any) -> None:
    """The record page gives the preview the stored record, whose id, version and time stamps are no
    fields of the form: they are left out, the grade shown (CT-001's CRS assessment: 39.2 °C, no
    hypotension, no oxygen — ASTCT 2019 grade 1)."""
    record = web_study.service.find_records("admin", "crs_assessment", subject_id="CT-001")[0]
    page = web_study.session("dm").get(f"/records/crs_assessment/{record['id']}")
    assert page.status_code == 200
    assert "unknown field" not in page.text
    panel = page.text.split('id="preview"', 1)[1].split("</section>", 1)[0]
    assert "grade 1: fever" in panel, panel
