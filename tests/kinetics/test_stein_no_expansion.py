"""Stein 2019 exact AUC when FOLDX = 1 (no expansion, rho = 0) and FOLDX just above 1 (D-19.757).

Expected values are hand computations from the closed form (Stein AM et al. CPT:PSP 2019;8:285, supplement;
docs/science/cellular-kinetics.md §5.1): with FOLDX = 1, rho = ln(1)/Tmax = 0 and C(t) = R0 = Cmax before
Tmax, so AUC(0, Tmax) = Cmax·Tmax; after Tmax the two exponentials integrate to
(1 - F_B)·Cmax/alpha·(1 - e^(-alpha·(b - Tmax))) + F_B·Cmax/beta·(1 - e^(-beta·(b - Tmax))).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.kinetics.models import Stein2019Parameters, stein2019_auc, typical_auc

TM, CM, A, FB, B = 9.3, 24000.0, 0.16, 0.0079, 0.0032


def _hand_decay_area(end: float) -> float:
    """The area from Tmax to `end` of the two exponentials (both start at Cmax)."""
    u = end - TM
    return (1 - FB) * CM / A * (1 - math.exp(-A * u)) + FB * CM / B * (1 - math.exp(-B * u))


def _hand_auc_no_expansion(end: float) -> float:
    return CM * TM + _hand_decay_area(end)


def _hand_auc_typical(end: float, foldx: float) -> float:
    """FOLDX > 1: the expansion area is R0·(e^(rho·Tmax) - 1)/rho with R0 = Cmax/f, e^(rho·Tmax) = f and
    rho = ln f/Tmax, i.e. Cmax·Tmax·(f - 1)/(f·ln f)."""
    return CM * TM * (foldx - 1) / (foldx * math.log(foldx)) + _hand_decay_area(end)


def test_foldx_one_gives_the_flat_expansion_area_not_nan() -> None:
    expected = _hand_auc_no_expansion(28.0)
    got = stein2019_auc(0.0, 28.0, np.array([1.0, 3900.0]), TM, CM, A, FB, B)
    assert math.isclose(float(got[0]), expected, rel_tol=1e-12)
    # the typical subject (FOLDX 3900), §5.2's 1.72e5
    assert math.isclose(float(got[1]), _hand_auc_typical(28.0, 3900.0), rel_tol=1e-12)
    assert math.isclose(typical_auc(0.0, 28.0, Stein2019Parameters(foldx=1.0)), expected, rel_tol=1e-12)


def test_foldx_one_inside_the_expansion_phase() -> None:
    # [2, 5] lies before Tmax: C = Cmax throughout, area = 3·Cmax
    assert math.isclose(float(stein2019_auc(2.0, 5.0, 1.0, TM, CM, A, FB, B)), 3 * CM, rel_tol=1e-12)
    assert math.isclose(typical_auc(2.0, 5.0, Stein2019Parameters(foldx=1.0)), 3 * CM, rel_tol=1e-12)


def _hand_expansion_area(foldx: float, a: float, b: float) -> float:
    """R0·e^(rho·a)·(e^(rho·w) - 1)/rho over [a, b] before Tmax (w = b - a, R0 = Cmax/f, rho = ln f/Tmax),
    with (e^x - 1)/x by its series 1 + x/2 + x²/6 (x = rho·w ≤ 1e-6 here: the next term, x³/24, is far
    below 1e-12 relative): no difference of two exponentials near 1."""
    rho = math.log1p(foldx - 1.0) / TM
    x = rho * (b - a)
    return CM / foldx * math.exp(rho * a) * (b - a) * (1 + x / 2 + x * x / 6)


@settings(max_examples=property_examples(50), deadline=None)
@example(1e-15)
@given(st.floats(min_value=1e-15, max_value=1e-6))
def test_foldx_just_above_one_keeps_windows_after_day_0(excess: float) -> None:
    """The windows of the review (the old test covered [0, 28] only, which main met): at FOLDX = 1 + 1e-15
    the old difference quotient R0·(e^(rho·b) - e^(rho·a))/rho was 24 % off over [2, 5] and 100 % over
    [9.0, 9.3] (both exponentials round to the same double)."""
    foldx = 1.0 + excess
    for a, b in ((2.0, 5.0), (9.0, 9.3), (5.0, 9.3)):
        expected = _hand_expansion_area(foldx, a, b)
        got = float(stein2019_auc(a, b, foldx, TM, CM, A, FB, B))
        assert math.isclose(got, expected, rel_tol=1e-12), (a, b)
        assert math.isclose(typical_auc(a, b, Stein2019Parameters(foldx=foldx)), expected, rel_tol=1e-12)


@settings(max_examples=property_examples(100), deadline=None)
@example(1.0, 2.0, 9.3, 28.0)
@given(
    st.one_of(st.just(1.0), st.floats(min_value=1.0, max_value=1e4)),
    st.floats(min_value=0.0, max_value=40.0),
    st.floats(min_value=0.0, max_value=40.0),
    st.floats(min_value=0.0, max_value=40.0),
)
def test_the_area_is_additive_across_tmax(foldx: float, t1: float, t2: float, t3: float) -> None:
    """AUC(a, c) = AUC(a, b) + AUC(b, c) for a ≤ b ≤ c, whichever side of Tmax b lies (an integral is
    additive over adjacent intervals); failed before at FOLDX = 1 (NaN)."""
    a, b, c = sorted((t1, t2, t3))
    whole = float(stein2019_auc(a, c, foldx, TM, CM, A, FB, B))
    parts = float(stein2019_auc(a, b, foldx, TM, CM, A, FB, B)) + float(
        stein2019_auc(b, c, foldx, TM, CM, A, FB, B)
    )
    assert math.isclose(whole, parts, rel_tol=1e-9, abs_tol=1e-9 * CM)


@settings(max_examples=property_examples(50), deadline=None)
@given(st.floats(min_value=1e-15, max_value=1e-6))
def test_foldx_just_above_one_is_continuous(excess: float) -> None:
    """ln(1 + x)/Tmax is a tiny rho: the expansion area (e^(rho·b) - e^(rho·a))/rho must stay close to its
    limit Cmax·Tmax (R0 = Cmax/(1 + x)), not lose its digits to cancellation."""
    foldx = 1.0 + excess
    # R0·(e^(rho·Tmax) - 1)/rho with R0 = Cmax/f, e^(rho·Tmax) = f, rho = ln f/Tmax:
    # Cmax·Tmax·(f - 1)/(f·ln f),
    # where f - 1 is exact and ln f of a float near 1 is correctly rounded
    expansion = CM * TM * (foldx - 1.0) / (foldx * math.log1p(foldx - 1.0))
    expected = _hand_auc_no_expansion(28.0) - CM * TM + expansion
    got = float(stein2019_auc(0.0, 28.0, foldx, TM, CM, A, FB, B))
    assert math.isclose(got, expected, rel_tol=1e-12)
    assert math.isclose(typical_auc(0.0, 28.0, Stein2019Parameters(foldx=foldx)), expected, rel_tol=1e-12)


def test_a_contracting_start_keeps_its_area() -> None:
    """`stein2019_auc` takes arrays of any values (the trial simulator's draws): FOLDX = 0.5 gives rho =
    -ln 2/Tmax < 0 and, by hand, R0·(e^(rho·Tmax) - 1)/rho = 2·Cmax·(-1/2)·Tmax/(-ln 2)
    = Cmax·Tmax/ln 2 before
    Tmax; the rho = 0 limit (R0 times the width) applies at rho = 0 only."""
    expected = _hand_auc_no_expansion(28.0) - CM * TM + CM * TM / math.log(2)
    assert math.isclose(float(stein2019_auc(0.0, 28.0, 0.5, TM, CM, A, FB, B)), expected, rel_tol=1e-12)


def test_the_pd_models_car_area_at_foldx_one_is_cmax_times_the_day() -> None:
    """`cumulative_car_auc` turned a NaN step into 0, so before D-19.757 ∫CAR of a FOLDX = 1 subject was
    silently 0 up to Tmax. By hand: C = Cmax = 24000 flat until Tmax = 9, so ∫₀⁹ CAR = 24000·9 = 216000."""
    from cartrial.kinetics.popfit.pdmodel import cumulative_car_auc, time_grid

    grid = time_grid(28.0)
    kinetic = np.array([[1.0, 9.0, 24000.0, A, FB, B]])
    area = cumulative_car_auc(kinetic, grid)
    (day9,) = np.flatnonzero(grid == 9.0)
    assert math.isclose(float(area[0, day9]), 24000.0 * 9, rel_tol=1e-12)


def test_stein2019_auc_refuses_a_reversed_interval_as_typical_auc_does() -> None:
    """An area over [5, 2] is not the negative of the area over [2, 5]: the interval is refused, naming the
    arguments and what is allowed, as `typical_auc` refuses it (was -3·Cmax with FOLDX = 1)."""
    import pytest

    from cartrial.errors import InputError

    with pytest.raises(InputError) as caught:
        stein2019_auc(5.0, 2.0, 1.0, TM, CM, A, FB, B)
    text = str(caught.value)
    assert "end_days" in text and "start_days" in text and "ends before it starts" in text


def test_stein2019_auc_refuses_a_non_finite_or_negative_bound() -> None:
    import pytest

    from cartrial.errors import InputError

    for start, end in ((float("nan"), 28.0), (0.0, float("nan")), (-1.0, 28.0), (0.0, float("inf"))):
        with pytest.raises(InputError):
            stein2019_auc(start, end, 1.0, TM, CM, A, FB, B)
