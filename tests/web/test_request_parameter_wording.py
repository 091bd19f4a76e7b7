"""A request parameter outside what a route declares is told as every bad input is (issue 19 §4; decision
D-19.1426): the parameter, a value-free description ("out of range", "not a whole number", "a value is
required", "unknown field") and what is allowed from the route's declaration (``≥ 1``, ``≤ 1000``, ``a whole
number``) — not pydantic's sentence twice (``allowed: Input should be less than or equal to 1000``), never a
``Field required``, and never a 400-digit value's digits in full (the value is shortened, D-19.349)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("path", "field", "message", "allowed"),
    [
        ("/api/v1/records/infusions/-1", "record_id", "out of range", "≥ 1"),
        ("/api/v1/records/infusions/x", "record_id", "not a whole number", "a whole number"),
        ("/api/v1/records/infusions?limit=100000000", "limit", "out of range", "≤ 1000"),
        ("/api/v1/records/infusions?offset=-5", "offset", "out of range", "≥ 0"),
    ],
)
def test_a_bad_parameter_is_worded_as_every_bad_input(web_study, path, field, message, allowed) -> None:
    answer = web_study.bearer("admin").get(path)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["field"] == field, body
    assert body["error"] == f"{field}: {message}", body
    assert body["allowed"] == allowed, body
    assert "Input should" not in answer.text, body


def test_a_missing_and_an_unknown_body_field_are_named(web_study) -> None:
    answer = web_study.bearer("admin").post("/api/v1/queries", json={"table": "infusion", "record_id": 1})
    assert answer.status_code == 422, answer.text
    messages = {p["field"]: p["message"] for p in answer.json()["problems"]}
    assert messages["form"] == "a value is required", messages
    assert messages["table"] == "unknown field", messages
    assert "Field required" not in answer.text and "Extra inputs" not in answer.text


def test_a_400_digit_value_is_refused_without_its_digits(web_study) -> None:
    digits = "9" * 400
    answer = web_study.bearer("admin").get(f"/api/v1/records/infusions?limit={digits}")
    assert answer.status_code == 422, answer.text[:300]
    body = answer.json()
    assert (body["error"], body["allowed"]) == ("limit: out of range", "≤ 1000"), body
    assert digits not in answer.text
