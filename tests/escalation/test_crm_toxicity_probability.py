"""CRM posterior probability that a level's toxicity exceeds a threshold, the quantity of the Zohar & Chevret
(Stat Med 2001;20:2827) safety stop `StopWhenTooToxic` (docs/science/dose-escalation.md §10: "stop with no
recommended dose when P(p_dose > tox_threshold) > confidence under the model posterior").

Reference computed here by scipy adaptive quadrature: p_i(beta) is monotone in beta (empiric s^exp(beta)
falls; logistic expit(3 + exp(beta) x) falls for x < 0, rises for x > 0), so {p_i > t} is a half-line
{beta < b*} or {beta > b*} with b* solved in closed form (empiric: exp(b*) = ln t / ln s; logistic:
exp(b*) = (logit t - 3) / x), and P = integral of the posterior L(beta) N(beta; 0, 1.34) over that half-line
divided by its integral over the line (dfcrm 0.2-2.1 prior and likelihood, §7.1-7.2).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special

from cartrial.escalation import Crm, StopWhenTooToxic, TiteCrm, parse_outcomes, with_behaviours
from cartrial.escalation.design import TrialState

_OPTS = {"epsabs": 0.0, "epsrel": 1e-11, "limit": 400}


def _reference(
    skeleton: list[float],
    model: str,
    patients: list[tuple[int, int]],
    level: int,
    threshold: float,
    weights: list[float] | None = None,
) -> float:
    """P(p_level > threshold | data) by adaptive quadrature on the two sides of b* (see module docstring)."""
    s = np.asarray(skeleton)
    x = np.log(s / (1 - s)) - 3.0
    w = [1.0] * len(patients) if weights is None else weights

    def p(beta: float) -> np.ndarray:
        if model == "empiric":
            return np.asarray(s ** math.exp(beta))
        return np.asarray(special.expit(3.0 + math.exp(beta) * x))

    def log_post(beta: float) -> float:
        prob = p(beta)
        total = -0.5 * beta * beta / 1.34
        for (lv, dlt), wt in zip(patients, w, strict=True):
            q = wt * prob[lv - 1]
            term = q if dlt else 1.0 - q
            if term <= 0.0:  # p = 0 or 1 to double precision far out in beta: no posterior mass there
                return -math.inf
            total += math.log(q) if dlt else math.log1p(-q)
        return total

    mode = max(np.linspace(-10, 10, 2001), key=log_post)
    shift = log_post(float(mode))

    def density(beta: float) -> float:
        return math.exp(log_post(beta) - shift)

    if model == "empiric":
        side, bound = "below", math.log(math.log(threshold) / math.log(skeleton[level - 1]))
    else:
        ratio = (special.logit(threshold) - 3.0) / x[level - 1]
        side = "above" if x[level - 1] > 0 else "below"
        if ratio <= 0:
            return 1.0 if side == "above" else 0.0
        bound = math.log(ratio)
    # the prior N(0, 1.34) leaves no mass beyond |beta| = 40 (density e^-597); the mode is a break point
    bound = min(max(bound, -40.0), 40.0)
    lower = integrate.quad(density, -40.0, bound, points=[m for m in [float(mode)] if m < bound], **_OPTS)[0]
    upper = integrate.quad(density, bound, 40.0, points=[m for m in [float(mode)] if m > bound], **_OPTS)[0]
    below = lower / (lower + upper)
    return below if side == "below" else 1.0 - below


def _state(design: Crm, history: str) -> TrialState:
    return design.replay(design.as_outcomes(history))


CASES = [
    # skeleton, model, history, level, threshold
    ([0.05, 0.1, 0.2, 0.35, 0.5], "empiric", "1N 1N 1T 2T 2T 2N", 1, 0.25),
    ([0.05, 0.1, 0.2, 0.35, 0.5], "empiric", "1N 1N 1T 2T 2T 2N", 2, 0.30),
    ([0.05, 0.1, 0.2, 0.35, 0.5], "empiric", "1T", 1, 0.20),
    ([0.1, 0.2, 0.3, 0.45], "empiric", "1N 1N 1N 2N 2T 3T 3T 2N 2N 2N 1N 2T", 2, 0.30),
    ([0.05, 0.1, 0.2, 0.35, 0.5], "logistic", "1N 1N 1T 2T 2T 2N", 1, 0.25),
    ([0.05, 0.1, 0.2, 0.35, 0.5], "logistic", "3T 3T 2N 2T", 2, 0.33),
    # a level with skeleton above expit(3) = 0.953: its logistic label x > 0, so p rises with beta
    ([0.3, 0.6, 0.97], "logistic", "1N 2T 2N 3T 3T", 3, 0.97),
    ([0.3, 0.6, 0.97], "logistic", "1N 2T 2N 3T 3T", 3, 0.5),  # (logit 0.5 - 3)/x < 0: every beta
]


@pytest.mark.parametrize(("skeleton", "model", "history", "level", "threshold"), CASES)
def test_prob_toxicity_above_equals_adaptive_quadrature(
    skeleton: list[float], model: str, history: str, level: int, threshold: float
) -> None:
    """To 1e-6 (the fixed grid's summing of a step function was off by up to ~5e-3: 0.7724 for 0.7777)."""
    design = Crm(skeleton, 0.25, model=model)  # type: ignore[arg-type]
    patients = [(int(b[:-1]), int(b[-1] == "T")) for b in history.split()]
    expected = _reference(skeleton, model, patients, level, threshold)
    got = float(design.prob_toxicity_above(_state(design, history), level - 1, threshold)[0])
    assert got == pytest.approx(expected, abs=1e-6)


def test_prob_toxicity_above_in_a_batch_equals_one_trial() -> None:
    """The batch (simulation) path, from counts, gives the single-trial value for each trial."""
    design = Crm([0.05, 0.1, 0.2, 0.35, 0.5], 0.25)
    histories = ["1N 1N 1T 2T 2T 2N", "1T", "1N 1N 1N 2N 2N 2N 3T 3N 3T"]
    states = [_state(design, h) for h in histories]
    batch = TrialState(
        np.vstack([s.n for s in states]),
        np.vstack([s.y for s in states]),
        np.zeros(len(states), dtype=np.int64),
        np.zeros((len(states), 5), dtype=bool),
    )
    together = design.prob_toxicity_above(batch, 0, 0.25)
    for i, h in enumerate(histories):
        patients = [(int(b[:-1]), int(b[-1] == "T")) for b in h.split()]
        assert together[i] == pytest.approx(
            _reference(design.skeleton.tolist(), "empiric", patients, 1, 0.25), abs=1e-6
        )


def test_tite_crm_weights_enter_the_probability() -> None:
    """TITE-CRM: the weighted likelihood [w p]^y [1 - w p]^(1 - y) (§8), linear weights u / window."""
    skeleton = [0.05, 0.1, 0.2, 0.35]
    design = TiteCrm(skeleton, 0.25, window_days=28)
    history = parse_outcomes("1N 1N 2T 2N", 4).with_followup([28, 14, 10, 7])
    state = design.replay(history)
    expected = _reference(
        skeleton, "empiric", [(1, 0), (1, 0), (2, 1), (2, 0)], 2, 0.3, [1.0, 0.5, 1.0, 0.25]
    )
    assert float(design.prob_toxicity_above(state, 1, 0.3)[0]) == pytest.approx(expected, abs=1e-6)


def test_stop_when_too_toxic_decides_on_the_exact_probability() -> None:
    """Zohar & Chevret stop at level 1, threshold 0.25, confidence 0.775: the posterior probability after
    1N 1N 1T 2T 2T 2N is 0.7777 (quadrature above) > 0.775, so the trial stops with no dose; the fixed grid
    gave 0.7724 and continued."""
    skeleton = [0.05, 0.1, 0.2, 0.35, 0.5]
    history = "1N 1N 1T 2T 2T 2N"
    exact = _reference(skeleton, "empiric", [(1, 0), (1, 0), (1, 1), (2, 1), (2, 1), (2, 0)], 1, 0.25)
    assert 0.775 < exact < 0.78
    design = with_behaviours(Crm(skeleton, 0.25), StopWhenTooToxic(dose=1, threshold=0.25, confidence=0.775))
    fit = design.fit(history)
    assert not fit.continue_ and fit.next_dose is None
    assert fit.select_mtd().dose_level is None


def test_narrow_posterior_of_a_large_trial() -> None:
    """A posterior narrower than 4 grid spacings (400 patients at level 2, 120 DLTs: sd of beta 0.063, under
    4 x 0.032) is re-integrated on a fine grid: still the quadrature value, at thresholds in its bulk."""
    skeleton = [0.1, 0.25, 0.4]
    history = " ".join(["2T"] * 120 + ["2N"] * 280)
    patients = [(2, 1)] * 120 + [(2, 0)] * 280
    design = Crm(skeleton, 0.3)
    state = _state(design, history)
    for threshold in (0.28, 0.30, 0.32):
        expected = _reference(skeleton, "empiric", patients, 2, threshold)
        assert float(design.prob_toxicity_above(state, 1, threshold)[0]) == pytest.approx(expected, abs=1e-6)
