"""Columnar validation gives what cell-by-cell validation gives (decisions D-19.8).

The column parsers (`cartrial.columns`), the store's field parse (`validate_form`) and the engines' frame
parsers parse each distinct text once and map the result back to its rows. Property: parsing a whole
column (or frame) gives, row for row, the values and the located problems of parsing each row alone
(a one-row frame, where nothing is shared), for generated cells: valid and invalid, blank, padded with
whitespace, unicode, repeated.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.columns import (
    RowProblems,
    distinct,
    parse_bool,
    parse_choice,
    parse_datetime,
    parse_float,
    parse_int,
    parse_text,
)
from cartrial.grading.tables import parse_crs_frame, parse_icans_frame, parse_labs_frame
from cartrial.neuro.tables import parse_va_table
from cartrial.store.importing.forms import FORMS_BY_NAME
from cartrial.store.importing.validation import FormData, validate_form

SETTINGS = settings(
    max_examples=property_examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

SPECIAL = [
    "", " ", "  1.5 ", "1.5", "0", "1", "2", "-1", "+2", "1e3", "1E-2", "1e999", "-inf", "inf", "nan", "NaN",
    "1_000", "0x10", "١٢", "½", "1.", ".5", "abc", "true", "TRUE", " yes", "No", "n", "T", "é", "ÄÖ",
    "2021-03-04", "2021-03-04T08:30:00Z", "2021-03-04T08:30:00", "2021-03-04T08:30:00+02:00",
    "2021-03-04 08:30z", "2021-02-30", "20210304", "none", "nasal_cannula", "facemask", "alert",
    "unarousable", "awakens_to_voice", "focal", "OD", "os", "right", "20/20", "6/12", "CF", "HM 1m",
    "0.3", "85", "g/L", "g/dL", "10^9/L", "cells/µL", "neutrophils", "hemoglobin", "1/1024", "x" * 70,
]  # fmt: skip
CELL = st.one_of(st.sampled_from(SPECIAL), st.text(max_size=8))


def columns(min_size: int = 1, max_size: int = 25) -> st.SearchStrategy[list[str]]:
    """Cells drawn from a small pool, so that texts repeat (as in study files)."""
    return st.lists(CELL, min_size=1, max_size=6).flatmap(
        lambda pool: st.lists(st.sampled_from(pool), min_size=min_size, max_size=max_size)
    )


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _located(problems: RowProblems, shift: int = 0) -> list[tuple[Any, ...]]:
    return [(p.row + shift, p.field, p.message, p.value, p.allowed) for p in problems.all() if p.row]


def _cell_by_cell(parse: Any, cells: list[str]) -> tuple[list[Any], list[tuple[Any, ...]]]:
    values: list[Any] = []
    located: list[tuple[Any, ...]] = []
    for i, cell in enumerate(cells):
        problems = RowProblems("f.csv")
        values.extend(list(parse(pd.DataFrame({"c": [cell]}), problems)))
        located += _located(problems, shift=i)
    return values, located


def _check_column(parse: Any, cells: list[str]) -> None:
    problems = RowProblems("f.csv")
    whole = list(parse(pd.DataFrame({"c": cells}), problems))
    values, located = _cell_by_cell(parse, cells)
    assert all(_same(a, b) for a, b in zip(whole, values, strict=True))
    assert _located(problems) == located


@SETTINGS
@given(cells=columns(), required=st.booleans())
def test_parse_float_and_int_column_equal_cell_by_cell(cells: list[str], required: bool) -> None:
    _check_column(lambda f, p: parse_float(f, "c", p, required=required, minimum=0, maximum=100), cells)
    _check_column(lambda f, p: parse_float(f, "c", p, minimum=0, exclusive_minimum=True, unit="g/L"), cells)
    _check_column(lambda f, p: parse_int(f, "c", p, required=required, minimum=-5, maximum=10), cells)


@SETTINGS
@example(cells=["", "\x00"], required=False)
@given(cells=columns(), required=st.booleans())
def test_parse_bool_choice_datetime_text_equal_cell_by_cell(cells: list[str], required: bool) -> None:
    _check_column(lambda f, p: parse_bool(f, "c", p, required=required), cells)
    choices = ["none", "nasal_cannula", "OD", "Alert"]
    _check_column(lambda f, p: parse_choice(f, "c", choices, p, required=required), cells)
    _check_column(lambda f, p: parse_choice(f, "c", choices, p, required=False, default="none"), cells)
    _check_column(lambda f, p: parse_datetime(f, "c", p, required=required), cells)
    _check_column(lambda f, p: parse_text(f, "c", p, required=required), cells)


@SETTINGS
@given(cells=st.lists(st.one_of(CELL, st.none(), st.just(float("nan")), st.integers(0, 2)), max_size=30))
def test_distinct_maps_back_to_every_cell(cells: list[Any]) -> None:
    """Texts are shared; anything else (None, NaN, numbers) keeps its own cell, never merged."""
    array = np.empty(len(cells), dtype=object)
    array[:] = cells
    codes, texts = distinct(array)
    assert [texts[k] is c or texts[k] == c for k, c in zip(codes, cells, strict=True)] == [True] * len(cells)
    if all(isinstance(c, str) for c in cells):
        assert len(texts) == len(set(cells))
    else:
        assert codes.tolist() == list(range(len(cells)))


def test_distinct_tells_apart_texts_that_differ_after_a_nul() -> None:
    """pandas' string hashing stops at a NUL character; `distinct` must not."""
    cells = np.array(["", "\x00", "a", "a\x00b", "a\x00c", "a"], dtype=object)
    codes, texts = distinct(cells)
    assert texts[codes].tolist() == cells.tolist()
    assert len(texts) == 5


FORM_COLUMNS = ["subjects", "labs", "pd_samples", "adverse_events", "crs_assessments", "visual_acuity"]


@SETTINGS
@given(form=st.sampled_from(FORM_COLUMNS), data=st.data())
def test_a_form_read_without_nul_validates_as_any_other(form: str, data: st.DataObject) -> None:
    """`FormData.nul_free` (set by the import's CSV readers, D-19.1091) changes no typed value and no
    problem of a form whose cells hold no NUL, validated as the import validates (`check_keys`: the
    form's record, key and engine rules). At least two rows, so that `distinct` factorises the texts and
    the flag takes effect (one cell is returned as it is, whatever the flag). What keeps the flag true
    (every reader that sets it refuses a NUL at its row) is pinned by tests/store/test_import_streaming.py."""
    spec = FORMS_BY_NAME[form]
    names = [c.name for c in spec.columns() if c.table_column is not None]
    n = data.draw(st.integers(min_value=2, max_value=8))
    frame = pd.DataFrame({name: [c.replace("\x00", "") for c in data.draw(columns(n, n))] for name in names})
    checked, checked_problems = validate_form(FormData(spec, frame, "f.csv", ""))
    told, told_problems = validate_form(FormData(spec, frame, "f.csv", "", nul_free=True))
    assert told_problems == checked_problems
    assert (told is None) == (checked is None)
    if told is not None and checked is not None:
        assert told.columns.keys() == checked.columns.keys()
        for column, values in checked.columns.items():
            assert all(_same(a, b) or a == b for a, b in zip(told.columns[column], values, strict=True)), (
                column
            )


@SETTINGS
@given(form=st.sampled_from(FORM_COLUMNS), data=st.data())
def test_store_field_parse_equals_row_by_row(form: str, data: st.DataObject) -> None:
    """`validate_form` of a whole form reports, row for row, the problems of each row validated alone (each
    row its own subject, so that no rule between rows applies), and the same typed values."""
    spec = FORMS_BY_NAME[form]
    names = [c.name for c in spec.columns() if c.table_column is not None]
    n = data.draw(st.integers(min_value=1, max_value=8))
    frame = pd.DataFrame({name: data.draw(columns(n, n)) for name in names})
    if "subject_id" in frame:
        frame["subject_id"] = [f"S{i}" for i in range(n)]  # rows independent (keys, cross-row rules)
    whole, whole_problems = validate_form(FormData(spec, frame, "f.csv", ""), check_keys=False)
    alone = [
        validate_form(FormData(spec, frame.iloc[[i]].reset_index(drop=True), "f.csv", ""), check_keys=False)
        for i in range(n)
    ]
    expected = [
        dataclasses.replace(p, row=p.row + i if p.row is not None else None)
        for i, (_, problems) in enumerate(alone)
        for p in problems
    ]
    assert sorted(whole_problems, key=_order) == sorted(expected, key=_order)
    if whole is not None:
        for i, (row, _) in enumerate(alone):
            assert row is not None
            for column, values in whole.columns.items():
                assert _same(values[i], row.columns[column][0]) or values[i] == row.columns[column][0]


def _order(problem: Any) -> tuple[Any, ...]:
    return (problem.row or 0, problem.field or "", problem.message, repr(problem.value))


ENGINE_PARSERS = {
    "crs": (parse_crs_frame, FORMS_BY_NAME["crs_assessments"]),
    "icans": (parse_icans_frame, FORMS_BY_NAME["icans_assessments"]),
    "labs": (parse_labs_frame, FORMS_BY_NAME["labs"]),
    "va": (parse_va_table, FORMS_BY_NAME["visual_acuity"]),
}


@SETTINGS
@given(which=st.sampled_from(sorted(ENGINE_PARSERS)), data=st.data())
def test_engine_frame_parsers_equal_row_by_row(which: str, data: st.DataObject) -> None:
    """The grading and neuro frame parsers: the problems of a frame are those of its rows parsed alone, in
    the same order within each row, and each parsed field is the row's own."""
    parse, spec = ENGINE_PARSERS[which]
    names = [c.name for c in spec.columns()]
    n = data.draw(st.integers(min_value=1, max_value=8))
    frame = pd.DataFrame({name: data.draw(columns(n, n)) for name in names})
    frame["subject_id"] = [f"S{i}" for i in range(n)]
    problems = RowProblems("f.csv")
    parsed = parse(frame, problems)
    expected: list[tuple[Any, ...]] = []
    for i in range(n):
        alone = RowProblems("f.csv")
        row = parse(frame.iloc[[i]].reset_index(drop=True), alone)
        expected += _located(alone, shift=i)
        for item in dataclasses.fields(parsed):
            value = getattr(parsed, item.name)
            if isinstance(value, np.ndarray | list):
                assert _same(_plain(value[i]), _plain(getattr(row, item.name)[0])), item.name
    assert _located(problems) == expected


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
