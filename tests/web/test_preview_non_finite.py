"""The engine preview concludes nothing from a value the save refuses. A non-finite number in a JSON body
(``NaN``, ``Infinity``, ``-Infinity``, ``1e400``; Python's JSON reader takes them) is refused as given, as
the field rules refuse it on validate and save (D-19.1040): the preview read a NaN as a field left blank
("a temperature is required (got '')" for a temperature that was sent, and a grade computed without an
optional field the save then refuses). A field the form does not have is refused as validate refuses it
(D-19.1043)."""

from __future__ import annotations

import json
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


def _body(field: str, literal: str) -> str:
    """The CRS values with `field` set to the JSON literal as written (json.dumps would not write 1e400)."""
    return json.dumps({"values": {**CRS, field: "@"}}).replace('"@"', literal)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
@pytest.mark.parametrize("field", ["temperature_c", "vasopressors", "systolic_bp_mmhg"])
def test_a_non_finite_number_is_refused_as_given_by_preview_validate_and_save(
    web_study: Any, literal: str, field: str
) -> None:
    dm = web_study.bearer("dm")
    headers = {"Content-Type": "application/json"}
    body = _body(field, literal)
    preview = dm.post("/api/v1/forms/crs_assessments/preview", content=body, headers=headers)
    assert preview.status_code == 200
    answer = preview.json()["preview"]
    assert answer["result"] is None, answer  # no grade from a value the save refuses
    messages = [p["message"] for p in answer["problems"]]
    assert any(m.startswith(f"{field}:") and "number" in m for m in messages), messages
    assert not any("(got '')" in m for m in messages), messages  # the value was given, not left blank
    validate = dm.post("/api/v1/forms/crs_assessments/validate", content=body, headers=headers).json()
    assert not validate["ok"] and [p["field"] for p in validate["problems"]] == [field]
    saved = dm.post("/api/v1/records/crs_assessments", content=body, headers=headers)
    assert saved.status_code == 422 and saved.json()["field"] == f"crs_assessment.{field}"


def test_the_finite_values_still_grade(web_study: Any) -> None:
    dm = web_study.bearer("dm")
    body = _body("systolic_bp_mmhg", "120")
    answer = dm.post(
        "/api/v1/forms/crs_assessments/preview", content=body, headers={"Content-Type": "application/json"}
    ).json()["preview"]
    assert answer["problems"] == [] and answer["result"]["grade"] == 1


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
