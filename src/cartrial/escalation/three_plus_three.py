"""The 3+3 design in both variants, with exact operating characteristics by enumeration.

Source: docs/science/dose-escalation.md §3 (Storer 1989; Reiner 1999; Korn et al. 1994; Chang et al. 2006;
rules as in R `escalation`, `bcrm::threep3`, `FIND`, Python `clintrials`).

At the current level d after each cohort: 0/3 or <= 1/6 ("cleared"): escalate, unless d is the top level,
d+1 is exceeded or d+1 already has 6 patients, in which case stop with MTD = d; 1/3: treat 3 more at d;
>= 2 DLTs ("exceeded"): variant ``escalation_only`` (A) stops with MTD = d-1; variant ``deescalation`` (B)
de-escalates to d-1 when it has fewer than 6 patients, otherwise stops; MTD = the highest level with 6
patients and <= 1 DLT (Korn), or the top level after 0/3 there. A level with >= 2 DLTs is never re-entered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from cartrial.binomial import clopper_pearson
from cartrial.errors import InputError, Problem
from cartrial.escalation.design import (
    Decision,
    Design,
    DoseEstimate,
    Proposal,
    StopReason,
    TrialState,
    check_n_doses,
)
from cartrial.escalation.outcomes import Outcomes, format_outcomes
from cartrial.protocol.design_options import OPTIONS, check_options

Variant = Literal["escalation_only", "deescalation"]
IncompleteCohort = Literal["decide", "complete"]
VARIANTS: tuple[str, ...] = OPTIONS["variant"].choices


class ThreePlusThree(Design):
    """3+3 (docs/science/dose-escalation.md §3).

    `variant`: ``"deescalation"`` (B, default [P]: ensures 6 patients at the declared MTD below the top
    level, the form of most current protocols) or ``"escalation_only"`` (A). `require_six_at_top`
    (default False, as the reference implementations): expand the top level to 6 before declaring it.
    `start_dose` > 1 is outside section 3 (every reference starts at level 1) [P]: in variant B a level
    reached by de-escalation that shows 0/3 below an exceeded level gets 3 more (Korn's 6 at the MTD) instead
    of stopping without an MTD; in variant A an exceeded start level gives no MTD (level d-1 is untested).

    >>> ThreePlusThree(3).fit("1NNN 2NTN").next_dose  # 1/3: treat 3 more at level 2
    2
    """

    name = "3+3"

    def __init__(
        self,
        n_doses: int,
        *,
        variant: Variant = "deescalation",
        require_six_at_top: bool = False,
        start_dose: int = 1,
        incomplete_cohort: IncompleteCohort = "decide",
    ) -> None:
        self.n_doses = check_n_doses(n_doses)
        check_options(
            {
                "variant": variant,
                "start_dose": start_dose,
                "incomplete_cohort": incomplete_cohort,
                "require_six_at_top": require_six_at_top,
            }
        )
        if not 1 <= start_dose <= self.n_doses:
            raise InputError(
                Problem(
                    "start dose outside the design",
                    field="start_dose",
                    value=start_dose,
                    allowed=f"1..{self.n_doses}",
                )
            )
        self.incomplete_cohort: IncompleteCohort = incomplete_cohort
        self.variant: Variant = variant
        self.require_six_at_top = require_six_at_top
        self.cohort_size = 3
        self.start_dose = start_dose

    def options(self) -> dict[str, Any]:
        return {
            "n_doses": self.n_doses,
            "variant": self.variant,
            "require_six_at_top": self.require_six_at_top,
            "cohort_size": 3,
            "start_dose": self.start_dose,
            "incomplete_cohort": self.incomplete_cohort,
        }

    def update_eliminated(self, state: TrialState, active: np.ndarray) -> None:
        rows = np.arange(state.trials)
        d = np.maximum(state.dose, 0)
        hit = active & (state.dose >= 0) & (state.y[rows, d] >= 2)
        if self.incomplete_cohort == "complete":
            hit &= state.n[rows, d] % 3 == 0
        if hit.any():
            levels = np.arange(state.n_doses)
            state.eliminated |= hit[:, None] & (levels[None, :] >= d[:, None])

    def propose(self, state: TrialState) -> Proposal:
        k = state.n_doses
        rows = np.arange(state.trials)
        d = state.dose
        n_d, y_d = state.n[rows, d], state.y[rows, d]
        up = np.minimum(d + 1, k - 1)
        down = np.maximum(d - 1, 0)
        exceeded = y_d >= 2
        if self.incomplete_cohort == "complete":
            exceeded &= n_d % 3 == 0  # R escalation 0.2.3: the cohort of 3 is completed before deciding
        cleared = ~exceeded & (((y_d == 0) & (n_d >= 3)) | ((y_d <= 1) & (n_d >= 6)))
        top = d == k - 1
        blocked_above = top | state.eliminated[rows, up] | (state.n[rows, up] >= 6)
        hold_top = cleared & top & self.require_six_at_top & (n_d < 6)
        if self.variant == "deescalation":
            # Korn: the declared MTD has 6 patients. Only reachable with start_dose > 1 (de-escalation into an
            # untreated level, 0/3 there, level above exceeded): treat 3 more rather than stop without MTD.
            hold_top |= cleared & ~top & state.eliminated[rows, up] & (n_d < 6)
        escalate = cleared & ~blocked_above
        complete = cleared & blocked_above & ~hold_top
        decision = np.full(state.trials, int(Decision.STAY))
        decision[escalate | complete] = int(Decision.ESCALATE)  # cleared; at the top or blocked: stop
        decision[exceeded] = int(Decision.ELIMINATE)
        nxt = np.where(escalate, d + 1, d)
        stop = np.zeros(state.trials, dtype=bool)
        reason = np.zeros(state.trials, dtype=np.int64)
        proposal = Proposal(nxt, stop, reason, decision)
        proposal.stop_where(complete, StopReason.RULE_COMPLETE)
        proposal.stop_where(exceeded & (d == 0), StopReason.LOWEST_DOSE_ELIMINATED)
        if self.variant == "escalation_only":
            proposal.stop_where(exceeded, StopReason.RULE_COMPLETE)
        else:
            go_down = exceeded & (d > 0) & (state.n[rows, down] < 6)
            proposal.next_dose = np.where(go_down & ~proposal.stop, down, proposal.next_dose)
            proposal.stop_where(exceeded & ~go_down, StopReason.RULE_COMPLETE)
        return proposal

    def check_history(self, outcomes: Outcomes) -> None:
        """Refuse a history the 3+3 rule cannot produce: a cohort at another level than the rule gave after
        the previous cohorts (escalation after 1/3, skipping, more than 6 at a level, a first cohort away
        from the start dose) or treated after the rule stopped. R `escalation` refuses such histories too
        (`enforce_three_plus_three`, called by `three_plus_three(strict_mode = TRUE)`: more than 6 at a
        dose, skipped doses, incomplete intermediate cohorts stop with an error)."""
        state = TrialState.empty(1, self.n_doses)
        outcomes.counts(self.n_doses)  # validates the levels
        active = np.ones(1, dtype=bool)
        for number, (level, patients) in enumerate(outcomes.cohorts(), start=1):
            proposal = self.decide(state)
            expected = int(proposal.next_dose[0]) + 1
            if bool(proposal.stop[0]) or expected != level:
                done = format_outcomes(
                    Outcomes(tuple(p for p in outcomes.patients if p.cohort < patients[0].cohort))
                )
                why = (
                    f"the 3+3 rule stopped after {done!r}"
                    if bool(proposal.stop[0])
                    else f"the 3+3 rule gives level {expected} after {done or 'no patients'!r}"
                )
                raise InputError(
                    Problem(
                        f"cohort {number} at level {level} is not a 3+3 history: {why}",
                        field="outcomes",
                        value=format_outcomes(outcomes),
                        allowed="a history the 3+3 rule produces",
                    )
                )
            state.n[0, level - 1] += len(patients)
            state.y[0, level - 1] += sum(p.dlt for p in patients)
            state.dose[0] = level - 1
            if state.n[0, level - 1] > 6:
                raise InputError(
                    Problem(
                        f"cohort {number}: more than 6 patients at level {level} is not a 3+3 history",
                        field="outcomes",
                        value=format_outcomes(outcomes),
                        allowed="at most 6 patients per level",
                    )
                )
            self.update_eliminated(state, active)

    def select_mtd_batch(self, state: TrialState) -> np.ndarray:
        return three_plus_three_mtd(state.n, state.y, state.eliminated, self.variant)

    def safety_stop(self) -> str | None:
        """Level 1 exceeded (>= 2 DLTs there): stop with no MTD (D-19.478)."""
        return ">= 2 DLTs at level 1 (3+3 rule): stop, no MTD"

    def mtd_rule(self) -> str:
        if self.variant == "escalation_only":
            return (
                "3+3 escalation only: highest level cleared with 0/3 or <= 1/6 below the first exceeded level"
            )
        return (
            "3+3 with de-escalation: highest level with 6 patients and <= 1 DLT (Korn 1994), "
            "or the top level after 0/3"
        )

    def estimates(self, state: TrialState) -> tuple[DoseEstimate, ...]:
        """Observed DLT rate y/n with the Clopper-Pearson exact 95% interval."""
        result = []
        for i in range(state.n_doses):
            n, y = int(state.n[0, i]), int(state.y[0, i])
            if n == 0:
                result.append(DoseEstimate(i + 1, 0, 0, None, None, None, "untreated"))
                continue
            lo, hi = clopper_pearson(y, n)
            result.append(DoseEstimate(i + 1, n, y, y / n, lo, hi, "observed rate, Clopper-Pearson 95%"))
        return tuple(result)


def three_plus_three_mtd(n: np.ndarray, y: np.ndarray, eliminated: np.ndarray, variant: str) -> np.ndarray:
    """Final 3+3 MTD from the data (0-based, -1 = none) for a batch; the rule of section 3 expressed on the
    final counts (equals the level declared when the trial stops by the rule)."""
    n = np.atleast_2d(n)
    y = np.atleast_2d(y)
    blocked = np.logical_or.accumulate(np.atleast_2d(eliminated), axis=1)
    cleared = ~blocked & (((y == 0) & (n >= 3)) | ((y <= 1) & (n >= 6)))
    if variant == "deescalation":
        k = n.shape[1]
        cleared &= (n >= 6) | (np.arange(k)[None, :] == k - 1)
    k = n.shape[1]
    has = cleared.any(axis=1)
    highest = k - 1 - np.argmax(cleared[:, ::-1], axis=1)
    return np.where(has, highest, -1)


@dataclass(frozen=True)
class _Terminal:
    prob: float
    n: tuple[int, ...]
    y: tuple[int, ...]
    eliminated: tuple[bool, ...]
    expected_dlt: tuple[float, ...]
    reason: StopReason


def enumerate_three_plus_three(
    design: ThreePlusThree, truth: np.ndarray, max_cohorts: int | None = None
) -> list[_Terminal]:
    """All terminal states of a 3+3 trial with their exact probabilities (no Monte Carlo error).

    Cohort outcomes are grouped by what the rule distinguishes (0, 1, >= 2 DLTs; for a second cohort 0 or
    >= 1); the expected DLT count within each group is carried, so mean DLTs per dose are exact.
    """
    k = design.n_doses
    p = [float(v) for v in truth]
    terminals: list[_Terminal] = []
    variant = design.variant

    def walk(
        prob: float, d: int, n: list[int], y: list[int], elim: list[bool], edlt: list[float], cohorts: int
    ) -> None:
        if prob <= 0.0:
            return
        q = p[d]
        if n[d] % 6 == 0 or y[d] != 1:  # a fresh 3 at d (y category: 0, 1, >= 2)
            branches = [(0, (1 - q) ** 3, 0.0), (1, 3 * q * (1 - q) ** 2, 3 * q * (1 - q) ** 2)]
            p2 = 3 * q * q * (1 - q) + q**3
            branches.append((2, p2, 2 * 3 * q * q * (1 - q) + 3 * q**3))
        else:  # second 3 after 1/3: 0 or >= 1 more
            p1 = 1 - (1 - q) ** 3
            branches = [(0, (1 - q) ** 3, 0.0), (1, p1, 3 * q)]
        for added, bprob, mass in branches:
            if bprob <= 0.0:
                continue
            n2, y2, e2, ed2 = list(n), list(y), list(elim), list(edlt)
            n2[d] += 3
            y2[d] = min(y2[d] + added, 2)
            ed2[d] += mass / bprob
            if y2[d] >= 2:
                for j in range(d, k):
                    e2[j] = True
            step(prob * bprob, d, n2, y2, e2, ed2, cohorts + 1)

    def finish(
        prob: float, n: list[int], y: list[int], elim: list[bool], edlt: list[float], reason: StopReason
    ) -> None:
        terminals.append(_Terminal(prob, tuple(n), tuple(y), tuple(elim), tuple(edlt), reason))

    def step(
        prob: float, d: int, n: list[int], y: list[int], elim: list[bool], edlt: list[float], cohorts: int
    ) -> None:
        exceeded = y[d] >= 2
        cleared = not exceeded and ((y[d] == 0 and n[d] >= 3) or (y[d] <= 1 and n[d] >= 6))
        top = d == k - 1
        nxt = d
        if cleared:
            if top and design.require_six_at_top and n[d] < 6:
                nxt = d
            elif variant == "deescalation" and not top and elim[d + 1] and n[d] < 6:
                nxt = d  # Korn: 6 at the declared MTD (only reachable with start_dose > 1)
            elif top or elim[d + 1] or n[d + 1] >= 6:
                return finish(prob, n, y, elim, edlt, StopReason.RULE_COMPLETE)
            else:
                nxt = d + 1
        elif exceeded:
            if d == 0:
                return finish(prob, n, y, elim, edlt, StopReason.LOWEST_DOSE_ELIMINATED)
            if variant == "escalation_only" or n[d - 1] >= 6:
                return finish(prob, n, y, elim, edlt, StopReason.RULE_COMPLETE)
            nxt = d - 1
        if max_cohorts is not None and cohorts >= max_cohorts:
            return finish(prob, n, y, elim, edlt, StopReason.MAX_COHORTS_REACHED)
        walk(prob, nxt, n, y, elim, edlt, cohorts)
        return None

    walk(1.0, design.start_dose - 1, [0] * k, [0] * k, [False] * k, [0.0] * k, 0)
    return terminals


__all__ = ["VARIANTS", "ThreePlusThree", "enumerate_three_plus_three", "three_plus_three_mtd"]
