"""A query answer the store refuses (empty, or longer than 2000 characters) comes back on the queries page
with the problem next to that query's answer box and the typed answer kept (D-19.253). Before, the answer
was a bare "Error 422" page with a link to the study home, and the answer typed — possibly long — was lost."""

from __future__ import annotations

import html
import re
from typing import Any

from .helpers import csrf_of


def _raise(web_app: Any) -> str:
    service = web_app.state.service.as_user("mon")
    (record,) = service.find_records("crs_assessment", subject_id="CT-001")[:1]
    return str(
        service.raise_query("crs_assessment", int(record["id"]), "Please confirm the temperature.", None)
    )


def _box(page: str, code: str) -> str:
    found = re.search(rf'<textarea id="ans-{code}"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, "no answer box"
    return html.unescape(found.group(1))


def test_a_too_long_answer_is_shown_again_with_the_problem(login: Any, web_app: Any) -> None:
    code = _raise(web_app)
    client = login("inv_a")
    token = csrf_of(client.get("/queries").text)
    long = "Checked against the nursing chart & the ICU flow sheet. " * 40  # 2240 characters
    answer = client.post(f"/queries/{code}/answer", data={"answer": long, "csrf_token": token})
    assert answer.status_code == 422, answer.text[:300]
    assert _box(answer.text, code) == long
    problem = re.search(rf'id="err-ans-{code}"[^>]*>(.*?)</', answer.text, re.S)
    assert problem and "2000" in problem.group(1)
    assert "Error 422" not in answer.text
    status = web_app.state.service.as_user("admin").find_records("data_query", query_code=code)[0]["status"]
    assert status == "open"


def test_an_empty_answer_is_refused_at_its_box(login: Any, web_app: Any) -> None:
    code = _raise(web_app)
    client = login("inv_a")
    token = csrf_of(client.get("/queries").text)
    answer = client.post(f"/queries/{code}/answer", data={"answer": "  ", "csrf_token": token})
    assert answer.status_code == 422
    assert re.search(rf'id="err-ans-{code}"[^>]*>[^<]*empty', answer.text)
    saved = client.post(f"/queries/{code}/answer", data={"answer": "38.4 °C confirmed", "csrf_token": token})
    assert saved.status_code == 303
