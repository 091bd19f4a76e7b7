"""A non-finite number in a JSON body (``NaN``, ``Infinity``, ``-Infinity``, ``1e400``; Python's JSON reader
takes them) is refused by the engine preview as given, as the field rules refuse it on validate and save
(D-19.1040). The preview read a NaN as a field left blank: "a temperature is required (got '')" for a
temperature that was sent, and a grade computed without an optional field the save then refuses."""

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
