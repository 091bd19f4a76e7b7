"""`columns.distinct_reused`: a column split again inside the block gives exactly what `distinct` gives
outside it (codes from the texts alone, the texts this column's own cells), whatever the block kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from cartrial import columns
from cartrial.columns import distinct, distinct_reused

TEXTS = st.lists(
    st.sampled_from(["", "a", "A", "a\x00b", "a\x00c", "b", "1", "1.0", "ab", "a "]),
    min_size=columns.DISTINCT_REUSED_FROM,
    max_size=3 * columns.DISTINCT_REUSED_FROM,
)


def _column(texts: list[str]) -> np.ndarray:
    out = np.empty(len(texts), dtype=object)
    out[:] = texts
    return out


def _same(found: tuple[np.ndarray, np.ndarray], expected: tuple[np.ndarray, np.ndarray]) -> None:
    assert found[0].tolist() == expected[0].tolist()
    assert found[1].tolist() == expected[1].tolist()
    assert all(type(a) is type(b) for a, b in zip(found[1].tolist(), expected[1].tolist(), strict=True))


@settings(max_examples=60, deadline=None)
@given(first=TEXTS, second=TEXTS)
def test_a_split_in_the_block_is_the_split_outside(first: list[str], second: list[str]) -> None:
    cells, other = _column(first), _column(second)
    expected, expected_other = distinct(cells.copy()), distinct(other.copy())
    with distinct_reused():
        _same(distinct(cells), expected)
        _same(distinct(other), expected_other)
        _same(distinct(cells.copy()), expected)  # equal texts, another array: reused
        _same(distinct(other), expected_other)


def test_texts_are_the_column_own_cells_and_a_changed_column_is_split_again() -> None:
    base = ["x", "y", "x", "z"] * columns.DISTINCT_REUSED_FROM
    cells = _column(base)
    with distinct_reused():
        distinct(cells)
        again = _column([str(t + "!")[:-1] for t in base])  # equal texts, other objects
        codes, texts = distinct(again)
        assert codes.tolist() == [0, 1, 0, 2] * columns.DISTINCT_REUSED_FROM
        assert all(t is again[i] for t, i in zip(texts.tolist(), (0, 1, 3), strict=True))
        codes[:] = 7  # the caller's codes are its own: the block's are not changed
        cells[1] = "x"  # the kept column changed in place after its split: not taken for the old one
        expected = pd.factorize(cells.copy(), sort=False)
        found = distinct(cells)
        assert found[0].tolist() == expected[0].tolist()
        assert found[1].tolist() == list(expected[1])
        assert distinct(again)[0].tolist() == [0, 1, 0, 2] * columns.DISTINCT_REUSED_FROM


def test_not_texts_are_split_cell_by_cell_in_the_block() -> None:
    cells = np.array([1, 1.0, True, None, "1"] * columns.DISTINCT_REUSED_FROM, dtype=object)
    with distinct_reused():
        codes, texts = distinct(cells)
        codes, texts = distinct(cells)
    assert codes.tolist() == list(range(len(cells)))
    assert texts.tolist() == cells.tolist()
