"""CRM and TITE-CRM (``dose-escalation.md`` sections 7-8; dfcrm 0.2-2.1 conventions)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats
from tests.conftest import property_examples

from cartrial.errors import InputError, NotEstimableError
from cartrial.escalation import Crm, Outcomes, PatientOutcome, TiteCrm, getprior
from cartrial.escalation.design import TrialState

SKELETON = [0.05, 0.10, 0.20, 0.35, 0.50, 0.70]
LEVELS = [3, 4, 4, 3, 3, 4, 3, 2, 2, 2]
TOX = [0, 0, 1, 0, 0, 1, 1, 0, 0, 0]


def _example() -> Outcomes:
    return Outcomes(
        tuple(PatientOutcome(i + 1, lv, bool(t)) for i, (lv, t) in enumerate(zip(LEVELS, TOX, strict=True)))
    )


@pytest.mark.parametrize("integration", ["quad", "grid"])
def test_dfcrm_documentation_example_empiric_bayes(integration: str) -> None:
    """Section 7.3, dfcrm::crm example, empiric/bayes: beta_hat -0.212172, var 0.157596, ptox row, next 2."""
    design = Crm(SKELETON, 0.20, integration=integration)  # type: ignore[arg-type]
    b, var, ptox = design.posterior_summary(design.replay(_example()))
    assert b == pytest.approx(-0.212172, abs=1e-6)
    assert var == pytest.approx(0.157596, abs=1e-6)
    assert np.allclose(ptox, [0.088653, 0.155301, 0.272054, 0.427790, 0.570846, 0.749396], atol=1e-6)
    assert design.fit(_example()).next_dose == 2


def test_dfcrm_documentation_example_logistic_bayes() -> None:
    """Section 7.3 logistic/bayes row (a0 = 3, labels logit(s) - 3)."""
    design = Crm(SKELETON, 0.20, model="logistic")
    b, var, ptox = design.posterior_summary(design.replay(_example()))
    assert b == pytest.approx(-0.110112, abs=1e-6)
    assert var == pytest.approx(0.038695, abs=1e-6)
    assert np.allclose(ptox, [0.089103, 0.160390, 0.283137, 0.439868, 0.577568, 0.744930], atol=1e-6)
    assert design.fit(_example()).next_dose == 2


def test_dfcrm_documentation_example_empiric_mle() -> None:
    """Section 7.3 empiric/mle row: exact maximiser -0.19097 (dfcrm -0.190988 within optimize tolerance)."""
    design = Crm(SKELETON, 0.20, method="mle")
    b, var, ptox = design.posterior_summary(design.replay(_example()))
    assert var is None
    assert b == pytest.approx(-0.19097, abs=1e-4)
    assert np.allclose(ptox, [0.084171, 0.149231, 0.264577, 0.420083, 0.564036, 0.744782], atol=1e-4)
    assert design.fit(_example()).next_dose == 2


def test_posterior_mean_ptox_option_integrates_p_over_the_posterior() -> None:
    """Section 7.2 option ptox = posterior_mean: E[p_i(beta)], checked by independent quadrature."""
    design = Crm(SKELETON, 0.20, ptox="posterior_mean")
    _, _, ptox = design.posterior_summary(design.replay(_example()))
    sd = math.sqrt(1.34)

    def lik(b: float) -> float:
        p = np.array(SKELETON) ** math.exp(b)
        value = stats.norm.pdf(b, 0, sd)
        for lv, t in zip(LEVELS, TOX, strict=True):
            value *= p[lv - 1] if t else 1 - p[lv - 1]
        return float(value)

    z = integrate.quad(lik, -30, 30, points=[0])[0]
    expected = [
        integrate.quad(lambda b, i=i: SKELETON[i] ** math.exp(b) * lik(b), -30, 30, points=[0])[0] / z
        for i in range(6)
    ]
    assert np.allclose(ptox, expected, atol=1e-7)
    assert not np.allclose(ptox, [0.088653, 0.155301, 0.272054, 0.427790, 0.570846, 0.749396], atol=1e-4)


def test_getprior_reference() -> None:
    """Section 7.4: getprior(0.05, 0.25, 3, 5) = 0.083973, 0.156741, 0.250000, 0.354500, 0.460343."""
    assert np.allclose(getprior(0.05, 0.25, 3, 5), [0.083973, 0.156741, 0.25, 0.354500, 0.460343], atol=1e-6)


def test_mle_without_heterogeneity_is_not_estimable() -> None:
    """The likelihood has no maximum without both a DLT and a non-DLT (dfcrm requires heterogeneity)."""
    design = Crm(SKELETON, 0.2, method="mle")
    with pytest.raises(NotEstimableError):
        design.fit(Outcomes((PatientOutcome(1, 1, False),)))


@pytest.mark.parametrize(("dlts", "refused"), [([0, 0], True), ([3, 0], True), ([1, 0], False)])
def test_mle_in_the_simulators_batch_follows_the_same_rule(dlts: list[int], refused: bool) -> None:
    """The batch of the simulator took the integration grid's edge as the estimate of a trial without a DLT
    (or with only DLTs), where a single decision refuses: one rule now (D-19.36)."""
    from cartrial.escalation.design import TrialState

    design = Crm(SKELETON[:2], 0.2, method="mle", integration="grid")
    n = np.array([[3, 0], [3, 3]])
    y = np.array([dlts, [1, 0]])
    state = TrialState(n, y, np.zeros(2, dtype=np.int64), np.zeros((2, 2), dtype=bool))
    if refused:
        with pytest.raises(NotEstimableError, match="at least one DLT and one non-DLT"):
            design._grid_batch(state)
    else:
        b_hat, _, _ = design._grid_batch(state)
        assert np.all(np.isfinite(b_hat))


@pytest.mark.parametrize("skeleton", [[0.1, 0.3, 0.2], [0.0, 0.1, 0.2], [0.1, 0.2, 1.0], [0.1, 0.1, 0.2]])
def test_bad_skeleton(skeleton: list[float]) -> None:
    """Bad input: skeleton not strictly increasing or outside (0, 1) names the argument."""
    with pytest.raises(InputError, match="skeleton"):
        Crm(skeleton, 0.25)


def test_tite_full_followup_equals_crm() -> None:
    """Section 8: with every patient fully followed (w = 1) the TITE-CRM likelihood is the CRM likelihood."""
    crm = Crm(SKELETON, 0.2).posterior_summary(Crm(SKELETON, 0.2).replay(_example()))
    tite = TiteCrm(SKELETON, 0.2, window_days=28)
    got = tite.posterior_summary(tite.replay(_example().with_followup([28.0] * 10)))
    assert got[0] == pytest.approx(crm[0], abs=1e-9)


def test_tite_linear_weights_and_weighted_likelihood() -> None:
    """Section 8 linear scheme: w = min(u / T, 1) without DLT, 1 with DLT; the posterior mean equals an
    independent quadrature of the weighted likelihood [w p]^y [1 - w p]^(1 - y)."""
    outcomes = Outcomes(
        (PatientOutcome(1, 1, False), PatientOutcome(2, 2, True), PatientOutcome(3, 2, False))
    )
    outcomes = outcomes.with_followup([28.0, 10.0, 7.0])
    design = TiteCrm([0.1, 0.2, 0.3], 0.25, window_days=28)
    assert np.allclose(design.weights(outcomes), [1.0, 1.0, 0.25])
    sd = math.sqrt(1.34)

    def post(b: float) -> float:
        p = np.array([0.1, 0.2, 0.3]) ** math.exp(b)
        return float(stats.norm.pdf(b, 0, sd) * (1 - p[0]) * p[1] * (1 - 0.25 * p[1]))

    z = integrate.quad(post, -30, 30)[0]
    mean = integrate.quad(lambda b: b * post(b), -30, 30)[0] / z
    assert design.posterior_summary(design.replay(outcomes))[0] == pytest.approx(mean, abs=1e-7)


def test_tite_adaptive_weights_by_hand() -> None:
    """Section 8 adaptive scheme: DLT times 0.25 and 0.5 (scaled, z = 2); non-DLT patient at u = 0.375 has
    kappa = 1: w = (1 + (0.375 - 0.25)/(0.5 - 0.25)) / 3 = 0.5; at u = 0.75: (2 + 0.25/0.5) / 3 = 5/6;
    at u = 0.1: (0 + 0.1/0.25) / 3 = 0.1333."""
    outcomes = Outcomes(
        tuple(PatientOutcome(i + 1, 1, d) for i, d in enumerate([True, True, False, False, False]))
    )
    outcomes = outcomes.with_followup([7.0, 14.0, 10.5, 21.0, 2.8])
    w = TiteCrm([0.1, 0.2], 0.25, window_days=28, scheme="adaptive").weights(outcomes)
    assert np.allclose(w, [1, 1, 0.5, 5 / 6, 0.4 / 3])


@settings(max_examples=property_examples(25), deadline=None)
@given(st.lists(st.tuples(st.integers(1, 4), st.booleans()), min_size=1, max_size=8), st.integers(0, 7))
def test_an_extra_dlt_never_lowers_estimated_toxicity(patients: list[tuple[int, bool]], flip: int) -> None:
    """Monotonicity: turning one non-DLT into a DLT never lowers any ptox (the likelihood ratio is monotone in
    beta for both models), so the recommended level never goes up."""
    index = flip % len(patients)
    if patients[index][1]:
        return
    before = Outcomes(tuple(PatientOutcome(i + 1, lv, d) for i, (lv, d) in enumerate(patients)))
    after_list = list(patients)
    after_list[index] = (after_list[index][0], True)
    after = Outcomes(tuple(PatientOutcome(i + 1, lv, d) for i, (lv, d) in enumerate(after_list)))
    for model in ("empiric", "logistic"):
        design = Crm([0.05, 0.12, 0.25, 0.40], 0.25, model=model, integration="grid")  # type: ignore[arg-type]
        p0 = design.posterior_summary(design.replay(before))[2]
        p1 = design.posterior_summary(design.replay(after))[2]
        assert np.all(p1 >= p0 - 1e-12)
        assert design.fit(after).next_dose <= design.fit(before).next_dose


@settings(max_examples=property_examples(40), deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.floats(0, 60)), min_size=1, max_size=8),
    st.sampled_from(["linear", "adaptive"]),
)
def test_tite_weights_are_in_unit_interval_and_grow_with_followup(
    patients: list[tuple[bool, float]], scheme: str
) -> None:
    """Section 8: weights lie in [0, 1], DLT patients weigh 1, fully followed patients weigh 1, and a longer
    follow-up never lowers a non-DLT patient's weight (both schemes)."""
    design = TiteCrm([0.1, 0.2], 0.25, window_days=28, scheme=scheme)  # type: ignore[arg-type]
    outcomes = Outcomes(tuple(PatientOutcome(i + 1, 1, d) for i, (d, _) in enumerate(patients)))
    outcomes = outcomes.with_followup([f for _, f in patients])
    w = design.weights(outcomes)
    assert np.all((w >= 0) & (w <= 1 + 1e-12))
    for (dlt, follow), weight in zip(patients, w, strict=True):
        if dlt or follow >= 28:
            assert weight == pytest.approx(1.0)
    non_dlt = [(f, wt) for (d, f), wt in zip(patients, w, strict=True) if not d]
    for f1, w1 in non_dlt:
        for f2, w2 in non_dlt:
            if f1 <= f2:
                assert w1 <= w2 + 1e-12


@pytest.mark.parametrize(
    ("model", "method", "beta", "ptox", "tol"),
    [
        ("empiric", "bayes", -0.212172, [0.088653, 0.155301, 0.272054, 0.427790, 0.570846, 0.749396], 1e-6),
        ("logistic", "bayes", -0.110112, [0.089103, 0.160390, 0.283137, 0.439868, 0.577568, 0.744930], 1e-6),
        ("empiric", "mle", -0.19097, [0.084171, 0.149231, 0.264577, 0.420083, 0.564036, 0.744782], 1e-4),
    ],
)
def test_simulation_grid_reproduces_every_dfcrm_row(
    model: str, method: str, beta: float, ptox: list[float], tol: float
) -> None:
    """Section 7.3 table, every row, with the fixed-grid integration used in simulation, both for a live
    history and for the count-only batch state of the simulator; the grid MLE equals the exact maximiser
    (7.3: -0.19097; the grid alone was ~1e-3 off before Newton polishing)."""
    design = Crm(SKELETON, 0.20, model=model, method=method, integration="grid")  # type: ignore[arg-type]
    state = design.replay(_example())
    b, _, p = design.posterior_summary(state)
    assert b == pytest.approx(beta, abs=tol)
    assert np.allclose(p, ptox, atol=tol)
    state.patients = None
    b_batch, _, p_batch = design._grid_batch(state)
    assert b_batch[0] == pytest.approx(b, abs=1e-9)
    assert np.allclose(p_batch[0], p, atol=1e-9)
    if method == "mle":
        exact = Crm(SKELETON, 0.20, model=model, method=method)  # type: ignore[arg-type]
        assert b == pytest.approx(exact.posterior_summary(exact.replay(_example()))[0], abs=1e-7)


def test_simulation_grid_matches_adaptive_quadrature_for_a_large_trial() -> None:
    """Section 7.2: fixed-grid integration checked against adaptive quadrature, here for 120 patients with
    the logistic model (posterior sd ~0.06, where a coarse grid was 4.5e-4 off in beta_hat)."""
    rng = np.random.default_rng(1)
    levels = rng.integers(1, 7, 120)
    dlt = rng.random(120) < np.array(SKELETON)[levels - 1]
    history = Outcomes(
        tuple(
            PatientOutcome(i + 1, int(lv), bool(t)) for i, (lv, t) in enumerate(zip(levels, dlt, strict=True))
        )
    )
    for model in ("empiric", "logistic"):
        quad = Crm(SKELETON, 0.2, model=model, integration="quad")  # type: ignore[arg-type]
        grid = Crm(SKELETON, 0.2, model=model, integration="grid")  # type: ignore[arg-type]
        a = quad.posterior_summary(quad.replay(history))
        b = grid.posterior_summary(grid.replay(history))
        assert b[0] == pytest.approx(a[0], abs=1e-8)
        assert np.allclose(b[2], a[2], atol=1e-8)


@pytest.mark.parametrize("model", ["empiric", "logistic"])
def test_counts_only_posterior_of_a_very_large_trial_matches_adaptive_quadrature(model: str) -> None:
    """Section 7.2: a state known by its counts only (the simulator's batch, and its final analysis) with a
    posterior narrower than 4 grid spacings (3,000 patients: sd of beta 0.012-0.025) is re-integrated around
    the posterior as the single-trial path is; on the fixed grid alone the logistic beta_hat was 1.2e-3 off
    the adaptive quadrature (`integration="quad"`) and ptox 1e-3."""
    rng = np.random.default_rng(1)
    levels = rng.integers(1, 7, 3000)
    dlt = rng.random(3000) < np.array(SKELETON)[levels - 1]
    history = Outcomes(
        tuple(
            PatientOutcome(i + 1, int(lv), bool(t)) for i, (lv, t) in enumerate(zip(levels, dlt, strict=True))
        )
    )
    quad = Crm(SKELETON, 0.2, model=model, integration="quad")  # type: ignore[arg-type]
    exact = quad.posterior_summary(quad.replay(history))
    grid = Crm(SKELETON, 0.2, model=model)  # type: ignore[arg-type]
    replayed = grid.replay(history)
    counts = TrialState(replayed.n.copy(), replayed.y.copy(), np.zeros(1, np.int64), np.zeros((1, 6), bool))
    estimates = grid.estimates(counts)
    assert np.allclose([e.estimate for e in estimates], exact[2], atol=1e-7)
    assert "beta_hat=" in estimates[0].method
    b_hat, var, _ = grid.posterior_summary(counts)
    assert b_hat == pytest.approx(exact[0], abs=1e-7)
    assert var == pytest.approx(exact[1], rel=1e-5)
