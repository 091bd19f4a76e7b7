"""The same question raised again on a record while it is still open (D-19.1258): a form sent twice (the
browser's Back button, a reload that re-posts) made two identical open queries, two codes the site must
answer for one question. The store refuses the second with the open query's code, at the question's field;
another field, another question, or the same question once the first is answered or closed is raised."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial.errors import InputError
from cartrial.store.queries import same_question

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


@pytest.mark.parametrize(
    "again",
    ["Confirm temp ", "confirm temp", "Confirm  temp", "Confirm temp\r\n", "Confirm\xa0temp", "CONFIRM TEMP"],
)
def test_the_same_question_in_other_spacing_or_case_is_refused(study, again: str) -> None:
    """Review of D-19.1258: the comparison was byte-exact, so a trailing space, a capital, a doubled space, a
    line ending or a no-break space made a second open query for one question. The same words, ignoring
    case and runs of white space (NFKC: the no-break space is a space), are the same question."""
    monitor = study.service.as_user("mon")
    record = _subject(study)
    first = monitor.raise_query("subject", record, "Confirm temp", "consent_date")
    with pytest.raises(InputError) as refused:
        monitor.raise_query("subject", record, again, "consent_date")
    assert first in refused.value.problems[0].message
    assert _codes(study, record) == [first]


_WORDS = st.lists(
    st.text(alphabet="abcdefghijKLMNOPQ0123456789?-", min_size=1, max_size=8), min_size=1, max_size=5
)
_SPACE = st.text(alphabet=" \t\r\n\xa0\u2003", min_size=1, max_size=3)


@given(words=_WORDS, gaps=st.lists(_SPACE, min_size=6, max_size=6), data=st.data())
def test_a_question_is_the_same_whatever_its_spacing_and_case(
    words: list[str], gaps: list[str], data
) -> None:
    """Property: joining the same words with any white space (and any around them), in any case, is the same
    question; another word is another question."""
    plain = " ".join(words)
    spaced = gaps[0][: data.draw(st.integers(0, 3))] + "".join(
        w + gaps[(i % 5) + 1] for i, w in enumerate(words)
    )
    recased = "".join(c.upper() if data.draw(st.booleans()) else c.lower() for c in spaced)
    assert same_question(plain, recased)
    assert not same_question(plain, plain + " extra")
