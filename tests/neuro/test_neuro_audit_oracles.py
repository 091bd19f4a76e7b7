"""Independent oracles for the neuro engine, written from docs/science/neuro-outcomes.md alone.

- §1.3/§1.4/§1.6/§1.8/§1.10: every raw FS combination (518,616) with ambulation scores 0-4 against a
  literal `np.select` of the §1.8 rows (first match wins), for the three presets and without the
  ambulation-1 floor; ambulation scores 3-16 against the §1.6 table.
- §1.2: the visual FS implied by acuity at the band edges printed in the Kurtzke text.
- §5: the worsening/improvement thresholds at the edges of their reference-EDSS bands, and the
  84-day confirmation window.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cartrial.neuro.disability import DisabilityOptions, confirmed_disability_change
from cartrial.neuro.edss_scale import EdssOptions, edss_array
from cartrial.neuro.visual_acuity import parse_acuity, visual_fs_from_acuity

_VISUAL = np.array([0, 1, 2, 2, 3, 3, 4])  # §1.3
_BOWEL_BLADDER = np.array([0, 1, 2, 3, 3, 4, 5])  # §1.3
_AMBULATION = {3: 5.0, 4: 5.5, 5: 6.0, 6: 6.0, 7: 6.0, 8: 6.5, 9: 6.5, 10: 7.0, 11: 7.5, 12: 8.0,
               13: 8.5, 14: 9.0, 15: 9.5, 16: 10.0}  # §1.6  # fmt: skip


@pytest.fixture(scope="module")
def all_raw_fs() -> np.ndarray:
    ranges = (7, 6, 7, 6, 7, 7, 6)  # raw maxima + 1 (§1.1), in FS_NAMES order
    return np.array(list(itertools.product(*(range(r) for r in ranges))), dtype=np.int8)


def _table_1_8(raw: np.ndarray, amb: int, preset: dict, floor: float | None) -> np.ndarray:
    grades = raw.astype(int).copy()
    grades[:, 0] = _VISUAL[grades[:, 0]]
    grades[:, 5] = _BOWEL_BLADDER[grades[:, 5]]
    if preset["cerebral_grade1_as_zero"]:
        grades[:, 6] = np.where(grades[:, 6] == 1, 0, grades[:, 6])
    m = grades.max(axis=1)
    c1, c2, c3, c4 = ((grades == g).sum(axis=1) for g in (1, 2, 3, 4))
    b, c = preset["fs4_with_grade2_step"], preset["fs4_with_3plus_grade3_step"]
    gives_five = (m == 4) & ((c4 >= 2) | (c3 >= 5) | ((c3 >= 3) & (c == 5.0))) | ((m == 3) & (c3 >= 6))
    rows = [  # (condition, EDSS), §1.8 in order; (d) and its ambulation-2 twin first when chosen
        (m >= 5, 5.0),
        (gives_five & (amb == 1) & preset["ambulation1_catchall_first"], 4.0),
        (gives_five & (amb == 2) & preset["ambulation2_catchall_first"], 4.5),
        ((m == 4) & (c4 >= 2), 5.0),  # row 3
        ((m == 4) & (c3 >= 5), 5.0),  # (d')
        ((m == 4) & (c3 >= 3), c),  # row 4
        ((m == 4) & (c3 >= 1), 4.5),  # row 5
        ((m == 4) & (c2 >= 1) & (amb <= 1), b),  # row 6 (with ambulation 2: row 9 note, >= 4.5)
        ((m == 4) & (amb <= 1), 4.0),  # row 7
        ((m == 3) & (c3 >= 6), 5.0),  # row 8
        (np.full(m.shape, amb == 2), 4.5),  # row 9
        ((m == 3) & (c3 == 5), 4.5),
        ((m == 3) & (c3 >= 3), 4.0),
        ((m == 3) & (c3 == 2) & (c2 >= 1), 4.0),
        ((m == 3) & (c3 == 2), 3.5),
        ((m == 3) & (c2 >= 3), 4.0),
        ((m == 3) & (c2 >= 1), 3.5),
        (m == 3, 3.0),
        ((m == 2) & (c2 >= 6), 4.0),
        ((m == 2) & (c2 == 5), 3.5),
        ((m == 2) & (c2 >= 3), 3.0),
        ((m == 2) & (c2 == 2), 2.5),
        (m == 2, 2.0),
        (np.full(m.shape, amb == 1 and floor is not None), floor or 0.0),  # row 22 (e)
        ((m == 1) & (c1 >= 2), 1.5),
        (m == 1, 1.0),
    ]
    return np.select([r[0] for r in rows], [r[1] for r in rows], default=0.0)


@pytest.mark.parametrize("preset", ["neurostatus_default", "edss_js", "edsscalculator_r"])
@pytest.mark.parametrize("floor", [2.0, None])
def test_edss_equals_the_1_8_table_for_every_fs_combination(
    all_raw_fs: np.ndarray, preset: str, floor: float | None
) -> None:
    from cartrial.neuro.edss_scale import PRESETS

    options = EdssOptions.from_preset(preset, ambulation1_floor=floor)
    settings = {**EdssOptions().as_dict(), **PRESETS[preset]}
    for amb in range(3):
        values, _ = edss_array(all_raw_fs, np.full(len(all_raw_fs), amb), options)
        expected = _table_1_8(all_raw_fs, amb, settings, floor)
        assert np.array_equal(values, expected), f"ambulation {amb}"
    for amb, step in _AMBULATION.items():
        values, _ = edss_array(all_raw_fs[::97], np.full(len(all_raw_fs[::97]), amb), options)
        assert np.all(values == step), f"ambulation {amb}"


@pytest.mark.parametrize(
    ("worse", "better", "grade"),
    [
        ("20/20", "20/20", 0),
        ("20/25", "20/20", 1),  # < 1.0, better than 0.67
        ("20/30", "20/20", 2),  # "0.67 to 0.34 (20/30 to 20/59)"
        ("20/59", "20/20", 2),
        ("decimal 0.34", "20/20", 2),
        ("20/60", "20/20", 3),  # "0.33 to 0.21 (20/60 to 20/99)"
        ("20/99", "20/20", 3),
        ("decimal 0.21", "20/20", 3),
        ("20/100", "20/20", 4),  # "0.2 to 0.1 (20/100 to 20/200)"
        ("20/200", "20/20", 4),
        ("20/250", "20/20", 5),  # "< 0.1 (worse than 20/200)"
        ("CF", "20/20", 5),
        ("20/60", "20/60", 4),  # grade 3 plus better eye <= 0.33
        ("20/200", "20/60", 5),  # grade 4 plus better eye <= 0.33
        ("CF", "20/60", 6),  # grade 5 plus better eye <= 0.33
        ("CF", "decimal 0.34", 5),
    ],
)
def test_visual_fs_from_acuity_at_the_printed_band_edges(worse: str, better: str, grade: int) -> None:
    assert visual_fs_from_acuity(parse_acuity(worse), parse_acuity(better)) == grade


def _confirmed(visits: list[tuple[int, float]], direction: str = "worsening", **options: object) -> bool:
    result = confirmed_disability_change(visits, direction, DisabilityOptions(**options))  # type: ignore[arg-type]
    return result.confirmed is not None


@pytest.mark.parametrize(
    ("baseline", "follow_up", "thresholds", "confirmed"),
    [
        (0.0, 1.5, "nmosd_trial", False),
        (0.0, 2.0, "nmosd_trial", True),
        (0.0, 1.5, "ms_cdw", True),
        (1.0, 2.0, "nmosd_trial", True),
        (5.0, 5.5, "nmosd_trial", False),
        (5.0, 6.0, "nmosd_trial", True),
        (5.5, 6.0, "nmosd_trial", True),
        (5.5, 6.0, "ms_cdw", False),
        (5.5, 6.5, "ms_cdw", True),
        (6.0, 6.5, "ms_cdw", True),
    ],
)
def test_worsening_thresholds_at_band_edges(
    baseline: float, follow_up: float, thresholds: str, confirmed: bool
) -> None:
    visits = [(0, baseline), (30, follow_up), (120, follow_up)]
    assert _confirmed(visits, thresholds=thresholds, relapse_exclusion_days=0) is confirmed


@pytest.mark.parametrize(
    ("baseline", "follow_up", "definition", "confirmed"),
    [
        (5.5, 5.0, "cdi_common", False),
        (5.5, 4.5, "cdi_common", True),
        (6.0, 5.5, "cdi_common", True),
        (2.0, 1.0, "affirm", True),
        (6.0, 5.5, "affirm", False),
    ],
)
def test_improvement_thresholds_at_band_edges(
    baseline: float, follow_up: float, definition: str, confirmed: bool
) -> None:
    visits = [(0, baseline), (30, follow_up), (120, follow_up)]
    assert _confirmed(visits, "improvement", improvement=definition) is confirmed


def test_confirmation_is_the_first_visit_at_least_84_days_after_onset() -> None:
    assert not _confirmed([(0, 3.0), (30, 4.0), (113, 4.0)])
    assert _confirmed([(0, 3.0), (30, 4.0), (114, 4.0)])
    # the first visit >= 84 days later decides: lost there, not rescued by a later visit
    assert not _confirmed([(0, 3.0), (30, 4.0), (120, 3.5), (130, 4.0)])
    # the increase must hold at every intermediate visit
    assert not _confirmed([(0, 3.0), (30, 4.0), (60, 3.5), (120, 4.0)])
