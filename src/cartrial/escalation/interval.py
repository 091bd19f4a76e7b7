"""Interval designs driven by a decision table on (n, y) at the current dose: BOIN, mTPI-2, i3+3.

Sources (``docs/science/dose-escalation.md``):
- BOIN: Liu S, Yuan Y. JRSS-C 2015;64:507-523 (erratum 2022); R `BOIN` 2.7.2 `get.boundary`, `get.oc`,
  `select.mtd` (sections 4.1-4.5).
- mTPI-2: Guo et al. Contemp Clin Trials 2017 (doi:10.1016/j.cct.2017.04.006), as in R `escalation` 0.2.3
  `mtpi2_selector` (section 5).
- i3+3: Liu M, Wang SJ, Ji Y. J Biopharm Stat 2020;30:294-304, as in R `FIND` `get_decision_i3plus3`
  (section 6).
Every design here can also be driven by a user-supplied decision table (`TableDesign`).
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Mapping
from functools import cached_property, lru_cache
from typing import Any, Literal

import numpy as np
from scipy import stats

from cartrial.errors import InputError, OptionError, Problem
from cartrial.escalation.design import (
    Decision,
    Design,
    DoseEstimate,
    Proposal,
    StopReason,
    TrialState,
    check_n_doses,
    check_target,
    step_to,
)
from cartrial.escalation.isotonic import isotonic_mtd_batch
from cartrial.protocol.design_options import boin_option_problems, check_options, dose_levels

_TOL = 1e-12
TABLE_MAX_N = 30
DIRECT_MAX_N = 1000
"""Largest n whose elimination count is found by evaluating every DLT count (`elimination_count`)."""
"""Largest n of the decision table a simulation looks decisions up in; larger counts are decided per
(n, y) met (`IntervalDesign._current_codes`)."""


def prob_above(target: float, n: np.ndarray | int, y: np.ndarray | int) -> np.ndarray:
    """P(p > target | y DLTs in n) under a Beta(1, 1) prior: 1 - pbeta(target, y + 1, n - y + 1)."""
    n_arr = np.asarray(n, dtype=float)
    y_arr = np.asarray(y, dtype=float)
    return np.asarray(stats.beta.sf(target, y_arr + 1.0, n_arr - y_arr + 1.0))


@lru_cache(maxsize=1 << 14)
def elimination_count(target: float, n: int, cutoff: float, min_n: int = 3) -> int | None:
    """Smallest DLT count y with P(p > target | y, n) > cutoff (Beta(1, 1) prior), None if none or n < min_n
    (BOIN 2.7.2 `get.boundary` elimination row; docs/science/dose-escalation.md §4.3). Remembered per
    arguments: a long simulation asks for the same n once per distinct DLT count.

    P(p > target | y, n) increases with y, so beyond `DIRECT_MAX_N` the count is found by bisection
    (O(log n) evaluations instead of n + 1: a 1000-cohort simulation of cohorts of 100 reaches n = 100,000).
    """
    if n < max(min_n, 1):
        return None
    if n <= DIRECT_MAX_N:
        probs = prob_above(target, np.full(n + 1, n), np.arange(n + 1))
        hits = np.flatnonzero(probs > cutoff)
        return int(hits[0]) if hits.size else None

    def above(y: int) -> bool:
        return bool(float(prob_above(target, n, y)) > cutoff)

    if not above(n):
        return None
    low, high = -1, n  # above(high) holds; above(low) is taken as false
    while high - low > 1:
        middle = (low + high) // 2
        if above(middle):
            high = middle
        else:
            low = middle
    return high


#: The method of an interval design's per-dose estimate, with its interval's level (decisions D-19.395).
_ISOTONIC_METHOD = "isotonic (BOIN select.mtd), 95 % interval Beta(n p + 0.05, n (1 - p) + 0.05)"


class IntervalDesign(Design):
    """A design whose decision depends only on (n, y) at the current dose, with persistent elimination.

    Elimination (docs/science/dose-escalation.md §4.3, 5, 6): when n_d >= `exclusion_min_n` and P(p_d >
    target) >
    `cutoff_eliminate` under Beta(1, 1), level d and all higher levels are eliminated for the rest of the
    trial; if level 1 is eliminated the trial stops with no MTD. Final MTD: BOIN `select.mtd` isotonic
    regression (section 4.5; `mtd_estimator="boin_isotonic"`, the only estimator implemented).
    """

    exclusion_min_n: int = 3
    cutoff_eliminate: float = 0.95
    mtd_estimator: str = "boin_isotonic"

    @abstractmethod
    def raw_decision(self, n: int, y: int) -> Decision:
        """E/S/D by the design's rule, ignoring elimination."""

    def eliminates(self, n: int, y: int) -> bool:
        return (
            n >= self.exclusion_min_n and float(prob_above(self.target_value, n, y)) > self.cutoff_eliminate
        )

    @property
    def target_value(self) -> float:
        assert self.target is not None
        return self.target

    def cell(self, n: int, y: int) -> Decision:
        """Full decision for y DLTs among n at the current dose (DU when the elimination rule fires)."""
        if n == 0:
            return Decision.STAY
        if self.eliminates(n, y):
            return Decision.ELIMINATE
        return self.raw_decision(n, y)

    def table_array(self, max_n: int) -> np.ndarray:
        """Decision codes, rows n = 0..max_n, columns y = 0..max_n (-1 where y > n); cached."""
        cached: np.ndarray | None = self.__dict__.get("_table_cache")
        if cached is not None and cached.shape[0] > max_n:
            return cached
        size = max(max_n, TABLE_MAX_N) + 1
        n_grid, y_grid = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
        valid = y_grid <= n_grid
        table = np.where(valid, self.raw_decision_table(n_grid, y_grid), -1)
        with np.errstate(invalid="ignore"):
            prob = prob_above(self.target_value, n_grid, np.minimum(y_grid, n_grid))
        eliminate = self.elimination_table(n_grid, y_grid, prob) & valid
        table = np.where(eliminate, int(Decision.ELIMINATE), table)
        table[0, 0] = int(Decision.STAY)
        self.__dict__["_table_cache"] = table
        return table

    def elimination_table(self, n: np.ndarray, y: np.ndarray, prob: np.ndarray) -> np.ndarray:
        """Where the elimination rule fires (vectorised `eliminates`)."""
        return (n >= max(self.exclusion_min_n, 1)) & (prob > self.cutoff_eliminate)

    def raw_decision_table(self, n: np.ndarray, y: np.ndarray) -> np.ndarray:
        """`raw_decision` over arrays of (n, y) (cells with y > n or n = 0 are ignored)."""
        out = np.full(n.shape, int(Decision.STAY), dtype=np.int64)
        for index in np.ndindex(n.shape):
            nn, yy = int(n[index]), int(y[index])
            if nn > 0 and yy <= nn:
                out[index] = int(self.raw_decision(nn, yy))
        return out

    def _current_codes(self, state: TrialState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(flat index of the current dose, n there, decision code there).

        Small counts are looked up in the decision table (`table_array`, built once for n ≤ 30); beyond it,
        each distinct (n, y) met is decided once (`cell`) and remembered. A table grown to the largest n
        would be rebuilt at every cohort once n passes 30 — O(n²) cells each time, so a long simulation
        (``--cohorts 1000``) ran for hours (issue 19 §4)."""
        flat = state.row_offsets() + np.maximum(state.dose, 0)
        n_d = state.n.ravel()[flat]
        y_d = state.y.ravel()[flat]
        table = self.table_array(TABLE_MAX_N)
        small = n_d < table.shape[0]
        codes = np.empty(len(n_d), dtype=np.int64)
        codes[small] = table.ravel()[n_d[small] * table.shape[1] + y_d[small]]
        if not small.all():
            large = np.flatnonzero(~small)
            keys, inverse = np.unique(np.stack([n_d[large], y_d[large]], axis=1), axis=0, return_inverse=True)
            cache: dict[tuple[int, int], int] = self.__dict__.setdefault("_cell_cache", {})
            decided = np.array(
                [
                    cache.setdefault((int(n), int(y)), int(self.cell(int(n), int(y))))
                    for n, y in keys.tolist()
                ],
                dtype=np.int64,
            )
            codes[large] = decided[np.asarray(inverse).ravel()]
        return flat, n_d, codes

    def update_eliminated(self, state: TrialState, active: np.ndarray) -> None:
        self._eliminate(state, active, self._current_codes(state)[2])

    def _eliminate(self, state: TrialState, active: np.ndarray, codes: np.ndarray) -> None:
        hit = np.flatnonzero(active & (state.dose >= 0) & (codes == Decision.ELIMINATE))
        if hit.size:
            state.eliminated[hit] |= np.arange(state.n_doses)[None, :] >= state.dose[hit, None]

    def step(self, state: TrialState, active: np.ndarray) -> Proposal:
        _, _, codes = self._current_codes(state)
        self._eliminate(state, active, codes)
        return self._propose_from(state, codes)

    def propose(self, state: TrialState) -> Proposal:
        return self._propose_from(state, self._current_codes(state)[2])

    def _propose_from(self, state: TrialState, decision: np.ndarray) -> Proposal:
        nxt = step_to(state, decision, ~state.eliminated)
        proposal = Proposal(
            next_dose=nxt,
            stop=np.zeros(state.trials, dtype=bool),
            reason=np.zeros(state.trials, dtype=np.int64),
            decision=decision,
        )
        proposal.stop_where(state.eliminated[:, 0], StopReason.LOWEST_DOSE_ELIMINATED)
        self.extra_stops(state, proposal)
        # A next dose that is itself eliminated (only possible with inconsistent user histories): go down.
        k = state.n_doses
        bad = (
            ~proposal.stop & state.eliminated.ravel()[state.row_offsets() + np.maximum(proposal.next_dose, 0)]
        )
        if bad.any():
            allowed_below = ~state.eliminated & (np.arange(k)[None, :] <= proposal.next_dose[:, None])
            has = allowed_below.any(axis=1)
            top_allowed = k - 1 - np.argmax(allowed_below[:, ::-1], axis=1)
            proposal.next_dose = np.where(bad & has, top_allowed, proposal.next_dose)
            proposal.stop_where(bad & ~has, StopReason.NO_ADMISSIBLE_DOSE)
        return proposal

    def safety_stop(self) -> str | None:
        """Level 1 eliminated (§4.3): the trial stops with no dose recommended (D-19.478)."""
        return (
            f"level 1 eliminated (P(p_1 > {self.target_value:g}) > {self.cutoff_eliminate:g} under "
            f"Beta(1, 1) with >= {self.exclusion_min_n} patients there): stop, no dose recommended"
        )

    def extra_stops(self, state: TrialState, proposal: Proposal) -> None:
        """Design-specific stopping rules (BOIN `extrasafe`)."""

    def bound_mtd_at(self) -> float | None:
        return None

    def select_mtd_batch(self, state: TrialState) -> np.ndarray:
        mtd, _ = isotonic_mtd_batch(
            state.n, state.y, state.eliminated, self.target_value, bound_mtd_at=self.bound_mtd_at()
        )
        return mtd

    def mtd_rule(self) -> str:
        return "isotonic regression of (y+0.05)/(n+0.1), closest to target (BOIN 2.7.2 select.mtd)"

    def estimates(self, state: TrialState) -> tuple[DoseEstimate, ...]:
        """Isotonic estimates (BOIN `select.mtd` estimator) with 95% equal-tailed intervals of
        Beta(n*p_iso + 0.05, n*(1 - p_iso) + 0.05) [P: BOIN's own interval method is not recorded, U]."""
        _, iso = isotonic_mtd_batch(state.n, state.y, state.eliminated, self.target_value)
        result = []
        for i in range(state.n_doses):
            n, y, p = int(state.n[0, i]), int(state.y[0, i]), iso[0, i]
            if np.isnan(p):
                result.append(
                    DoseEstimate(i + 1, n, y, None, None, None, "not estimated (untreated or eliminated)")
                )
                continue
            a, b = n * p + 0.05, n * (1 - p) + 0.05
            lo, hi = stats.beta.ppf([0.025, 0.975], a, b)
            result.append(DoseEstimate(i + 1, n, y, float(p), float(lo), float(hi), _ISOTONIC_METHOD))
        return tuple(result)

    def _common_options(self) -> dict[str, Any]:
        return {
            "n_doses": self.n_doses,
            "target": self.target,
            "cohort_size": self.cohort_size,
            "start_dose": self.start_dose,
            "cutoff_eliminate": self.cutoff_eliminate,
            "exclusion_min_n": self.exclusion_min_n,
            "mtd_estimator": self.mtd_estimator,
        }


def _check_cutoff(cutoff: float) -> float:
    check_options({"cutoff_eliminate": cutoff})
    return float(cutoff)


def _check_cohort(cohort_size: int, start_dose: int, n_doses: int) -> None:
    check_options({"cohort_size": cohort_size, "start_dose": start_dose})
    if not 1 <= start_dose <= n_doses:
        raise InputError(
            Problem(
                "start dose outside the design",
                field="start_dose",
                value=start_dose,
                allowed=dose_levels(n_doses).text(),
            )
        )


def boin_boundaries(
    target: float, phi1: float | None = None, phi2: float | None = None
) -> tuple[float, float]:
    """BOIN escalation and de-escalation boundaries (lambda_e, lambda_d).

    Liu & Yuan 2015, JRSS-C 64:507, Section 2.2 (docs/science/dose-escalation.md §4.1); phi1 = 0.6 phi and
    phi2 = 1.4 phi by default (BOIN 2.7.2 `get.boundary`). A phi1 or phi2 closer to phi than 0.1 phi is
    refused, as BOIN 2.7.2 `get.boundary` / `get.oc` refuse it (D-19.1115).

    >>> [round(v, 4) for v in boin_boundaries(0.3)]
    [0.2365, 0.3585]
    """
    phi = check_target(target)
    phi1 = 0.6 * phi if phi1 is None else phi1
    phi2 = 1.4 * phi if phi2 is None else phi2
    # BOIN 2.7.2: phi1 and phi2 at least 0.1 x target away from it, the rule declared once with the options
    # (decisions D-19.1115, D-19.1116)
    if problems := boin_option_problems(phi, phi1, phi2):
        raise OptionError(problems)
    lambda_e = math.log((1 - phi1) / (1 - phi)) / math.log(phi * (1 - phi1) / (phi1 * (1 - phi)))
    lambda_d = math.log((1 - phi) / (1 - phi2)) / math.log(phi2 * (1 - phi) / (phi * (1 - phi2)))
    return lambda_e, lambda_d


class Boin(IntervalDesign):
    """BOIN (Liu & Yuan 2015; R `BOIN` 2.7.2), decisions exactly as coded in `get.oc`
    (``docs/science/dose-escalation.md``
    4.2-4.3).

    Escalate when y <= floor(lambda_e n); de-escalate when y/n > lambda_d (`deescalate_inequality="strict"`,
    as coded: y >= ceiling(lambda_d n), or round(lambda_d n) + 1 when lambda_d n is an integer) or y/n >=
    lambda_d ("non_strict", as the help text says); de-escalation count capped at the elimination count.
    Elimination needs n >= 3 and P(p > target) > `cutoff_eliminate` (0.95). `extrasafe`: also stop when
    n_1 >= 3 and P(p_1 > target) > cutoff - `offset` (0.05; below 0.5 as BOIN 2.7.2 `get.oc` requires, and
    below the cut-off so that the threshold is a probability > 0: D-19.1113). `bound_mtd`: BOIN ``boundMTD``.
    BOIN's ``n.earlystop`` is the behaviour `StopWhenNAtDose(n, requires_stay=True)`.

    >>> Boin(5, 0.3).fit("1NNN 2NTN").next_dose  # 1/3 > lambda_e = 0.236, < lambda_d = 0.359: stay
    2
    """

    name = "boin"

    def __init__(
        self,
        n_doses: int,
        target: float,
        *,
        cohort_size: int = 3,
        start_dose: int = 1,
        phi1: float | None = None,
        phi2: float | None = None,
        cutoff_eliminate: float = 0.95,
        extrasafe: bool = False,
        offset: float = 0.05,
        deescalate_inequality: Literal["strict", "non_strict"] = "strict",
        bound_mtd: bool = False,
    ) -> None:
        self.n_doses = check_n_doses(n_doses)
        self.target = check_target(target)
        check_options(
            {
                "phi1": phi1,
                "phi2": phi2,
                "offset": offset,
                "deescalate_inequality": deescalate_inequality,
                "extrasafe": extrasafe,
                "bound_mtd": bound_mtd,
            },
            optional=("phi1", "phi2"),
        )
        self.phi1 = 0.6 * self.target if phi1 is None else phi1
        self.phi2 = 1.4 * self.target if phi2 is None else phi2
        self.cutoff_eliminate = _check_cutoff(cutoff_eliminate)
        # the rules between BOIN's options, declared once with them (phi1/phi2 a tenth of the target away,
        # the extrasafe threshold cutoff_eliminate - offset > 0), every problem at once (D-19.1116)
        if problems := boin_option_problems(
            self.target, phi1, phi2, extrasafe=extrasafe, offset=offset, cutoff_eliminate=cutoff_eliminate
        ):
            raise OptionError(problems)
        self.lambda_e, self.lambda_d = boin_boundaries(self.target, self.phi1, self.phi2)
        _check_cohort(cohort_size, start_dose, self.n_doses)
        self.cohort_size = cohort_size
        self.start_dose = start_dose
        self.extrasafe = extrasafe
        self.offset = offset
        self.deescalate_inequality = deescalate_inequality
        self.bound_mtd = bound_mtd

    def options(self) -> dict[str, Any]:
        return {
            **self._common_options(),
            "phi1": self.phi1,
            "phi2": self.phi2,
            "lambda_e": self.lambda_e,
            "lambda_d": self.lambda_d,
            "extrasafe": self.extrasafe,
            "offset": self.offset,
            "deescalate_inequality": self.deescalate_inequality,
            "bound_mtd": self.bound_mtd,
        }

    def escalate_max(self, n: int) -> int:
        """Escalate if DLTs <= this (floor(lambda_e n); tolerance 1e-12 for exact products)."""
        return math.floor(self.lambda_e * n + _TOL)

    def deescalate_min(self, n: int) -> int:
        """De-escalate if DLTs >= this (before the cap at the elimination count)."""
        x = self.lambda_d * n
        if self.deescalate_inequality == "strict":
            return round(x) + 1 if abs(x - round(x)) < _TOL else math.ceil(x)
        return math.ceil(x - _TOL)

    def boundary_row(self, n: int) -> dict[str, int | None]:
        """One column of `get.boundary`: escalate if <=, de-escalate if >=, eliminate if >= (4.4)."""
        elim = elimination_count(self.target_value, n, self.cutoff_eliminate, self.exclusion_min_n)
        dmin = self.deescalate_min(n)
        if elim is not None:
            dmin = min(dmin, elim)
        return {"n": n, "escalate_max": self.escalate_max(n), "deescalate_min": dmin, "eliminate_min": elim}

    def raw_decision(self, n: int, y: int) -> Decision:
        row = self.boundary_row(n)
        if y >= int(row["deescalate_min"] or 0):
            return Decision.DEESCALATE
        if y <= int(row["escalate_max"] or 0):
            return Decision.ESCALATE
        return Decision.STAY

    def raw_decision_table(self, n: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = np.full(n.shape, int(Decision.STAY), dtype=np.int64)
        for nn in range(1, int(n.max()) + 1):
            row = self.boundary_row(nn)
            at = n == nn
            out[at & (y <= int(row["escalate_max"] or 0))] = int(Decision.ESCALATE)
            out[at & (y >= int(row["deescalate_min"] or 0))] = int(Decision.DEESCALATE)
        return out

    def safety_stop(self) -> str | None:
        """Level 1 eliminated, and with `extrasafe` its earlier stop (BOIN 2.7.2; D-19.478)."""
        text = super().safety_stop()
        if self.extrasafe:
            bound = self.cutoff_eliminate - self.offset
            text = f"{text}; extrasafe: P(p_1 > target) > {bound:g} with >= 3 patients at level 1"
        return text

    def extra_stops(self, state: TrialState, proposal: Proposal) -> None:
        if not self.extrasafe:
            return
        n1, y1 = state.n[:, 0], state.y[:, 0]
        unsafe = (
            (state.dose == 0)
            & (n1 >= 3)
            & (prob_above(self.target_value, n1, y1) > self.cutoff_eliminate - self.offset)
        )
        proposal.stop_where(unsafe, StopReason.LOWEST_DOSE_EXTRASAFE)  # its own reason (D-19.1391)

    def bound_mtd_at(self) -> float | None:
        return self.lambda_d if self.bound_mtd else None

    def select_mtd_batch(self, state: TrialState) -> np.ndarray:
        """BOIN `select.mtd`; with `extrasafe`, no MTD when n_1 >= 3 and P(p_1 > target) > cutoff - offset."""
        mtd = super().select_mtd_batch(state)
        if self.extrasafe:
            n1, y1 = state.n[:, 0], state.y[:, 0]
            unsafe = (n1 >= 3) & (prob_above(self.target_value, n1, y1) > self.cutoff_eliminate - self.offset)
            mtd = np.where(unsafe, -1, mtd)
        return mtd


def _mtpi2_intervals(target: float, eps1: float, eps2: float) -> tuple[np.ndarray, int]:
    """Interval edges tiling [0, 1] with the EI [target - eps1, target + eps2] and same-width pieces
    (truncated at 0 and 1); returns (edges, index of the EI)."""
    width = eps1 + eps2
    low, high = target - eps1, target + eps2
    below: list[float] = []
    edge = low
    while edge > _TOL:
        below.append(edge)
        edge -= width
    above: list[float] = []
    edge = high
    while edge < 1 - _TOL:
        above.append(edge)
        edge += width
    edges = np.array([0.0, *reversed(below), *above, 1.0])
    return edges, len(below)


class _EquivalenceIntervalDesign(IntervalDesign):
    """An interval design around the equivalence interval [target - eps1, target + eps2] (mTPI-2, i3+3):
    the shared parameters and their checks."""

    def __init__(
        self,
        n_doses: int,
        target: float,
        *,
        eps1: float = 0.05,
        eps2: float = 0.05,
        cohort_size: int = 3,
        start_dose: int = 1,
        cutoff_eliminate: float = 0.95,
        exclusion_min_n: int = 3,
    ) -> None:
        self.n_doses = check_n_doses(n_doses)
        self.target = check_target(target)
        check_options({"eps1": eps1, "eps2": eps2, "exclusion_min_n": exclusion_min_n})
        _check_eps(self.target, eps1, eps2)
        self.eps1, self.eps2 = eps1, eps2
        self.cutoff_eliminate = _check_cutoff(cutoff_eliminate)
        _check_cohort(cohort_size, start_dose, self.n_doses)
        self.cohort_size = cohort_size
        self.start_dose = start_dose
        self.exclusion_min_n = exclusion_min_n

    def options(self) -> dict[str, Any]:
        return {**self._common_options(), "eps1": self.eps1, "eps2": self.eps2}


class Mtpi2(_EquivalenceIntervalDesign):
    """mTPI-2 (Guo et al. 2017) as in R `escalation` 0.2.3 `mtpi2_selector` (docs/science/dose-escalation.md
    §5).

    Posterior Beta(1 + y, 1 + n - y); the unit probability mass (mass / truncated width) of the intervals
    tiling [0, 1] around the equivalence interval [target - eps1, target + eps2]; E, S or D as the
    interval of largest UPM lies below, is, or lies above the EI (ties: the lower interval). DU when
    P(p > target) > `cutoff_eliminate` (xi) and n >= `exclusion_min_n` (default 3 [P]; 0 = `escalation`).

    >>> Mtpi2(5, 0.3).fit("1NNN 2NTT").next_dose
    1
    """

    name = "mtpi2"

    @cached_property
    def intervals(self) -> tuple[np.ndarray, int]:
        return _mtpi2_intervals(self.target_value, self.eps1, self.eps2)

    def unit_probability_mass(self, n: int, y: int) -> np.ndarray:
        edges, _ = self.intervals
        cdf = stats.beta.cdf(edges, 1 + y, 1 + n - y)
        return np.diff(cdf) / np.diff(edges)

    def raw_decision(self, n: int, y: int) -> Decision:
        _, ei = self.intervals
        best = int(np.argmax(self.unit_probability_mass(n, y)))
        if best < ei:
            return Decision.ESCALATE
        if best == ei:
            return Decision.STAY
        return Decision.DEESCALATE


class I3plus3(_EquivalenceIntervalDesign):
    """i3+3 (Liu, Wang & Ji 2020) as in R `FIND` `get_decision_i3plus3` (docs/science/dose-escalation.md §6).

    y/n below the EI: E; inside [target - eps1, target + eps2] (inclusive): S; above: S if (y - 1)/n is below
    the EI, else D. DU when P(p > target) > 0.95 under Beta(1, 1) and n >= `exclusion_min_n` (default 3 [U]).

    >>> I3plus3(5, 0.3).fit("1NNN 2NTT").next_dose  # 2/3 above the EI, 1/3 too: de-escalate
    1
    """

    name = "i3+3"

    def raw_decision(self, n: int, y: int) -> Decision:
        low = self.target_value - self.eps1
        high = self.target_value + self.eps2
        rate = y / n
        if rate < low - _TOL:
            return Decision.ESCALATE
        if rate <= high + _TOL:
            return Decision.STAY
        return Decision.STAY if (y - 1) / n < low - _TOL else Decision.DEESCALATE


def _check_eps(target: float, eps1: float, eps2: float) -> None:
    """The equivalence interval lies inside (0, 1) (each half-width is checked by its declaration)."""
    if not (target - eps1 > 0 and target + eps2 < 1):
        raise InputError(
            Problem(
                "the equivalence interval must lie inside (0, 1)",
                field="eps1/eps2",
                value=(eps1, eps2),
                allowed=f"0 < {target} - eps1, {target} + eps2 < 1",
            )
        )


class TableDesign(IntervalDesign):
    """An interval design driven by a user-supplied decision table {(n, y): "E"|"S"|"D"|"DU"}
    (docs/science/dose-escalation.md §6, last paragraph). Cells not given default to S; DU cells eliminate.

    >>> TableDesign(3, 0.3, {(3, 0): "E", (3, 3): "DU"}).fit("1NNN").next_dose
    2
    """

    name = "table"

    def __init__(
        self,
        n_doses: int,
        target: float,
        table: Mapping[tuple[int, int], str],
        *,
        cohort_size: int = 3,
        start_dose: int = 1,
    ) -> None:
        self.n_doses = check_n_doses(n_doses)
        self.target = check_target(target)
        codes = {
            "E": Decision.ESCALATE,
            "S": Decision.STAY,
            "D": Decision.DEESCALATE,
            "DU": Decision.ELIMINATE,
        }
        problems = [
            Problem("unknown decision in the table", field=f"table[{k}]", value=v, allowed="E, S, D, DU")
            for k, v in table.items()
            if v not in codes
        ]
        problems += [
            Problem(
                "a table cell needs n patients and y DLTs with 1 <= n and 0 <= y <= n",
                field="table",
                value=k,
                allowed="(n, y) integers, 0 <= y <= n, n >= 1",
            )
            for k in table
            if not (
                isinstance(k, tuple)
                and len(k) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) for v in k)
                and 0 <= k[1] <= k[0]
                and k[0] >= 1
            )
        ]
        if problems:
            raise InputError(problems)
        self.table = {k: codes[v] for k, v in table.items()}
        _check_cohort(cohort_size, start_dose, self.n_doses)
        self.cohort_size = cohort_size
        self.start_dose = start_dose

    def options(self) -> dict[str, Any]:
        return {
            **self._common_options(),
            "table": {f"{n},{y}": Decision(v).code for (n, y), v in self.table.items()},
        }

    def eliminates(self, n: int, y: int) -> bool:
        return self.table.get((n, y)) == Decision.ELIMINATE

    def safety_stop(self) -> str | None:
        """Level 1 eliminated by a DU cell of the table; None for a table without one (D-19.478)."""
        if Decision.ELIMINATE not in self.table.values():
            return None
        return "level 1 eliminated by a DU cell of the decision table: stop, no dose recommended"

    def elimination_table(self, n: np.ndarray, y: np.ndarray, prob: np.ndarray) -> np.ndarray:
        out = np.zeros(n.shape, dtype=bool)
        for (nn, yy), code in self.table.items():
            if code == Decision.ELIMINATE and nn < n.shape[0] and yy < n.shape[1]:
                out[nn, yy] = True
        return out

    def raw_decision(self, n: int, y: int) -> Decision:
        return self.table.get((n, y), Decision.STAY)


__all__ = [
    "Boin",
    "I3plus3",
    "IntervalDesign",
    "Mtpi2",
    "TableDesign",
    "boin_boundaries",
    "elimination_count",
    "prob_above",
]
