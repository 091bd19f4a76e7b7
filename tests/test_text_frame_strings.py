"""`cartrial.columns.text_frame` returns a frame of strings as it is (the fast path the analysis takes on
every table read as text) and converts anything else cell by cell (`text_cells`): the one-pass check of
the fast path (perfanalyse2) must not take a frame for strings when a column is not of object dtype or a
cell is not a str."""

from __future__ import annotations

import pandas as pd

from cartrial.columns import text_frame


def test_a_frame_of_strings_is_returned_as_it_is() -> None:
    frame = pd.DataFrame({"subject_id": ["S1", "S2"], "value": ["1.5", ""]})
    assert text_frame(frame) is frame


def test_a_frame_without_rows_or_columns_is_returned_as_it_is() -> None:
    no_rows = pd.DataFrame({"subject_id": pd.Series([], dtype=object)})
    no_columns = pd.DataFrame(index=[0, 1])
    assert text_frame(no_rows) is no_rows
    assert text_frame(no_columns) is no_columns


def test_a_blank_or_number_cell_in_any_column_is_written_as_text() -> None:
    frame = pd.DataFrame({"subject_id": ["S1", "S2"], "value": ["1.5", None], "n": ["3", "4"]})
    frame["count"] = [1, 2]
    out = text_frame(frame)
    assert out is not frame
    assert out["value"].tolist() == ["1.5", ""]
    assert out["count"].tolist() == ["1", "2"]
    assert out["subject_id"].tolist() == ["S1", "S2"]


def test_string_cells_of_a_non_object_column_are_not_taken_for_the_fast_path() -> None:
    frame = pd.DataFrame({"a": pd.Series(["x", None], dtype="string"), "b": ["1", "2"]})
    out = text_frame(frame)
    assert out is not frame
    assert out["a"].tolist() == ["x", ""]
    assert out["a"].dtype == object
