"""The same question raised again on a record while it is still open (D-19.1258): a form sent twice (the
browser's Back button, a reload that re-posts) made two identical open queries, two codes the site must
answer for one question. The store refuses the second with the open query's code, at the question's field;
another field, another question, or the same question once the first is answered or closed is raised."""

from __future__ import annotations

import pytest

from cartrial.errors import InputError

QUESTION = "consent date?"


def _subject(study) -> int:
    return int(next(r for r in study.service.find_records("admin", "subject") if r["site_id"] == "TJH")["id"])


def _codes(study, record: int) -> list[str]:
    rows = study.service.find_records("admin", "data_query")
    return [r["query_code"] for r in rows if r["table_name"] == "subject" and r["record_id"] == record]


def test_the_same_open_question_on_the_same_field_is_refused_naming_the_open_query(study) -> None:
    monitor = study.service.as_user("mon")
    record = _subject(study)
    first = monitor.raise_query("subject", record, QUESTION, "consent_date")
    with pytest.raises(InputError) as refused:
        monitor.raise_query("subject", record, QUESTION, "consent_date")
    problem = refused.value.problems[0]
    assert problem.field == "text" and first in problem.message and "already open" in problem.message
    assert _codes(study, record) == [first]


def test_a_whole_record_question_asked_twice_is_refused(study) -> None:
    monitor = study.service.as_user("mon")
    record = _subject(study)
    first = monitor.raise_query("subject", record, QUESTION)
    with pytest.raises(InputError):
        study.service.as_user("dm").raise_query("subject", record, QUESTION)
    assert _codes(study, record) == [first]


def test_another_field_or_question_or_an_answered_one_is_raised(study) -> None:
    monitor = study.service.as_user("mon")
    record = _subject(study)
    first = monitor.raise_query("subject", record, QUESTION, "consent_date")
    other_field = monitor.raise_query("subject", record, QUESTION, "sex")
    whole_record = monitor.raise_query("subject", record, QUESTION)
    other_text = monitor.raise_query("subject", record, "please attach the consent form", "consent_date")
    study.service.as_user("dm").answer_query(first, "2021-04-01 per the signed form")
    again = monitor.raise_query("subject", record, QUESTION, "consent_date")
    assert len({first, other_field, whole_record, other_text, again}) == 5
    assert _codes(study, record) == [first, other_field, whole_record, other_text, again]
