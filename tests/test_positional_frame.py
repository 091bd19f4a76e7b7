"""`cartrial.columns.positional`: a frame indexed by position, without copying the cells of a frame that
already is (D-19.916): the reader, the import's validation and an engine's form validator each take one."""

import pandas as pd

from cartrial.columns import positional


def test_a_frame_with_another_index_is_indexed_by_position() -> None:
    frame = pd.DataFrame({"subject_id": ["S1", "S2"], "value": ["1", "2"]}, index=[5, 7])
    out = positional(frame)
    assert list(out.index) == [0, 1]
    assert out.to_dict("list") == {"subject_id": ["S1", "S2"], "value": ["1", "2"]}
    assert list(frame.index) == [5, 7]  # the caller's frame unchanged


def test_a_positional_frame_is_given_as_its_own_frame() -> None:
    frame = pd.DataFrame({"subject_id": ["S1", "S2"], "value": ["1", "2"]})
    out = positional(frame)
    assert out is not frame
    assert out.to_dict("list") == frame.to_dict("list")
    out["value"] = ["9", "9"]  # a column replaced, one added: the caller's frame keeps its own
    out["extra"] = ["x", "y"]
    assert frame.to_dict("list") == {"subject_id": ["S1", "S2"], "value": ["1", "2"]}


def test_a_range_index_not_starting_at_zero_is_reset() -> None:
    frame = pd.DataFrame({"a": ["x", "y", "z"]}).iloc[1:]
    out = positional(frame)
    assert list(out.index) == [0, 1]
    assert out["a"].tolist() == ["y", "z"]
