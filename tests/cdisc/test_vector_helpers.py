"""The column-wise helpers of the CDISC builders give what their row-by-row forms gave."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.cdisc.adam import _calendar_dates, _subject_values
from cartrial.cdisc.common import _sort_key

# no NUL: pandas' hash table ends a string at an embedded NUL, so factorize() treats "\x00" as ""; a NUL
# never reaches the export (every CSV reader refuses a file with NUL bytes as binary, issue 19). No lone
# surrogate (category Cs) either: pandas' hash table cannot encode one and factorize() then takes
# "b\ud800" and "1.5\ud800" for one value; no store holds one (SQLite and PostgreSQL keep UTF-8 text, a
# CSV is decoded strictly and the web refuses one in a JSON body, D-19.170)
TEXT = st.one_of(
    st.sampled_from(["", "A", "B", "10", "9", "1:320"]),
    st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=4),
)


@settings(max_examples=property_examples(60), deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=30))
def test_sort_key_orders_text_as_str_does(values: list[str]) -> None:
    frame = pd.DataFrame({"x": values, "i": range(len(values))})
    by_key = frame.sort_values("x", kind="mergesort", key=_sort_key)["i"].tolist()
    distinct = pd.Series(pd.unique(pd.Series(values, dtype=object)), dtype=object)
    numeric = pd.to_numeric(distinct, errors="coerce")
    if numeric.notna().sum() == distinct.replace("", pd.NA).notna().sum():
        expected_key = pd.to_numeric(frame["x"], errors="coerce")
    else:
        expected_key = frame["x"].astype(str)
    expected = frame.assign(k=expected_key).sort_values("k", kind="mergesort")["i"].tolist()
    assert by_key == expected


def test_subject_values_defaults_for_subjects_not_in_adsl() -> None:
    adsl = pd.DataFrame({"USUBJID": ["S-1", "S-2"], "TRT01A": ["A", "B"], "TRT01AN": [1.0, 2.0]})
    keys = pd.Series(["S-2", "S-9", "S-1"])
    assert _subject_values(keys, adsl, "TRT01A", "").tolist() == ["B", "", "A"]
    numbers = _subject_values(keys, adsl, "TRT01AN", math.nan)
    assert numbers[0] == 2.0 and math.isnan(numbers[1]) and numbers[2] == 1.0


def test_calendar_dates_keep_missing_days_empty() -> None:
    day = pd.Series(pd.to_datetime(["2030-01-02", None, "2030-01-02", "2030-02-03"]))
    expected = [d.date() if not pd.isna(d) else None for d in day]
    assert list(_calendar_dates(day)) == expected
    assert _calendar_dates(day).dtype == np.dtype(object)
