"""The store's EDSS form checks each row by its own `method` (D-19.741), the rules the analysis scores it by
(D-19.739): a Neurostatus row (method blank or neurostatus_16) needs the ambulation score 0-16; a Kurtzke
row needs the walking aid (`assistance`) and, unless wheelchair-bound or worse, the walking distance
(Kurtzke JF, Neurology 1983;33:1444, EDSS 4.0-7.0 by distance and aid, 7.0-10 by mobility;
docs/science/neuro-outcomes.md §1.6, §1.7; the engine's `kurtzke_walking_step`).

Before: the form required `ambulation` on every row and never looked at distance or aid, so a Kurtzke row
with ambulation 0 and no distance or aid was stored and then stopped the analysis, and a genuine Kurtzke row
(100 m, no aid, no ambulation) was refused.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from cartrial.neuro.edss_scale import FS_NAMES
from cartrial.store.fields import validate_record
from cartrial.store.importing.forms import form_for_table
from cartrial.store.importing.validation import FormData, validate_form

WHEN = dt.datetime(2021, 6, 1, 9, tzinfo=dt.UTC)


def _record(**walking: Any) -> dict[str, Any]:
    return {"subject_id": "CT-001", "assessed_at": WHEN, **dict.fromkeys(FS_NAMES, 0), **walking}


def _form_problems(**walking: str) -> list[tuple[str | None, str]]:
    row = {"subject_id": "CT-001", "assessed_at": "2021-06-01T09:00:00Z", **dict.fromkeys(FS_NAMES, "0")}
    row.update(walking)
    data = FormData(
        spec=form_for_table("edss_assessment"),
        frame=pd.DataFrame([row], dtype=object),
        file="edss.csv",
        sha256="",
    )
    _, found = validate_form(data, protocol=None, check_keys=False)
    return [(p.field, p.message) for p in found]


def test_a_kurtzke_row_without_aid_is_refused_on_the_aid() -> None:
    walking = {"ambulation": "0", "method": "kurtzke", "walking_distance_m": "", "assistance": ""}
    assert _form_problems(**walking) == [("assistance", "value is required")]
    found = validate_record("edss_assessment", _record(ambulation=0, method="kurtzke"), protocol=None)
    assert [(p.field, p.message) for p in found] == [("assistance", "value is required")]


def test_a_kurtzke_row_with_distance_and_aid_needs_no_ambulation() -> None:
    walking = {"method": "kurtzke", "walking_distance_m": "100", "assistance": "none"}
    assert _form_problems(**walking) == []
    record = _record(method="Kurtzke", walking_distance_m=100.0, assistance="none")  # any case
    assert validate_record("edss_assessment", record, protocol=None) == []


@pytest.mark.parametrize("aid", ["none", "unilateral", "bilateral"])
def test_a_walking_kurtzke_row_needs_its_distance(aid: str) -> None:
    found = validate_record("edss_assessment", _record(method="kurtzke", assistance=aid), protocol=None)
    assert [p.field for p in found] == ["walking_distance_m"]


@pytest.mark.parametrize("aid", ["wheelchair_self", "bed", "death"])
def test_a_kurtzke_row_wheelchair_bound_or_worse_needs_no_distance(aid: str) -> None:
    assert validate_record("edss_assessment", _record(method="kurtzke", assistance=aid), protocol=None) == []


@pytest.mark.parametrize("method", [None, "neurostatus_16"])
def test_a_neurostatus_row_still_needs_its_ambulation(method: str | None) -> None:
    found = validate_record("edss_assessment", _record(method=method), protocol=None)
    assert [(p.field, p.message) for p in found] == [("ambulation", "value is required")]
    assert validate_record("edss_assessment", _record(method=method, ambulation=3), protocol=None) == []


def test_the_live_check_names_the_missing_walking_field() -> None:
    """A form being filled in (`partial=True`): the record rules EDSS-* name the field that the method
    needs once the fields they read are given."""

    def live(**values: Any) -> list[str | None]:
        return [p.field for p in validate_record("edss_assessment", values, protocol=None, partial=True)]

    assert live(method="kurtzke", assistance=None) == ["assistance"]
    assert live(method="kurtzke", assistance="unilateral", walking_distance_m=None) == ["walking_distance_m"]
    assert live(method="kurtzke", assistance="bed", walking_distance_m=None) == []
    assert live(method="KURTZKE", ambulation=None) == []
    assert live(method="neurostatus_16", ambulation=None) == ["ambulation"]
    assert live(method=None, ambulation=None) == ["ambulation"]


def test_a_missing_ambulation_column_is_one_file_problem_naming_the_rows() -> None:
    """D-19.746: a file without the ``ambulation`` column gets one file-level problem naming the rows that
    need it (data rows start at file row 2; a Kurtzke row does not need it), not one problem per row."""
    base = {
        "subject_id": "CT-001",
        **dict.fromkeys(FS_NAMES, "0"),
        "assistance": "",
        "walking_distance_m": "",
    }
    rows = [dict(base, assessed_at=f"2021-0{m}-01T09:00:00Z", method="") for m in (1, 2, 3, 5)]
    rows.insert(3, dict(base, assessed_at="2021-04-01T09:00:00Z", method="kurtzke", assistance="none",
                        walking_distance_m="600"))  # fmt: skip
    data = FormData(
        spec=form_for_table("edss_assessment"),
        frame=pd.DataFrame(rows, dtype=object),
        file="edss.csv",
        sha256="",
    )
    _, found = validate_form(data, protocol=None, check_keys=False)
    assert [(p.row, p.field, p.file) for p in found] == [(None, "ambulation", "edss.csv")]
    assert "rows 2–4, 6" in found[0].message and "missing" in found[0].message
