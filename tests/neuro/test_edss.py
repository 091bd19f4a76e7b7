"""EDSS: conversions, the FS-combination table, the ambulation table, the calculator options and the Kurtzke
variant. Expected values are taken from neuro-outcomes.md §1 (tables 1.3, 1.6, 1.8 and §1.9/§1.10) or
computed by hand from those rules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import ConfigurationError, InputError
from cartrial.neuro.edss_scale import (
    FS_MAX,
    FS_NAMES,
    PRESETS,
    RULES,
    Assistance,
    EdssMethod,
    EdssOptions,
    FunctionalSystems,
    KurtzkeGapOptions,
    convert_fs,
    edss,
    edss_array,
    edss_kurtzke,
    rule_codes,
)

from .conftest import fs


def test_worked_illustration_section_1_9() -> None:
    """neuro-outcomes §1.9: raw (3,1,2,2,1,4,1), ambulation 0 -> converted (2,1,2,2,1,3,0)
    -> row 14 -> 4.0."""
    result = edss(fs(3, 1, 2, 2, 1, 4, 1), 0)
    assert result.converted_fs == {
        "visual": 2,
        "brainstem": 1,
        "pyramidal": 2,
        "cerebellar": 2,
        "sensory": 1,
        "bowel_bladder": 3,
        "cerebral": 0,
    }
    assert result.edss == 4.0
    assert result.rule == "fs3_one_with_3plus_grade2"
    assert result.method is EdssMethod.NEUROSTATUS_16
    assert result.options["cerebral_grade1_as_zero"] is True


@pytest.mark.parametrize(("raw", "converted"), [(0, 0), (1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (6, 4)])
def test_visual_conversion_table_1_3(raw: int, converted: int) -> None:
    """neuro-outcomes §1.3 visual conversion table (Neurostatus)."""
    assert convert_fs(fs(visual=raw))["visual"] == converted


@pytest.mark.parametrize(("raw", "converted"), [(0, 0), (1, 1), (2, 2), (3, 3), (4, 3), (5, 4), (6, 5)])
def test_bowel_bladder_conversion_table_1_3(raw: int, converted: int) -> None:
    """neuro-outcomes §1.3 bowel/bladder conversion table (Neurostatus)."""
    assert convert_fs(fs(bowel_bladder=raw))["bowel_bladder"] == converted


@pytest.mark.parametrize(
    ("score", "expected"),
    [(3, 5.0), (4, 5.5), (5, 6.0), (6, 6.0), (7, 6.0), (8, 6.5), (9, 6.5), (10, 7.0), (11, 7.5), (12, 8.0),
     (13, 8.5), (14, 9.0), (15, 9.5), (16, 10.0)],
)  # fmt: skip
def test_ambulation_table_1_6(score: int, expected: float) -> None:
    """neuro-outcomes §1.6: Neurostatus ambulation score >= 3 fixes the EDSS, whatever the FS."""
    assert edss(fs(), score).edss == expected
    assert edss(fs(6, 5, 6, 5, 6, 6, 5), score).edss == expected


@pytest.mark.parametrize(
    ("grades", "ambulation", "expected", "rule"),
    [
        # (pyramidal, cerebellar, brainstem, sensory, cerebral) as converted grades; visual and bb 0
        ((0, 0, 0, 0, 0), 0, 0.0, "normal"),  # row 25
        ((1, 0, 0, 0, 0), 0, 1.0, "fs1_one"),  # row 24
        ((1, 1, 0, 0, 0), 0, 1.5, "fs1_two_or_more"),  # row 23
        ((0, 0, 0, 0, 0), 1, 2.0, "ambulation1"),  # row 22
        ((2, 1, 1, 0, 0), 0, 2.0, "fs2_one"),  # row 21
        ((2, 2, 1, 0, 0), 0, 2.5, "fs2_two"),  # row 20
        ((2, 2, 2, 0, 0), 0, 3.0, "fs2_three_or_four"),  # row 19
        ((2, 2, 2, 2, 0), 0, 3.0, "fs2_three_or_four"),  # row 19
        ((2, 2, 2, 2, 2), 0, 3.5, "fs2_five"),  # row 18
        ((3, 1, 1, 0, 0), 0, 3.0, "fs3_one"),  # row 16
        ((3, 2, 0, 0, 0), 0, 3.5, "fs3_one_with_1_2_grade2"),  # row 15
        ((3, 2, 2, 0, 0), 0, 3.5, "fs3_one_with_1_2_grade2"),  # row 15
        ((3, 2, 2, 2, 0), 0, 4.0, "fs3_one_with_3plus_grade2"),  # row 14
        ((3, 3, 1, 0, 0), 0, 3.5, "fs3_two"),  # row 13
        ((3, 3, 2, 0, 0), 0, 4.0, "fs3_two_with_grade2"),  # row 12
        ((3, 3, 3, 0, 0), 0, 4.0, "fs3_three_or_four"),  # row 11
        ((3, 3, 3, 3, 0), 0, 4.0, "fs3_three_or_four"),  # row 11
        ((3, 3, 3, 3, 3), 0, 4.5, "fs3_five"),  # row 10
        ((1, 0, 0, 0, 0), 2, 4.5, "ambulation2"),  # row 9
        ((4, 1, 1, 0, 0), 0, 4.0, "fs4_alone"),  # row 7
        ((4, 1, 1, 0, 0), 1, 4.0, "fs4_alone"),  # row 7, ambulation <= 1
        ((4, 1, 1, 0, 0), 2, 4.5, "ambulation2"),  # row 9 catches row-7 patterns with ambulation 2
        ((4, 2, 0, 0, 0), 0, 4.5, "fs4_with_grade2"),  # row 6 (default b)
        ((4, 3, 0, 0, 0), 0, 4.5, "fs4_with_1_2_grade3"),  # row 5
        ((4, 3, 3, 0, 0), 0, 4.5, "fs4_with_1_2_grade3"),  # row 5
        ((4, 3, 3, 3, 0), 0, 5.0, "fs4_with_3plus_grade3"),  # row 4 (default c)
        ((4, 4, 0, 0, 0), 0, 5.0, "fs4_two_or_more"),  # row 3
        ((5, 0, 0, 0, 0), 0, 5.0, "max_fs_ge5"),  # row 2
        ((4, 4, 0, 0, 0), 2, 5.0, "fs4_two_or_more"),  # 5.0 patterns stay 5.0 with ambulation 2
    ],
)
def test_fs_combination_rows_1_8(
    grades: tuple[int, ...], ambulation: int, expected: float, rule: str
) -> None:
    """neuro-outcomes §1.8: each row of the ordered FS-combination table (first match wins)."""
    pyramidal, cerebellar, brainstem, sensory, cerebral = grades
    result = edss(
        fs(
            pyramidal=pyramidal,
            cerebellar=cerebellar,
            brainstem=brainstem,
            sensory=sensory,
            cerebral=cerebral,
        ),
        ambulation,
    )
    assert (result.edss, result.rule) == (expected, rule)


def test_six_fs_grade3_gives_5_row_8() -> None:
    """§1.8 row 8: six FS grade 3 -> 5.0 (visual raw 3 -> 2, so use visual raw 4 -> 3 and bb raw 3 -> 3)."""
    assert edss(fs(4, 3, 3, 3, 3, 3, 0), 0).edss == 5.0
    assert edss(fs(4, 3, 3, 3, 3, 3, 0), 0).rule == "fs3_six_or_more"


def test_six_fs_grade2_gives_4_row_17() -> None:
    """§1.8 row 17: six FS grade 2 -> 4.0."""
    assert edss(fs(2, 2, 2, 2, 2, 2, 0), 0).edss == 4.0


def test_fs4_with_five_grade3_is_5_d_prime() -> None:
    """§1.10 (d'): one FS 4 with five FS 3 is 5.0 under every preset (never missing)."""
    for preset in PRESETS:
        assert edss(fs(4, 3, 3, 3, 3, 3, 4), 0, EdssOptions.from_preset(preset)).edss == 5.0


# --- options (§1.10), each setting tested ---------------------------------------------------------------


def test_option_a_cerebral_grade1() -> None:
    """§1.10 (a): cerebral grade 1 counts as 0 (Neurostatus, default) or as 1 (npm edss)."""
    assert edss(fs(cerebral=1), 0).edss == 0.0
    assert edss(fs(cerebral=1), 0, EdssOptions(cerebral_grade1_as_zero=False)).edss == 1.0
    assert edss(fs(pyramidal=1, cerebral=1), 0, EdssOptions(cerebral_grade1_as_zero=False)).edss == 1.5


def test_option_b_fs4_with_grade2() -> None:
    """§1.10 (b): one FS 4 with FS 2 partners (no FS 3): 4.5 (default) or 4.0 (EDSScalculator)."""
    pattern = fs(pyramidal=4, sensory=2)
    assert edss(pattern, 0).edss == 4.5
    assert edss(pattern, 0, EdssOptions(fs4_with_grade2_step=4.0)).edss == 4.0
    # ambulation 2 still means at least 4.5 (§1.8 row 9)
    assert edss(pattern, 2, EdssOptions(fs4_with_grade2_step=4.0)).edss == 4.5


def test_option_c_fs4_with_3plus_grade3() -> None:
    """§1.10 (c): one FS 4 with three FS 3: 5.0 (default) or 4.5 (EDSScalculator)."""
    pattern = fs(pyramidal=4, sensory=3, cerebellar=3, brainstem=3)
    assert edss(pattern, 0).edss == 5.0
    assert edss(pattern, 0, EdssOptions(fs4_with_3plus_grade3_step=4.5)).edss == 4.5


def test_option_d_ambulation1_catchall_first() -> None:
    """§1.10 (d): two FS 4 with ambulation 1 -> 5.0 (default, FS rules first) or 4.0 (R ordering)."""
    pattern = fs(pyramidal=4, sensory=4)
    assert edss(pattern, 1).edss == 5.0
    result = edss(pattern, 1, EdssOptions(ambulation1_catchall_first=True))
    assert (result.edss, result.rule) == (4.0, "ambulation1_catchall")
    # without ambulation 1 the catch-all does not apply
    assert edss(pattern, 0, EdssOptions(ambulation1_catchall_first=True)).edss == 5.0


def test_option_ambulation2_catchall_first() -> None:
    """EDSScalculator 0.3.0 evaluates 'ambulation 2 and all FS <= 4 -> 4.5' before its 5.0 rules."""
    pattern = fs(pyramidal=4, sensory=4)
    assert edss(pattern, 2).edss == 5.0
    assert edss(pattern, 2, EdssOptions(ambulation2_catchall_first=True)).edss == 4.5


def test_option_e_ambulation1_floor() -> None:
    """§1.10 (e): ambulation 1 with FS all <= 1 -> 2.0 (default floor) or the FS step (None)."""
    assert edss(fs(pyramidal=1), 1).edss == 2.0
    assert edss(fs(pyramidal=1), 1, EdssOptions(ambulation1_floor=None)).edss == 1.0
    assert edss(fs(), 1, EdssOptions(ambulation1_floor=None)).edss == 0.0


def test_presets_match_section_1_10() -> None:
    """§1.10 presets: edss_js (a False, b 4.5, c 5.0, d False, e 2.0); edsscalculator_r (a True, b 4.0,
    c 4.5, d True)."""
    js = EdssOptions.from_preset("edss_js")
    r = EdssOptions.from_preset("edsscalculator_r")
    assert (js.cerebral_grade1_as_zero, js.fs4_with_grade2_step, js.fs4_with_3plus_grade3_step) == (
        False,
        4.5,
        5.0,
    )
    assert (js.ambulation1_catchall_first, js.ambulation1_floor) == (False, 2.0)
    assert (r.cerebral_grade1_as_zero, r.fs4_with_grade2_step, r.fs4_with_3plus_grade3_step) == (
        True,
        4.0,
        4.5,
    )
    assert r.ambulation1_catchall_first is True
    with pytest.raises(ConfigurationError):
        EdssOptions.from_preset("nope")
    with pytest.raises(ConfigurationError):
        EdssOptions(fs4_with_grade2_step=3.0)


def test_r_preset_is_not_monotone_in_ambulation() -> None:
    """Consequence of the R ordering (§1.10 d): walking worse (ambulation 0 -> 1) lowers EDSS 5.0 -> 4.0.
    This is why the default keeps FS rules first."""
    options = EdssOptions.from_preset("edsscalculator_r")
    pattern = fs(pyramidal=4, sensory=4)
    assert edss(pattern, 0, options).edss == 5.0
    assert edss(pattern, 1, options).edss == 4.0


def test_out_of_range_inputs_are_rejected() -> None:
    """§1.1 ranges: visual 0-6, brainstem 0-5, ..., ambulation 0-16."""
    with pytest.raises(InputError):
        fs(brainstem=6)
    with pytest.raises(InputError):
        fs(visual=-1)
    with pytest.raises(InputError):
        edss(fs(), 17)
    with pytest.raises(InputError):
        edss_array(np.array([[7, 0, 0, 0, 0, 0, 0]]), np.array([0]))
    with pytest.raises(InputError):
        edss_array(np.zeros((1, 7)), np.array([17]))


# --- vectorised == scalar; invariants (hypothesis) -------------------------------------------------------

fs_vectors = st.tuples(*(st.integers(0, FS_MAX[name]) for name in FS_NAMES))
small_fs_vectors = st.tuples(*(st.integers(0, min(FS_MAX[name], 4)) for name in FS_NAMES))
any_fs = st.one_of(fs_vectors, small_fs_vectors)
options_strategy = st.builds(
    EdssOptions,
    cerebral_grade1_as_zero=st.booleans(),
    fs4_with_grade2_step=st.sampled_from([4.0, 4.5]),
    fs4_with_3plus_grade3_step=st.sampled_from([4.5, 5.0]),
    ambulation1_catchall_first=st.booleans(),
    ambulation2_catchall_first=st.booleans(),
    ambulation1_floor=st.sampled_from([2.0, None]),
)


@settings(max_examples=property_examples(60), deadline=None)
@given(st.lists(st.tuples(any_fs, st.integers(0, 16)), min_size=1, max_size=40), options_strategy)
def test_vectorised_agrees_with_scalar(rows: list[tuple[tuple[int, ...], int]], options: EdssOptions) -> None:
    """`edss_array` and `edss` implement the same §1.8 table: same EDSS and rule for every row and option."""
    raw = np.array([r[0] for r in rows])
    amb = np.array([r[1] for r in rows])
    values, rules = edss_array(raw, amb, options)
    codes = rule_codes(rules)
    for i, (vector, score) in enumerate(rows):
        scalar = edss(FunctionalSystems(*vector), score, options)
        assert values[i] == scalar.edss
        assert codes[i] == scalar.rule


monotone_options = st.sampled_from([EdssOptions(), EdssOptions.from_preset("edss_js")])


@settings(max_examples=property_examples(300), deadline=None)
@given(any_fs, st.integers(0, 16), st.sampled_from(FS_NAMES), monotone_options)
def test_raising_an_fs_never_lowers_edss(
    vector: tuple[int, ...], ambulation: int, name: str, options: EdssOptions
) -> None:
    """Kurtzke 1983: a worse FS never means a lower disability step (default and npm-edss options)."""
    index = FS_NAMES.index(name)
    if vector[index] == FS_MAX[name]:
        return
    higher = list(vector)
    higher[index] += 1
    assert (
        edss(FunctionalSystems(*higher), ambulation, options).edss
        >= edss(FunctionalSystems(*vector), ambulation, options).edss
    )


@settings(max_examples=property_examples(300), deadline=None)
@given(any_fs, st.integers(0, 15), monotone_options)
def test_raising_ambulation_never_lowers_edss(
    vector: tuple[int, ...], ambulation: int, options: EdssOptions
) -> None:
    """Neurostatus §1.6: a worse ambulation score never means a lower EDSS."""
    before = edss(FunctionalSystems(*vector), ambulation, options).edss
    assert edss(FunctionalSystems(*vector), ambulation + 1, options).edss >= before


@settings(max_examples=property_examples(200), deadline=None)
@given(any_fs, st.integers(3, 16), options_strategy)
def test_ambulation_3_or_more_fixes_edss_at_least_5(
    vector: tuple[int, ...], ambulation: int, options: EdssOptions
) -> None:
    """§1.6/§1.8 row 1: ambulation score >= 3 alone fixes EDSS >= 5.0 (from the table), under every option."""
    result = edss(FunctionalSystems(*vector), ambulation, options)
    assert result.edss >= 5.0
    assert result.rule == "ambulation_ge3"


@settings(max_examples=property_examples(100), deadline=None)
@given(any_fs, st.integers(0, 16), options_strategy)
def test_edss_is_on_the_scale(vector: tuple[int, ...], ambulation: int, options: EdssOptions) -> None:
    """Kurtzke 1983: EDSS in {0, 1.0, 1.5, ..., 10}; never missing for a valid input (§1.10 d')."""
    value = edss(FunctionalSystems(*vector), ambulation, options).edss
    assert value == 0.0 or (1.0 <= value <= 10.0 and value * 2 == int(value * 2))


def test_every_rule_has_a_description() -> None:
    assert all(rule.description for rule in RULES)


# --- Kurtzke variant (§1.7) -----------------------------------------------------------------------------


def test_kurtzke_150m_two_crutches_is_6_5_but_neurostatus_6_0() -> None:
    """§1.7: 150 m with two crutches is 6.0 in Neurostatus (ambulation 7: bilateral >= 120 m) and 6.5 in
    a literal Kurtzke reading (constant bilateral assistance)."""
    assert edss(fs(pyramidal=3), 7).edss == 6.0
    result = edss_kurtzke(fs(pyramidal=3), 150, Assistance.BILATERAL)
    assert result.edss == 6.5
    assert result.method is EdssMethod.KURTZKE
    assert result.details["walking_rule"] == "kurtzke_gap_bilateral_over_20m"
    assert (
        edss_kurtzke(
            fs(pyramidal=3), 150, "bilateral", gaps=KurtzkeGapOptions(bilateral_over_20m_step=6.0)
        ).edss
        == 6.0
    )


@pytest.mark.parametrize(
    ("distance", "aid", "expected"),
    [
        (600, "none", 0.0),  # unrestricted: FS decide (all 0)
        (350, "none", 4.5),  # ~300 m
        (250, "none", 5.0),  # ~200 m
        (120, "none", 5.5),  # ~100 m
        (50, "none", 6.0),  # gap rule default
        (100, "unilateral", 6.0),  # Kurtzke 6.0
        (60, "unilateral", 6.5),  # gap rule default
        (10, "bilateral", 6.5),  # ~20 m with bilateral aid
        (3, "unilateral", 7.0),  # < 5 m even with aid
        (None, "wheelchair_self", 7.0),
        (None, "wheelchair_with_help", 7.5),
        (None, "bed_chair", 8.0),
        (None, "bed", 8.5),
        (None, "helpless_communicates", 9.0),
        (None, "helpless", 9.5),
        (None, "death", 10.0),
    ],
)
def test_kurtzke_walking_steps(distance: float | None, aid: str, expected: float) -> None:
    """Kurtzke 1983 walking steps (neuro-outcomes §1.5, §1.7) with the documented gap defaults."""
    assert edss_kurtzke(fs(), distance, aid).edss == expected


def test_kurtzke_gap_options() -> None:
    """§1.7 gap rules are options: no aid < 100 m -> 6.0 (default) or 5.5; unilateral < 100 m ->
    6.5 or 6.0."""
    assert edss_kurtzke(fs(), 50, "none", gaps=KurtzkeGapOptions(no_aid_under_100m_step=5.5)).edss == 5.5
    assert (
        edss_kurtzke(fs(), 60, "unilateral", gaps=KurtzkeGapOptions(unilateral_under_100m_step=6.0)).edss
        == 6.0
    )
    with pytest.raises(InputError):
        edss_kurtzke(fs(), None, "none")
    with pytest.raises(InputError):
        edss_kurtzke(fs(), 100, "skateboard")


@pytest.mark.parametrize("preset", ["neurostatus_default", "edss_js"])
def test_monotone_over_every_fs_combination(preset: str) -> None:
    """Exhaustive form of the monotonicity property (Kurtzke 1983: worse findings never lower the step):
    every raw FS combination with ambulation 0-2 (the FS-driven range); raising any one FS by one grade,
    or the ambulation score by one, never lowers the EDSS."""
    import itertools

    grid = np.array(list(itertools.product(*(range(FS_MAX[name] + 1) for name in FS_NAMES))), dtype=np.int8)
    options = EdssOptions.from_preset(preset)
    for ambulation in (0, 1, 2):
        amb = np.full(len(grid), ambulation, dtype=np.int8)
        base, _ = edss_array(grid, amb, options)
        higher_walk, _ = edss_array(grid, amb + 1, options)
        assert (higher_walk >= base).all()
        for j, name in enumerate(FS_NAMES):
            room = grid[:, j] < FS_MAX[name]
            raised = grid[room].copy()
            raised[:, j] += 1
            values, _ = edss_array(raised, amb[room], options)
            assert (values >= base[room]).all(), name
