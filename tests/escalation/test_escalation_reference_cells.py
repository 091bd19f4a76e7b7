"""Independent reference cells for the interval designs and the CRM, derived in the test from the published
rules (not from the engine): the cells the other escalation tests leave out.

- BOIN (Liu & Yuan, JRSS-C 2015;64:507, boundary equations; BOIN 2.7.2 `get.boundary` rules,
  docs/science/dose-escalation.md §4.1-4.3): the full boundary table, n = 1..30, for targets 0.20, 0.25,
  0.30 and 0.33 (the other tests check 0.30 with cohorts of 3 only). Escalate/de-escalate cells are exact
  rational comparisons of y/n with lambda_e / lambda_d; elimination uses the beta-binomial identity
  P(p > phi | Beta(y + 1, n - y + 1)) = P(Binomial(n + 1, phi) <= y), summed here term by term (no beta
  distribution function).
- mTPI-2 (Guo et al. 2017; §5) and i3+3 (Liu, Wang & Ji 2020; §6) for targets other than 0.30 and an
  asymmetric equivalence interval, every cell n = 1..30, with interval edges as exact fractions.
- CRM (O'Quigley 1990; dfcrm 0.2-2.1 conventions, §7.1-7.2): empiric and logistic models, plug-in and
  posterior-mean toxicity, on histories beyond the dfcrm documentation example, against a posterior computed
  here on a dense grid by the trapezoid rule.
- BOIN `select.mtd` (§4.5): the final MTD on many count tables against the procedure of §4.5 written out
  here (pool-adjacent-violators with weights 1/var, tie-break i x 1e-10, argmin |p - target|).
"""

from __future__ import annotations

import itertools
import math
import random
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from cartrial.escalation import Boin, Crm, decision_table
from cartrial.escalation.interval import I3plus3, Mtpi2
from cartrial.escalation.isotonic import isotonic_mtd_batch


def _prob_above(phi: float, n: int, y: int) -> float:
    """P(p > phi | y DLTs in n, Beta(1, 1) prior) = P(Binomial(n + 1, phi) <= y) (beta-binomial identity)."""
    return sum(math.comb(n + 1, k) * phi**k * (1 - phi) ** (n + 1 - k) for k in range(y + 1))


def _boin_lambdas(phi: float) -> tuple[float, float]:
    """Liu & Yuan 2015 boundaries with phi1 = 0.6 phi, phi2 = 1.4 phi (§4.1)."""
    p1, p2 = 0.6 * phi, 1.4 * phi
    lambda_e = math.log((1 - p1) / (1 - phi)) / math.log(phi * (1 - p1) / (p1 * (1 - phi)))
    lambda_d = math.log((1 - phi) / (1 - p2)) / math.log(p2 * (1 - phi) / (phi * (1 - p2)))
    return lambda_e, lambda_d


def _boin_reference_row(phi: float, n: int) -> tuple[int, int | None, int | None]:
    """(escalate if y <=, de-escalate if y >=, eliminate if y >=) for n patients (§4.2-4.3)."""
    lambda_e, lambda_d = _boin_lambdas(phi)
    escalate = max(y for y in range(n + 1) if y / n <= lambda_e) if 0 / n <= lambda_e else -1
    deescalate = next((y for y in range(n + 1) if y / n > lambda_d), None)  # strict, as coded
    eliminate = next((y for y in range(n + 1) if _prob_above(phi, n, y) > 0.95), None) if n >= 3 else None
    if deescalate is not None and eliminate is not None:
        deescalate = min(deescalate, eliminate)  # the de-escalation count is capped at the elimination count
    return escalate, deescalate, eliminate


@pytest.mark.parametrize("target", [0.20, 0.25, 0.30, 0.33])
def test_boin_boundary_table_every_n_1_to_30(target: float) -> None:
    """Every column of `get.boundary(target, cohortsize = 1, ncohort = 30)` equals the Liu & Yuan rule."""
    table = decision_table(Boin(5, target, cohort_size=1), 30, 1)
    for n in range(1, 31):
        row = table.row(n)
        assert (row.escalate_max, row.deescalate_min, row.eliminate_min) == _boin_reference_row(target, n), n


def test_boin_small_n_cells_by_hand() -> None:
    """Cells worked by hand (lambda_e/lambda_d of §4.1): target 0.25 (lambda_d 0.298): 1/3 = 0.333 > 0.298
    de-escalates, 0/3 escalates; P(p > 0.25 | 3/3) = P(Bin(4, 0.25) <= 3) = 1 - 0.25^4 = 0.996 > 0.95
    eliminates; 2/3: P(Bin(4, 0.25) <= 2) = 0.949 <= 0.95 does not. Target 0.30 (lambda_d 0.359): 1/3 stays.
    n = 1 and 2 never eliminate (n >= 3)."""
    assert decision_table(Boin(5, 0.25), 3, 3).row(3).decisions == ("E", "D", "D", "DU")
    assert decision_table(Boin(5, 0.30), 3, 3).row(3).decisions == ("E", "S", "D", "DU")
    assert math.isclose(_prob_above(0.25, 3, 2), 0.94921875)
    ones = decision_table(Boin(5, 0.30, cohort_size=1), 2, 1)
    assert ones.row(1).decisions == ("E", "D")  # 0/1 <= 0.236; 1/1 > 0.359
    assert ones.row(2).decisions == ("E", "D", "D")  # 1/2 = 0.5 > 0.359; no elimination below n = 3


def _mtpi2_reference(target: str, eps1: str, eps2: str, n: int, y: int) -> str:
    """Guo et al. 2017 UPM rule (§5) with exact interval edges; DU when n >= 3 and P(p > target) > 0.95."""
    phi, e1, e2 = Fraction(target), Fraction(eps1), Fraction(eps2)
    width = e1 + e2
    low, high = phi - e1, phi + e2
    below, edge = [], low - width
    while edge > 0:
        below.insert(0, edge)
        edge -= width
    above, edge = [], high + width
    while edge < 1:
        above.append(edge)
        edge += width
    edges = [Fraction(0), *below, low, high, *above, Fraction(1)]
    ei = edges.index(low)
    upm = [
        (stats.beta.cdf(float(b), y + 1, n - y + 1) - stats.beta.cdf(float(a), y + 1, n - y + 1))
        / float(b - a)
        for a, b in itertools.pairwise(edges)
    ]
    best = max(range(len(upm)), key=lambda i: (upm[i], -i))  # ties: the lower interval
    if n >= 3 and _prob_above(float(phi), n, y) > 0.95:
        return "DU"
    return "E" if best < ei else "S" if best == ei else "D"


def _i3plus3_reference(target: str, eps1: str, eps2: str, n: int, y: int) -> str:
    """Liu, Wang & Ji 2020 (§6): E below the EI, S inside (inclusive), above: S if (y - 1)/n is below the EI,
    else D; DU when n >= 3 and P(p > target) > 0.95. Exact fractions."""
    phi = Fraction(target)
    low, high = phi - Fraction(eps1), phi + Fraction(eps2)
    if n >= 3 and _prob_above(float(phi), n, y) > 0.95:
        return "DU"
    rate = Fraction(y, n)
    if rate < low:
        return "E"
    if rate <= high:
        return "S"
    return "S" if Fraction(y - 1, n) < low else "D"


@pytest.mark.parametrize(
    ("target", "eps1", "eps2"), [("0.25", "0.05", "0.05"), ("0.33", "0.05", "0.05"), ("0.3", "0.03", "0.07")]
)
def test_mtpi2_and_i3plus3_tables_every_cell_n_1_to_30(target: str, eps1: str, eps2: str) -> None:
    """Every cell (n = 1..30, y = 0..n) of the mTPI-2 and i3+3 decision tables equals the published rule."""
    kwargs = {"eps1": float(eps1), "eps2": float(eps2), "cohort_size": 1}
    mtpi2 = decision_table(Mtpi2(5, float(target), **kwargs), 30, 1)
    i3 = decision_table(I3plus3(5, float(target), **kwargs), 30, 1)
    for n in range(1, 31):
        for y in range(n + 1):
            assert mtpi2.row(n).decisions[y] == _mtpi2_reference(target, eps1, eps2, n, y), ("mtpi2", n, y)
            assert i3.row(n).decisions[y] == _i3plus3_reference(target, eps1, eps2, n, y), ("i3+3", n, y)


_GRID = np.linspace(-12.0, 12.0, 240_001)


def _crm_reference(
    skeleton: list[float], levels: list[int], dlts: list[int], model: str, ptox: str
) -> np.ndarray:
    """dfcrm `crm` (method "bayes"): beta ~ N(0, 1.34); empiric p_i = s_i^exp(beta), logistic
    p_i = expit(3 + exp(beta) x_i) with x_i = logit(s_i) - 3; ptox = p_i(posterior mean of beta) ("plugin")
    or the posterior mean of p_i; integrals by the trapezoid rule on a dense grid (§7.1-7.2)."""
    s = np.asarray(skeleton)
    if model == "empiric":
        p = s[None, :] ** np.exp(_GRID)[:, None]
    else:
        x = np.log(s / (1 - s)) - 3.0
        with np.errstate(over="ignore"):  # exp(-large) = inf gives p = 0, as it should
            p = 1.0 / (1.0 + np.exp(-(3.0 + np.exp(_GRID)[:, None] * x[None, :])))
    loglik = np.zeros_like(_GRID)
    with np.errstate(divide="ignore"):
        for level, dlt in zip(levels, dlts, strict=True):
            loglik += np.log(p[:, level - 1]) if dlt else np.log1p(-p[:, level - 1])
    weight = np.exp(loglik - loglik.max() - _GRID**2 / (2 * 1.34))
    weight /= np.trapezoid(weight, _GRID)
    if ptox == "posterior_mean":
        return np.asarray(np.trapezoid(weight[:, None] * p, _GRID, axis=0))
    beta_hat = float(np.trapezoid(weight * _GRID, _GRID))
    if model == "empiric":
        return np.asarray(s ** math.exp(beta_hat))
    return np.asarray(1.0 / (1.0 + np.exp(-(3.0 + math.exp(beta_hat) * x))))


_CRM_HISTORIES = [
    ([0.05, 0.12, 0.25, 0.40, 0.55], 0.25, [1, 1, 1, 2, 2, 2, 3, 3, 3], [0, 0, 0, 0, 0, 0, 1, 0, 1]),
    ([0.1, 0.2, 0.3, 0.45], 0.30, [1, 2, 3, 4, 4], [0, 0, 0, 1, 1]),
    ([0.15, 0.25, 0.5], 0.25, [1], [0]),
    ([0.02, 0.08, 0.15, 0.25, 0.3, 0.45], 0.33, [4, 5, 4, 3, 4, 5, 4, 2], [1, 0, 0, 1, 0, 0, 1, 1]),
    ([0.05, 0.1, 0.2], 0.20, [1, 1, 1], [1, 1, 1]),
]


@pytest.mark.parametrize(("skeleton", "target", "levels", "dlts"), _CRM_HISTORIES)
@pytest.mark.parametrize("model", ["empiric", "logistic"])
@pytest.mark.parametrize("ptox", ["plugin", "posterior_mean"])
def test_crm_estimates_and_next_dose_equal_a_dense_grid_posterior(
    skeleton: list[float], target: float, levels: list[int], dlts: list[int], model: str, ptox: str
) -> None:
    """Estimated toxicity per level to 1e-6 and the next dose = argmin |ptox - target| (dfcrm applies no
    skipping restriction)."""
    history = " ".join(f"{lv}{'T' if d else 'N'}" for lv, d in zip(levels, dlts, strict=True))
    fit = Crm(skeleton, target, model=model, ptox=ptox).fit(history)  # type: ignore[arg-type]
    expected = _crm_reference(skeleton, levels, dlts, model, ptox)
    got = np.array([e.estimate for e in fit.estimates])
    assert np.allclose(got, expected, atol=1e-6)
    assert fit.next_dose == int(np.argmin(np.abs(expected - target))) + 1


def _pava(values: list[float], weights: list[float]) -> list[float]:
    blocks = [[v, w, 1] for v, w in zip(values, weights, strict=True)]
    i = 0
    while i < len(blocks) - 1:
        if blocks[i][0] > blocks[i + 1][0]:
            (m1, w1, s1), (m2, w2, s2) = blocks[i], blocks[i + 1]
            blocks[i : i + 2] = [[(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, s1 + s2]]
            i = max(i - 1, 0)
        else:
            i += 1
    return [b[0] for b in blocks for _ in range(int(b[2]))]


def _select_mtd_reference(target: float, n: list[int], y: list[int], bound: float | None) -> int:
    """BOIN 2.7.2 `select.mtd` (§4.5), 0-based, -1 for none: eliminate from the first level with n >= 3 and
    P(p > target) > 0.95 upwards; drop untreated levels; (y + 0.05)/(n + 0.1), PAVA with weights 1/var,
    + i x 1e-10; argmin |p - target| (first on ties); with boundMTD, the highest level with p <= lambda_d
    at or below that."""
    k = len(n)
    eliminated = [False] * k
    for i in range(k):
        if n[i] >= 3 and _prob_above(target, n[i], y[i]) > 0.95:
            eliminated[i:] = [True] * (k - i)
            break
    if eliminated[0] or not any(n[i] for i in range(k) if not eliminated[i]):
        return -1
    kept = [i for i in range(k) if n[i] > 0 and not eliminated[i]]
    raw = [(y[i] + 0.05) / (n[i] + 0.1) for i in kept]
    var = [(y[i] + 0.05) * (n[i] - y[i] + 0.05) / ((n[i] + 0.1) ** 2 * (n[i] + 1.1)) for i in kept]
    iso = [p + (j + 1) * 1e-10 for j, p in enumerate(_pava(raw, [1 / v for v in var]))]
    chosen = min(range(len(iso)), key=lambda j: (abs(iso[j] - target), j))
    if bound is not None:
        if all(p > bound for p in iso):
            return -1
        while iso[chosen] > bound:
            chosen -= 1
    return kept[chosen]


def test_boin_select_mtd_on_many_count_tables() -> None:
    """2,000 random count tables (1-6 levels, targets 0.2-0.33), with and without boundMTD."""
    rng = random.Random(20261205)
    for _ in range(2000):
        k = rng.randint(1, 6)
        target = rng.choice([0.2, 0.25, 0.3, 0.33])
        n = [rng.choice([0, 0, 1, 2, 3, 3, 6, 9, 12]) for _ in range(k)]
        y = [rng.randint(0, m) if rng.random() < 0.5 else rng.randint(0, m // 3) for m in n]
        eliminated = np.zeros((1, k), dtype=bool)
        for i in range(k):  # the persistent set a trial would carry (a level is eliminated when treated)
            if n[i] >= 3 and _prob_above(target, n[i], y[i]) > 0.95:
                eliminated[0, i:] = True
                break
        lambda_d = _boin_lambdas(target)[1]
        for bound in (None, lambda_d):
            mtd, _ = isotonic_mtd_batch(np.array(n), np.array(y), eliminated, target, bound_mtd_at=bound)
            assert int(mtd[0]) == _select_mtd_reference(target, n, y, bound), (target, n, y, bound)


def test_i3plus3_exclusion_min_n_both_settings() -> None:
    """§6: whether i3+3's DU needs n >= 3 is not settled (FIND tabulates from n = 3): option
    `exclusion_min_n`, default 3. With target 0.3, 2/2 has P(p > 0.3) = P(Bin(3, 0.3) <= 2) = 1 - 0.3^3 =
    0.973 > 0.95: DU only with exclusion_min_n = 0; otherwise the rule's D (2/2 above the EI, 1/2 too).
    1/1 (P = 1 - 0.3^2 = 0.91) is S under both: 1/1 is above the EI but 0/1 is below it."""
    assert math.isclose(_prob_above(0.3, 2, 2), 1 - 0.3**3)
    default = decision_table(I3plus3(5, 0.3, cohort_size=1), 3, 1)
    anywhere = decision_table(I3plus3(5, 0.3, cohort_size=1, exclusion_min_n=0), 3, 1)
    assert default.row(1).decisions == anywhere.row(1).decisions == ("E", "S")
    assert default.row(2).decisions == ("E", "S", "D")
    assert anywhere.row(2).decisions == ("E", "S", "DU")
    assert default.row(3).decisions == anywhere.row(3).decisions == ("E", "S", "D", "DU")
    # the elimination persists: after 1N 2T 2T, level 2 and above are excluded only with exclusion_min_n=0
    assert I3plus3(5, 0.3, cohort_size=1).fit("1N 2T 2T").eliminated == ()
    assert I3plus3(5, 0.3, cohort_size=1, exclusion_min_n=0).fit("1N 2T 2T").eliminated == (2, 3, 4, 5)
