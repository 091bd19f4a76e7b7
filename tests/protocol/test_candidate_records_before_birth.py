"""A screening candidate's dated records are on or after the date of birth (D-19.1204).

The store refuses a relapse onset before the subject's birth (hard edit check RELAPSE-BEFORE-BIRTH) and so
does the relapse engine (`cartrial.neuro.tables.parse_relapse_table`: "relapse dated before birth"), but
the screening candidate accepted one — and a diagnosis, treatment, AQP4-IgG test, EDSS or laboratory result
before birth — and screened with it (a mistyped year counted or not counted in the relapse windows,
silently). Each is now refused at its line, naming the field.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial import examples as cartrial_examples
from cartrial.errors import InputError
from cartrial.protocol import parse_candidate

TEXT = (cartrial_examples.path("ct103a-nmosd") / "candidates" / "cand-01-eligible.yaml").read_text(
    encoding="utf-8"
)
BORN = "date_of_birth: 1975-06-10"


def _line(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), start=1) if fragment in line)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("{onset_date: 2022-09-20", "{onset_date: 1960-09-20", "relapses[0].onset_date"),
        ("date: 2018-11-02}", "date: 1970-11-02}", "diagnosis.date"),
        ("start_date: 2019-01-10", "start_date: 1974-01-10", "treatments[0].start_date"),
        ("edss: {score: 4.5, date: 2024-03-12}", "edss: {score: 4.5, date: 1975-06-09}", "edss.date"),
        ("date: 2018-10-25,", "date: 1975-01-01,", "aqp4_igg[0].date"),
    ],
)
def test_a_record_before_the_date_of_birth_is_refused_at_its_line(old: str, new: str, field: str) -> None:
    assert old in TEXT
    text = TEXT.replace(old, new)
    with pytest.raises(InputError) as caught:
        parse_candidate(text, "cand.yaml")
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.field) == ("cand.yaml", _line(text, new), field)
    assert "before date_of_birth" in problem.message
    assert problem.allowed == "on or after date_of_birth"


def test_a_record_on_the_birthday_is_kept() -> None:
    text = TEXT.replace("{onset_date: 2022-09-20", "{onset_date: 1975-06-10")
    assert parse_candidate(text).relapses[0].onset_date == dt.date(1975, 6, 10)  # type: ignore[index]


@settings(max_examples=property_examples(30), deadline=None)
@given(st.integers(min_value=-20000, max_value=17000))
def test_a_relapse_is_refused_exactly_when_it_precedes_birth(offset: int) -> None:
    born = dt.date(1975, 6, 10)
    onset = born + dt.timedelta(days=offset)
    text = TEXT.replace("{onset_date: 2022-09-20", f"{{onset_date: {onset.isoformat()}")
    if onset < born:
        with pytest.raises(InputError):
            parse_candidate(text)
    elif onset.year >= 1900:
        assert parse_candidate(text).relapses is not None


def test_a_date_of_birth_after_screening_is_the_one_error() -> None:
    """A date of birth that is itself refused (after the screening date) is reported alone, not with every
    record before it (tests/protocol/test_protocol_input_robustness.py keeps its exact list)."""
    text = TEXT.replace(BORN, "date_of_birth: 2030-06-10")
    with pytest.raises(InputError) as caught:
        parse_candidate(text)
    assert [p.field for p in caught.value.problems] == ["date_of_birth"]


AGED = "age_years: 45"


def _aged(text: str) -> str:
    # the example candidate (screening 2024-03-15) with an age instead of a date of birth
    assert BORN in text
    return text.replace(BORN, AGED)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("{onset_date: 2022-09-20", "{onset_date: 1960-09-20", "relapses[0].onset_date"),
        # 45 on 2024-03-15: born 1978-03-16 at the earliest, so 1978-03-15 is before any possible birth
        ("date: 2018-11-02}", "date: 1978-03-15}", "diagnosis.date"),
    ],
)
def test_a_record_before_the_earliest_birth_an_age_allows_is_refused(old: str, new: str, field: str) -> None:
    text = _aged(TEXT).replace(old, new)
    with pytest.raises(InputError) as caught:
        parse_candidate(text, "cand.yaml")
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.field) == ("cand.yaml", _line(text, new), field)
    assert "before the earliest date of birth age_years allows" in problem.message


def test_a_record_on_the_earliest_birth_an_age_allows_is_kept() -> None:
    text = _aged(TEXT).replace("date: 2018-11-02}", "date: 1978-03-16}")
    assert parse_candidate(text).diagnosis.date == dt.date(1978, 3, 16)  # type: ignore[union-attr]
