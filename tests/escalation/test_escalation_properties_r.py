"""Property tests for the decisions §12 rules: the no-skipping cap, 3+3 histories produced by the rule, Monte
Carlo standard errors."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.escalation import (
    Boin,
    Crm,
    DontSkipDoses,
    I3plus3,
    Mtpi2,
    ThreePlusThree,
    simulate,
    with_behaviours,
)

_DESIGNS = [
    Boin(5, 0.3),
    Mtpi2(5, 0.3),
    I3plus3(5, 0.3),
    Crm([0.05, 0.1, 0.2, 0.3, 0.4], 0.3, cohort_size=3),
]

_history = st.lists(
    st.tuples(st.integers(1, 5), st.lists(st.booleans(), min_size=1, max_size=3)), min_size=1, max_size=6
).map(lambda cohorts: " ".join(f"{d}{''.join('T' if t else 'N' for t in c)}" for d, c in cohorts))


@settings(max_examples=property_examples(60), deadline=None)
@given(history=_history, index=st.integers(0, len(_DESIGNS) - 1))
def test_no_skip_never_goes_above_the_current_dose_plus_one(history: str, index: int) -> None:
    fit = with_behaviours(_DESIGNS[index], DontSkipDoses()).fit(history)
    current = int(history.split()[-1].rstrip("NT"))
    assert fit.next_dose is None or fit.next_dose <= current + 1
    assert all(level <= current + 1 for level in fit.admissible)
    mtd = fit.select_mtd().dose_level
    assert mtd is None or mtd <= current + 1


@settings(max_examples=property_examples(60), deadline=None)
@given(
    dlts=st.lists(st.integers(0, 3), min_size=1, max_size=12),
    variant=st.sampled_from(["deescalation", "escalation_only"]),
    complete=st.booleans(),
)
def test_histories_the_three_plus_three_rule_produces_are_accepted(
    dlts: list[int], variant: str, complete: bool
) -> None:
    """Follow the rule cohort by cohort with arbitrary DLT counts: every history it produces is accepted
    (the refusal only hits histories the rule cannot produce) and no level ever holds more than 6."""
    design = ThreePlusThree(4, variant=variant, incomplete_cohort="complete" if complete else "decide")  # type: ignore[arg-type]
    history = ""
    fit = design.fit(history)
    for count in dlts:
        if not fit.continue_ or fit.next_dose is None:
            break
        history = f"{history} {fit.next_dose}{'T' * count}{'N' * (3 - count)}".strip()
        fit = design.fit(history)
        assert max(fit.n_per_dose) <= 6


@settings(max_examples=property_examples(15), deadline=None)
@given(
    truth=st.lists(st.floats(0.0, 0.9), min_size=2, max_size=4),
    trials=st.integers(2, 300),
    seed=st.integers(0, 1000),
)
def test_monte_carlo_standard_errors_are_bounded(truth: list[float], trials: int, seed: int) -> None:
    oc = simulate(Boin(len(truth), 0.3), truth, cohorts=4, trials=trials, seed=seed)
    bound = 50 / math.sqrt(trials) + 1e-9  # sqrt(p (1 - p) / T) * 100 <= 50 / sqrt(T)
    assert all(0 <= se <= bound for se in oc.selection_se_pct)
    assert 0 <= oc.no_mtd_se_pct <= bound and 0 <= oc.early_stop_se_pct <= bound
    assert oc.total_n_se >= 0 and all(se >= 0 for se in (*oc.mean_n_se, *oc.mean_dlt_se))
    assert oc.total_n_se <= 12 / math.sqrt(trials)  # total n lies in [0, 12]: sd <= 6 < 12
