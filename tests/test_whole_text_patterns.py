"""Validating patterns match the whole text: `$` also matches before a final newline (Python `re`), so
``"AE\\n"`` passed a dataset-name rule anchored with `$`; the rule is on the whole value, `\\Z` (D-19.886).

Expected by hand: each value below is a valid one with a newline appended, which no rule allows.
"""

from __future__ import annotations

import pandas as pd
import pytest

from cartrial.cdisc.spec import dataset_specs
from cartrial.cdisc.validate import is_duration, is_iso8601, validate_dataset
from cartrial.errors import CartrialError
from cartrial.protocol.death import is_after_death
from cartrial.store.fields import ISO_DATE, ISO_DATETIME, LOCAL_DATETIME
from cartrial.store.importing.redcap_records import INTEGER_PATTERN
from cartrial.store.roles import roles_sql


def test_dataset_and_variable_names_refuse_a_trailing_newline() -> None:
    spec = dataset_specs()["DM"].model_copy(update={"name": "DM\n"})
    frame = pd.DataFrame({"STUDYID\n": ["S1"]})
    rules = {f.rule for f in validate_dataset(frame, spec)}
    assert {"dataset-name", "variable-name"} <= rules


@pytest.mark.parametrize("text", ["2022-03-01\n", "2022-03\n", "2022-03-01T10:00\n"])
def test_iso8601_refuses_a_trailing_newline(text: str) -> None:
    assert is_iso8601(text.rstrip("\n"))
    assert not is_iso8601(text)


def test_duration_refuses_a_trailing_newline() -> None:
    assert is_duration("P1D") and not is_duration("P1D\n")


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        (ISO_DATE, "2022-03-01\n"),
        (ISO_DATETIME, "2022-03-01T10:00Z\n"),
        (LOCAL_DATETIME, "2022-03-01 10:00\n"),
        (INTEGER_PATTERN, "12\n"),
    ],
)
def test_store_patterns_refuse_a_trailing_newline(pattern: object, text: str) -> None:
    """A guard on the bare patterns, not a defect reached through the store: their callers already matched
    the whole text (`validation.py` uses ``str.fullmatch`` on ISO_DATE/ISO_DATETIME/LOCAL_DATETIME's
    ``.pattern``, `local_datetime` matches after `trim_blanks`, and the REDCap reader strips every cell
    before INTEGER_PATTERN), so no store date or import code passed with a trailing newline. The patterns
    are shared, so they are anchored at the end of the text themselves for the next caller (D-19.886)."""
    import re

    assert isinstance(pattern, re.Pattern)
    assert pattern.match(text.rstrip("\n"))
    assert not pattern.match(text)


def test_a_role_name_with_a_trailing_newline_is_refused() -> None:
    """A PostgreSQL identifier written into SQL: "app\\n" is not a plain identifier."""
    roles_sql(database="trial")
    with pytest.raises(CartrialError):
        roles_sql(database="trial\n")


def test_a_death_date_with_a_trailing_newline_is_no_date() -> None:
    assert is_after_death("2022-04", "2022-03-01")
    assert not is_after_death("2022-04\n", "2022-03-01")
