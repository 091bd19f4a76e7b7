"""The exact conditional rate ratio's distribution of the post-infusion total (`_sum_pmf`): the sum of
independent binomials, one per patient (n = the patient's attacks, p = its conditional probability), has as
probabilities the convolution of each patient's binomial probabilities (Breslow & Day 1987, vol. II §3.3).
`_sum_pmf` computes the binomial probabilities of all patients in one call (perfanalyse2): the result must be,
value for value, the convolution of each patient's own binomial distribution taken in order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from tests.conftest import property_examples

from cartrial.neuro.relapses import _sum_pmf

_STRATA = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=25),
        st.one_of(
            st.floats(
                min_value=0.0, max_value=1.0, allow_nan=False, allow_subnormal=False
            ),  # scipy overflows
            st.sampled_from([0.0, 1.0, 1e-300, 1.0 - 1e-16]),
        ),
    ),
    max_size=12,
)


@settings(max_examples=property_examples(200), deadline=None)
@given(_STRATA)
def test_the_sum_of_binomials_is_the_convolution_of_each_patients_binomial(
    strata: list[tuple[int, float]],
) -> None:
    totals = [n for n, _ in strata]
    probabilities = [p for _, p in strata]
    expected = np.ones(1)
    for n, p in strata:  # the definition: one patient at a time
        expected = np.convolve(expected, stats.binom.pmf(np.arange(n + 1), n, p))
    found = _sum_pmf(totals, probabilities)
    assert found.shape == (sum(totals) + 1,)
    assert found.tobytes() == expected.tobytes()  # the same numbers, bit for bit


def test_no_patient_gives_a_total_of_zero_for_certain() -> None:
    assert _sum_pmf([], []).tolist() == [1.0]


def test_two_patients_of_one_attack_each_at_one_half() -> None:
    # totals 0, 1, 2 with probabilities 1/4, 1/2, 1/4 (two fair coins)
    assert _sum_pmf([1, 1], [0.5, 0.5]).tolist() == pytest.approx([0.25, 0.5, 0.25], abs=1e-15)
