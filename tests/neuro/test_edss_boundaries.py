"""Review: boundary cases of the EDSS rules. Every expected value is read from neuro-outcomes.md (tables §1.3,
§1.6, §1.8, the options of §1.10 and the Kurtzke gap rules of §1.7), never from the code's output."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import numpy.typing as npt
import pytest

from cartrial.neuro.edss_scale import (
    FS_MAX,
    FS_NAMES,
    EdssOptions,
    FunctionalSystems,
    edss,
    edss_array,
    edss_kurtzke,
)
from cartrial.neuro.edss_scale import KurtzkeGapOptions as Gaps

from .conftest import fs


@pytest.mark.parametrize(
    ("raw", "ambulation", "expected"),
    [
        # §1.3 conversions feeding §1.8: raw visual 6 -> 4 (row 7: 4.0), 5 -> 3 (row 16: 3.0), 3 -> 2 (row 21)
        (fs(visual=6), 0, 4.0),
        (fs(visual=5), 0, 3.0),
        (fs(visual=4), 0, 3.0),
        (fs(visual=3), 0, 2.0),
        # raw bowel/bladder 6 -> 5 (row 2: 5.0), 5 -> 4 (row 7: 4.0), 4 -> 3 (row 16: 3.0)
        (fs(bowel_bladder=6), 0, 5.0),
        (fs(bowel_bladder=5), 0, 4.0),
        (fs(bowel_bladder=4), 0, 3.0),
        # row 2: any FS >= 5 gives 5.0 (pyramidal 6, cerebral 5), also with ambulation 1 and 2
        (fs(pyramidal=6), 0, 5.0),
        (fs(cerebral=5), 1, 5.0),
        (fs(sensory=5), 2, 5.0),
        # row 17 upper boundary: all seven FS grade 2 -> 4.0
        (fs(2, 2, 2, 2, 2, 2, 2), 0, 4.0),
        # row 8 upper boundary: all seven FS grade 3 (visual raw 4 -> 3, bb raw 3 -> 3) -> 5.0
        (fs(4, 3, 3, 3, 3, 3, 3), 0, 5.0),
        # row 8 before row 9: six FS 3 with ambulation 2 stays 5.0
        (fs(4, 3, 3, 3, 3, 3, 0), 2, 5.0),
        # row 4 upper boundary (c3 = 4 with one FS 4) -> 5.0 under default c
        (fs(4, 4, 3, 3, 3, 0, 0), 0, 5.0),
        # row 4 with ambulation 2: a 5.0 pattern stays 5.0 (note under §1.8)
        (fs(0, 4, 3, 3, 3, 0, 0), 2, 5.0),
        # row 10 with ambulation 1 and 2: 4.5
        (fs(0, 3, 3, 3, 3, 3, 0), 1, 4.5),
        (fs(0, 3, 3, 3, 3, 3, 0), 2, 4.5),
        # row 9 raises every lower pattern to 4.5: rows 16, 15, 13, 11, 14, 21, 24 patterns with ambulation 2
        (fs(pyramidal=3), 2, 4.5),
        (fs(pyramidal=3, sensory=2), 2, 4.5),
        (fs(pyramidal=3, sensory=3), 2, 4.5),
        (fs(0, 3, 3, 3, 3, 0, 0), 2, 4.5),
        (fs(0, 2, 3, 2, 2, 0, 0), 2, 4.5),
        (fs(pyramidal=2), 2, 4.5),
        (fs(), 2, 4.5),
        # row 7 requires ambulation <= 1; with ambulation 1 it is 4.0
        (fs(pyramidal=4, sensory=1), 1, 4.0),
        # rows 21/20 keep their values with ambulation 1 (the floor of row 22 applies only for M <= 1)
        (fs(pyramidal=2), 1, 2.0),
        (fs(pyramidal=2, sensory=2), 1, 2.5),
        # row 22: ambulation 1 with two FS grade 1 -> 2.0 (not 1.5)
        (fs(pyramidal=1, sensory=1), 1, 2.0),
        # rows 18/19 boundaries
        (fs(0, 2, 2, 2, 2, 2, 0), 0, 3.5),
        (fs(0, 2, 2, 2, 2, 1, 0), 0, 3.0),
        # row 14 lower boundary (c2 = 3) vs row 15 upper boundary (c2 = 2)
        (fs(0, 3, 2, 2, 2, 0, 0), 0, 4.0),
        (fs(0, 3, 2, 2, 1, 0, 0), 0, 3.5),
    ],
)
def test_fs_combination_boundaries_default(raw: FunctionalSystems, ambulation: int, expected: float) -> None:
    """neuro-outcomes §1.3 conversions, §1.8 rows at their boundaries, default options (§1.10)."""
    assert edss(raw, ambulation).edss == expected


def test_option_c_boundaries_both_settings() -> None:
    """§1.10 (c): one FS 4 with three or more FS 3: 5.0 (default) or 4.5; four FS 3 behaves as three; with
    five FS 3 it is 5.0 in every setting (d')."""
    alt = EdssOptions(fs4_with_3plus_grade3_step=4.5)
    four_grade3 = fs(0, 4, 3, 3, 3, 3, 0)
    assert edss(four_grade3, 0).edss == 5.0
    assert edss(four_grade3, 0, alt).edss == 4.5
    assert edss(four_grade3, 2, alt).edss == 4.5
    # two FS 3 with one FS 4 is row 5 (4.5) in both settings
    assert edss(fs(0, 4, 3, 3, 0, 0, 0), 0).edss == 4.5
    assert edss(fs(0, 4, 3, 3, 0, 0, 0), 0, alt).edss == 4.5
    five_grade3 = fs(4, 4, 3, 3, 3, 3, 0)
    assert edss(five_grade3, 0, alt).edss == 5.0


def test_option_b_with_ambulation_1_both_settings() -> None:
    """§1.10 (b) with ambulation 1: one FS 4 plus FS 2 -> 4.5 (default) or 4.0; with ambulation 2 both 4.5
    (row 9)."""
    pattern = fs(pyramidal=4, sensory=2, cerebellar=2)
    assert edss(pattern, 1).edss == 4.5
    assert edss(pattern, 1, EdssOptions(fs4_with_grade2_step=4.0)).edss == 4.0
    assert edss(pattern, 2, EdssOptions(fs4_with_grade2_step=4.0)).edss == 4.5


def test_option_a_cerebral_grade1_with_other_findings() -> None:
    """§1.4 / §1.10 (a): cerebral grade 1 as 0 (default) or 1: with one other FS 1 -> 1.0 or 1.5; with one
    FS 2 -> 2.0 either way (grade-1 partners do not change row 21)."""
    assert edss(fs(sensory=1, cerebral=1), 0).edss == 1.0
    assert edss(fs(sensory=1, cerebral=1), 0, EdssOptions(cerebral_grade1_as_zero=False)).edss == 1.5
    assert edss(fs(sensory=2, cerebral=1), 0).edss == 2.0
    assert edss(fs(sensory=2, cerebral=1), 0, EdssOptions(cerebral_grade1_as_zero=False)).edss == 2.0
    # cerebral grade 2 is never zeroed
    assert edss(fs(cerebral=2), 0).edss == 2.0


def test_option_d_other_five_point_patterns_both_settings() -> None:
    """§1.10 (d): the R ordering gives 4.0 with ambulation 1 for every pattern the FS rules put at 5.0 with
    all FS <= 4 (two FS 4; six FS 3); FS >= 5 stays 5.0 (row 2 comes first in both)."""
    r_order = EdssOptions(ambulation1_catchall_first=True)
    six_grade3 = fs(4, 3, 3, 3, 3, 3, 0)
    assert edss(six_grade3, 1).edss == 5.0
    assert edss(six_grade3, 1, r_order).edss == 4.0
    assert edss(fs(pyramidal=5), 1, r_order).edss == 5.0


@pytest.mark.parametrize(
    ("distance_m", "aid", "expected"),
    [
        (500, "none", 0.0),  # >= 500 m: FS decide
        (499, "none", 4.5),
        (300, "none", 4.5),  # ~300 m -> 4.5
        (299, "none", 5.0),
        (200, "none", 5.0),  # ~200 m -> 5.0
        (199, "none", 5.5),
        (100, "none", 5.5),  # ~100 m -> 5.5
        (99, "none", 6.0),  # gap rule default: no aid < 100 m -> 6.0
        (99, "unilateral", 6.5),  # gap rule default: unilateral < 100 m -> 6.5
        (5, "unilateral", 6.5),
        (4.9, "bilateral", 7.0),  # cannot walk beyond ~5 m even with aid
        (5, "bilateral", 6.5),
        (20, "bilateral", 6.5),  # Kurtzke 6.5: constant bilateral aid ~20 m
        (21, "bilateral", 6.5),  # gap rule default: bilateral > 20 m -> 6.5
    ],
)
def test_kurtzke_distance_boundaries(distance_m: float, aid: str, expected: float) -> None:
    """neuro-outcomes §1.5/§1.7: Kurtzke 1983 walking steps at their distance boundaries, gap defaults."""
    assert edss_kurtzke(fs(), distance_m, aid).edss == expected


def test_kurtzke_bilateral_gap_rule_is_strictly_over_20m() -> None:
    """§1.7: the gap rule is "bilateral aid > 20 m"; exactly 20 m with bilateral aid is Kurtzke's own step 6.5
    ("constant bilateral assistance to walk about 20 m"), whatever the gap option says."""
    lenient = Gaps(bilateral_over_20m_step=6.0)
    assert edss_kurtzke(fs(), 20, "bilateral", gaps=lenient).edss == 6.5
    assert edss_kurtzke(fs(), 20.5, "bilateral", gaps=lenient).edss == 6.0
    assert edss_kurtzke(fs(), 150, "bilateral", gaps=lenient).edss == 6.0


# --- an independent restatement of the §1.8 table, checked on every raw FS combination ------------------

_VISUAL = (0, 1, 2, 2, 3, 3, 4)  # §1.3
_BOWEL_BLADDER = (0, 1, 2, 3, 3, 4, 5)  # §1.3
_AMBULATION = {3: 5.0, 4: 5.5, 5: 6.0, 6: 6.0, 7: 6.0, 8: 6.5, 9: 6.5, 10: 7.0, 11: 7.5, 12: 8.0, 13: 8.5,
               14: 9.0, 15: 9.5, 16: 10.0}  # fmt: skip  # §1.6


def _section_1_8(grades: tuple[int, ...], amb: int, b: float, c: float, floor: float | None) -> float:
    """neuro-outcomes §1.8, rows 1-25 in order (first match), with the note under the table (ambulation 2
    raises a pattern giving < 4.5 to 4.5) and §1.10 (d'): one FS 4 with five or more FS 3 is 5.0."""
    m = max(grades)
    n = {k: grades.count(k) for k in range(7)}
    if amb >= 3:
        return _AMBULATION[amb]  # row 1
    value: float | None = None
    if m >= 5:
        value = 5.0  # row 2
    elif m == 4 and n[4] >= 2:
        value = 5.0  # row 3
    elif m == 4 and n[3] >= 3:
        value = 5.0 if n[3] >= 5 else c  # row 4, (d')
    elif m == 4 and n[3] in (1, 2):
        value = 4.5  # row 5
    elif m == 4 and n[2] >= 1:
        value = b  # row 6
    elif m == 4 and amb <= 1:
        value = 4.0  # row 7
    elif m == 3 and n[3] >= 6:
        value = 5.0  # row 8
    if value is not None:
        return max(value, 4.5) if amb == 2 else value
    if amb == 2:
        return 4.5  # row 9
    if m == 3:
        if n[3] == 5:
            return 4.5  # row 10
        if n[3] in (3, 4):
            return 4.0  # row 11
        if n[3] == 2:
            return 4.0 if n[2] >= 1 else 3.5  # rows 12, 13
        if n[2] >= 3:
            return 4.0  # row 14
        return 3.5 if n[2] >= 1 else 3.0  # rows 15, 16
    if m == 2:
        return {1: 2.0, 2: 2.5, 3: 3.0, 4: 3.0, 5: 3.5}.get(n[2], 4.0)  # rows 17-21
    if amb == 1 and floor is not None:
        return floor  # row 22
    if m == 1:
        return 1.5 if n[1] >= 2 else 1.0  # rows 23, 24
    return 0.0  # row 25


@functools.lru_cache(maxsize=1)
def _raw_grid() -> npt.NDArray[np.int8]:
    """Every raw FS combination in `FS_NAMES` order (ranges of §1.1)."""
    ranges = (range(FS_MAX[name] + 1) for name in FS_NAMES)
    return np.array(list(itertools.product(*ranges)), dtype=np.int8)


@pytest.mark.parametrize(
    "options",
    [
        EdssOptions(),
        EdssOptions.from_preset("edss_js"),
        EdssOptions(fs4_with_grade2_step=4.0),
        EdssOptions(fs4_with_3plus_grade3_step=4.5),
        EdssOptions(ambulation1_floor=None),
        EdssOptions(cerebral_grade1_as_zero=False, fs4_with_grade2_step=4.0, fs4_with_3plus_grade3_step=4.5),
    ],
    ids=["default", "edss_js", "b_4.0", "c_4.5", "e_none", "a_b_c_alternatives"],
)
def test_every_raw_fs_combination_matches_section_1_8(options: EdssOptions) -> None:
    """Every raw FS combination (7*6*7*6*7*7*6 = 518,616) with ambulation 0, 1, 2 and 3: `edss_array` equals
    the §1.8 table restated here from the reference text, with the §1.3 conversions and §1.4 cerebral rule,
    for the default and each alternative of options a, b, c, e (§1.10)."""
    grid = _raw_grid()
    converted = grid.astype(np.intp)
    converted[:, 0] = np.asarray(_VISUAL)[grid[:, 0]]
    converted[:, 5] = np.asarray(_BOWEL_BLADDER)[grid[:, 5]]
    if options.cerebral_grade1_as_zero:
        converted[:, 6] = np.where(grid[:, 6] == 1, 0, grid[:, 6])
    patterns, inverse = np.unique(np.sort(converted, axis=1), axis=0, return_inverse=True)
    for amb in (0, 1, 2, 3):
        expected_by_pattern = np.array(
            [
                _section_1_8(
                    tuple(int(g) for g in p),
                    amb,
                    options.fs4_with_grade2_step,
                    options.fs4_with_3plus_grade3_step,
                    options.ambulation1_floor,
                )
                for p in patterns
            ]
        )
        values, _ = edss_array(grid, np.full(len(grid), amb, dtype=np.int8), options)
        mismatch = np.flatnonzero(values != expected_by_pattern[inverse.ravel()])
        assert mismatch.size == 0, (amb, grid[mismatch[:5]].tolist(), values[mismatch[:5]].tolist())


@pytest.mark.parametrize(
    ("raw", "ambulation", "r_value", "default_value"),
    [
        (fs(4, 3, 3, 3, 3, 3, 0), 2, 4.5, 5.0),  # six FS 3: R's ambulation-2 catch-all comes first
        (fs(0, 4, 4, 0, 0, 0, 0), 2, 4.5, 5.0),  # two FS 4, ambulation 2
        (fs(4, 4, 3, 3, 3, 3, 0), 1, 4.0, 5.0),  # one FS 4 + five FS 3 (d'), ambulation 1
        (fs(0, 4, 3, 3, 3, 0, 0), 0, 4.5, 5.0),  # option c
        (fs(0, 4, 2, 0, 0, 0, 0), 0, 4.0, 4.5),  # option b
        (fs(0, 4, 3, 0, 0, 0, 0), 1, 4.5, 4.5),  # one FS 4 + one FS 3: 4.5 in both (R's 4.5 rule precedes)
        (fs(0, 0, 5, 0, 0, 0, 0), 1, 5.0, 5.0),  # FS 5: 5.0 in both
        (fs(0, 0, 0, 0, 0, 0, 1), 0, 0.0, 0.0),  # cerebral grade 1 counts as 0 in both
    ],
)
def test_edsscalculator_r_preset_against_default(
    raw: FunctionalSystems, ambulation: int, r_value: float, default_value: float
) -> None:
    """§1.10 presets: `edsscalculator_r` (a True, b 4.0, c 4.5, d True: the R package's rule order, which puts
    its ambulation catch-alls before the 5.0 rules) against the default, on the patterns where §1.10 says
    they differ and on some where they agree."""
    assert edss(raw, ambulation, EdssOptions.from_preset("edsscalculator_r")).edss == r_value
    assert edss(raw, ambulation).edss == default_value
