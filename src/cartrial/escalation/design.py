"""The common machinery of every dose-escalation design: batch trial state, proposals, fits, MTD selection.

Every design decides on a *batch* of trials at once (numpy arrays with one row per trial): a live decision
is a batch of one, and Monte Carlo simulation is a batch of thousands, so the rule that drives conduct is
exactly the rule that is simulated. "Next dose" and "final MTD" are separate answers
(docs/science/dose-escalation.md §2): `Fit.next_dose` versus `Fit.select_mtd()`.

Internally dose indices are 0-based; everything returned to callers is 1-based.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np

from cartrial.escalation.outcomes import Outcomes, format_outcomes, parse_outcomes
from cartrial.protocol.design_options import DOSES, TARGET


class StopReason(IntEnum):
    """Why a trial stopped (0 = it continues). Codes are stored per trial in simulations."""

    CONTINUE = 0
    LOWEST_DOSE_ELIMINATED = 1
    RULE_COMPLETE = 2
    MAX_N_REACHED = 3
    N_AT_DOSE_REACHED = 4
    LOWEST_DOSE_TOO_TOXIC = 5
    NO_ADMISSIBLE_DOSE = 6
    #: the simulation's cohort limit (`cohorts`, `max_cohorts`) ended a trial its design had not stopped
    MAX_COHORTS_REACHED = 7
    #: BOIN `extrasafe` (not a `stop_when_too_toxic` behaviour: each stop names its own rule, D-19.1391)
    LOWEST_DOSE_EXTRASAFE = 8

    @property
    def text(self) -> str:
        return _REASON_TEXT[self]

    @property
    def is_safety_stop(self) -> bool:
        """Stopped because no dose is acceptable: such a trial recommends no dose (section 10)."""
        return self in (
            StopReason.LOWEST_DOSE_ELIMINATED,
            StopReason.LOWEST_DOSE_TOO_TOXIC,
            StopReason.NO_ADMISSIBLE_DOSE,
            StopReason.LOWEST_DOSE_EXTRASAFE,
        )


_REASON_TEXT = {
    StopReason.CONTINUE: "continue",
    StopReason.LOWEST_DOSE_ELIMINATED: "lowest dose eliminated as too toxic: stop, no dose recommended",
    StopReason.RULE_COMPLETE: "the design's rule ends escalation and declares the MTD",
    StopReason.MAX_N_REACHED: "the maximum number of patients is reached",
    StopReason.N_AT_DOSE_REACHED: "the required number of patients at the recommended dose is reached",
    StopReason.LOWEST_DOSE_TOO_TOXIC: (
        "the monitored dose is too toxic (stop_when_too_toxic: the lowest dose unless its `dose` names "
        "another): no dose recommended"
    ),
    StopReason.NO_ADMISSIBLE_DOSE: "no admissible dose remains: stop, no dose recommended",
    StopReason.MAX_COHORTS_REACHED: "the simulation's cohort limit is reached before the design stopped",
    StopReason.LOWEST_DOSE_EXTRASAFE: (
        "lowest dose too toxic by BOIN extrasafe (P(p_1 > target) > cutoff_eliminate - offset with >= 3 "
        "patients at level 1; BOIN 2.7.2 get.oc): stop, no dose recommended"
    ),
}


class Decision(IntEnum):
    """Decision at the current dose (``docs/science/dose-escalation.md``: E, S, D, DU)."""

    ESCALATE = 0
    STAY = 1
    DEESCALATE = 2
    ELIMINATE = 3  # DU: de-escalate and eliminate the current and all higher doses

    @property
    def code(self) -> str:
        return ("E", "S", "D", "DU")[self]

    @property
    def text(self) -> str:
        return ("escalate", "stay", "de-escalate", "de-escalate and eliminate")[self]


@dataclass
class TrialState:
    """State of a batch of T trials over K dose levels.

    `n`, `y`: patients and DLTs per dose (T, K); `dose`: 0-based dose of the latest cohort (T,), -1 before
    the first cohort; `eliminated` (T, K): persistent elimination (never re-entered, section 4.3);
    `patients` (batch of one only): the history, for designs that need patient-level data (TITE-CRM).
    """

    n: np.ndarray
    y: np.ndarray
    dose: np.ndarray
    eliminated: np.ndarray
    patients: Outcomes | None = None
    cache: dict[str, Any] = field(default_factory=dict)
    last_cohort_dlts: np.ndarray | None = None

    @classmethod
    def empty(cls, trials: int, n_doses: int) -> TrialState:
        return cls(
            n=np.zeros((trials, n_doses), dtype=np.int64),
            y=np.zeros((trials, n_doses), dtype=np.int64),
            dose=np.full(trials, -1, dtype=np.int64),
            eliminated=np.zeros((trials, n_doses), dtype=bool),
        )

    @property
    def trials(self) -> int:
        return int(self.n.shape[0])

    @property
    def n_doses(self) -> int:
        return int(self.n.shape[1])

    def highest_tried(self) -> np.ndarray:
        """0-based highest dose with any patient, -1 if none (T,)."""
        tried = self.n > 0
        return np.where(tried.any(axis=1), self.n_doses - 1 - np.argmax(tried[:, ::-1], axis=1), -1)

    def row_offsets(self) -> np.ndarray:
        """Flat index of each trial's first dose (row * K), cached: flat indexing is the fast path."""
        offsets = self.cache.get("row_offsets")
        if offsets is None or offsets.shape[0] != self.trials:
            offsets = np.arange(self.trials, dtype=np.int64) * self.n_doses
            self.cache["row_offsets"] = offsets
        return offsets

    def at_current(self, array: np.ndarray) -> np.ndarray:
        rows = np.arange(self.trials)
        return array[rows, np.maximum(self.dose, 0)]


@dataclass
class Proposal:
    """A batch decision: next 0-based dose (-1 = none), stop flag and stop reason per trial, and the decision
    code at the current dose (for display)."""

    next_dose: np.ndarray
    stop: np.ndarray
    reason: np.ndarray
    decision: np.ndarray

    def stop_where(self, mask: np.ndarray, reason: StopReason) -> None:
        """Stop trials in `mask` that are not stopped yet, recording `reason`."""
        new = mask & ~self.stop
        self.stop |= new
        self.reason[new] = int(reason)
        if reason.is_safety_stop:
            self.next_dose[new] = -1


@dataclass(frozen=True)
class DoseEstimate:
    """Toxicity estimate at one 1-based dose level, with its interval and the method that produced it."""

    dose_level: int
    n: int
    dlt: int
    estimate: float | None
    lower: float | None
    upper: float | None
    method: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "dose_level": self.dose_level,
            "n": self.n,
            "dlt": self.dlt,
            "estimate": self.estimate,
            "lower": self.lower,
            "upper": self.upper,
            "method": self.method,
        }


@dataclass(frozen=True)
class MtdSelection:
    """Final MTD selection (separate from the next-dose decision): 1-based level or None, and the rule."""

    dose_level: int | None
    rule: str
    estimates: tuple[float | None, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"mtd": self.dose_level, "rule": self.rule, "estimates": list(self.estimates)}


@dataclass(frozen=True)
class Fit:
    """A design fitted to a trial history: the live decision, the data summary and (separately) the MTD.

    `next_dose` is the 1-based level for the next cohort, or None when the trial stops or no dose is
    acceptable; `continue_` says whether to continue; `admissible` lists the levels the design allows for
    the next cohort; `eliminated` the levels excluded for toxicity for the rest of the trial.
    """

    design: str
    options: dict[str, Any]
    outcomes: str
    current_dose: int | None
    decision: str | None
    next_dose: int | None
    continue_: bool
    admissible: tuple[int, ...]
    eliminated: tuple[int, ...]
    n_per_dose: tuple[int, ...]
    dlt_per_dose: tuple[int, ...]
    estimates: tuple[DoseEstimate, ...]
    reasons: tuple[str, ...]
    _design: Any = field(repr=False, compare=False, default=None)
    _state: Any = field(repr=False, compare=False, default=None)
    _stopped_for_safety: bool = False

    def select_mtd(self) -> MtdSelection:
        """The final MTD estimate from all data so far (never the next dose; section 2)."""
        if self._stopped_for_safety:
            return MtdSelection(None, "stopped for toxicity: no dose is recommended")
        return self._design.select_mtd(self._state)

    def as_dict(self) -> dict[str, Any]:
        mtd = self.select_mtd()
        return {
            "design": self.design,
            "options": self.options,
            "outcomes": self.outcomes,
            "current_dose": self.current_dose,
            "decision": self.decision,
            "next_dose": self.next_dose,
            "continue": self.continue_,
            "admissible": list(self.admissible),
            "eliminated": list(self.eliminated),
            "n": list(self.n_per_dose),
            "dlt": list(self.dlt_per_dose),
            "estimates": [e.as_dict() for e in self.estimates],
            "reasons": list(self.reasons),
            "mtd": mtd.dose_level,
            "mtd_rule": mtd.rule,
        }


class Design(ABC):
    """A dose-escalation design over `n_doses` levels, deciding for a batch of trials at once.

    Subclasses implement `update_eliminated` (after each cohort), `propose` (the next-dose rule),
    `select_mtd_batch` (the final MTD rule) and `estimates`.
    """

    name: str = "design"
    n_doses: int
    cohort_size: int = 3
    start_dose: int = 1
    target: float | None = None

    @abstractmethod
    def options(self) -> dict[str, Any]:
        """Every option value that defines the design (recorded in every output)."""

    def update_eliminated(self, state: TrialState, active: np.ndarray) -> None:  # noqa: B027
        """Mark persistent eliminations after a cohort at `state.dose` (default: none)."""

    @abstractmethod
    def propose(self, state: TrialState) -> Proposal:
        """The design's own next-dose decision for every trial in the batch."""

    @abstractmethod
    def select_mtd_batch(self, state: TrialState) -> np.ndarray:
        """Final MTD per trial, 0-based, -1 for none."""

    @abstractmethod
    def estimates(self, state: TrialState) -> tuple[DoseEstimate, ...]:
        """Toxicity estimates with intervals for a batch of one."""

    def mtd_rule(self) -> str:
        return "final MTD rule of the design"

    def safety_stop(self) -> str | None:
        """The design's rule for stopping for toxicity with no dose recommended, in words; None when it has
        none — a CRM as dfcrm 0.2-2.1 `crm` then keeps treating at, and selects, a too-toxic level 1
        (docs/science/dose-escalation.md §7.2, §10), which its operating characteristics must say
        (D-19.478)."""
        return None

    def admissible_mask(self, state: TrialState) -> np.ndarray:
        """Doses the design allows for the next cohort (T, K): by default, the non-eliminated ones."""
        return ~state.eliminated

    def first_dose(self, state: TrialState) -> Proposal:
        trials = state.trials
        return Proposal(
            next_dose=np.full(trials, self.start_dose - 1, dtype=np.int64),
            stop=np.zeros(trials, dtype=bool),
            reason=np.zeros(trials, dtype=np.int64),
            decision=np.full(trials, -1, dtype=np.int64),
        )

    def step(self, state: TrialState, active: np.ndarray) -> Proposal:
        """After a cohort: update eliminations, then propose (simulation uses this one call)."""
        self.update_eliminated(state, active)
        return self.propose(state)

    def decide(self, state: TrialState) -> Proposal:
        """Proposal for the next cohort, including the start of a trial."""
        if state.trials and (state.dose < 0).all():
            return self.first_dose(state)
        return self.propose(state)

    def select_mtd(self, state: TrialState) -> MtdSelection:
        """Final MTD for a batch of one (1-based)."""
        mtd = int(self.select_mtd_batch(state)[0])
        return MtdSelection(None if mtd < 0 else mtd + 1, self.mtd_rule())

    def replay(self, outcomes: Outcomes) -> TrialState:
        """State after replaying a history cohort by cohort (eliminations are path dependent: section 4.3)."""
        state = TrialState.empty(1, self.n_doses)
        outcomes.counts(self.n_doses)  # validates the levels
        active = np.ones(1, dtype=bool)
        for level, patients in outcomes.cohorts():
            state.n[0, level - 1] += len(patients)
            state.y[0, level - 1] += sum(p.dlt for p in patients)
            state.dose[0] = level - 1
            state.last_cohort_dlts = np.array([sum(p.dlt for p in patients)], dtype=np.int64)
            self.update_eliminated(state, active)
        state.patients = outcomes
        return state

    def check_history(self, outcomes: Outcomes) -> None:  # noqa: B027
        """Refuse a history the design's rule cannot have produced (default: every history is accepted)."""

    def as_outcomes(self, outcomes: Outcomes | str) -> Outcomes:
        """`outcomes` as `Outcomes`; a string is parsed in the standard notation (``"1NNN 2NTN"``)."""
        if isinstance(outcomes, str):
            return parse_outcomes(outcomes, self.n_doses)
        return outcomes

    def fit(self, outcomes: Outcomes | str) -> Fit:
        """Decide the next dose after `outcomes` (an `Outcomes` or the outcome string, as R `escalation`'s
        ``fit(selector, "1NNN 2NTN")``) and summarise the data (``docs/escalation.md``, behaviours).

        >>> from cartrial.escalation import Boin
        >>> fit = Boin(5, 0.3).fit("1NNN 2NTN")
        >>> fit.next_dose, fit.select_mtd().dose_level
        (2, 2)
        """
        outcomes = self.as_outcomes(outcomes)
        self.check_history(outcomes)
        state = self.replay(outcomes)
        proposal = self.decide(state)
        stop = bool(proposal.stop[0])
        reason = StopReason(int(proposal.reason[0]))
        next_index = int(proposal.next_dose[0])
        reasons: list[str] = []
        decision: str | None = None
        ended = stop and reason is StopReason.RULE_COMPLETE
        if int(proposal.decision[0]) >= 0:
            decision = Decision(int(proposal.decision[0])).text
            # the design's rule has ended escalation (3+3: the MTD is declared): the last cohort's decision
            # read alone ("escalate" after 0/3 beside an eliminated level above) is not said, it contradicts
            # the end (D-19.1208)
            if not ended:
                reasons.append(f"decision at the current dose: {decision}")
        if ended:  # nor is it the fit's decision: the escalation has stopped (D-19.1252)
            decision = "stop"
        if ended:
            reasons.append("the trial's escalation has ended: the design's rule declares the MTD")
        elif stop:
            reasons.append(reason.text)
        if not outcomes.patients:
            reasons.append(f"no patients yet: start at level {self.start_dose}")
        elif outcomes.patients[0].dose_level != self.start_dose:  # D-19.256
            reasons.append(
                f"the first cohort was at level {outcomes.patients[0].dose_level}, not at the design's start "
                f"dose {self.start_dose}: the history departs from the design's start"
            )
        admissible = self.admissible_mask(state)[0]
        current = int(state.dose[0])
        return Fit(
            design=self.name,
            options=self.options(),
            outcomes=format_outcomes(outcomes),
            current_dose=None if current < 0 else current + 1,
            decision=decision,
            next_dose=None if stop or next_index < 0 else next_index + 1,
            continue_=not stop,
            admissible=tuple(int(i) + 1 for i in np.flatnonzero(admissible))
            if not reason.is_safety_stop
            else (),
            eliminated=tuple(int(i) + 1 for i in np.flatnonzero(state.eliminated[0])),
            n_per_dose=tuple(int(v) for v in state.n[0]),
            dlt_per_dose=tuple(int(v) for v in state.y[0]),
            estimates=self.estimates(state),
            reasons=tuple(reasons),
            _design=self,
            _state=state,
            _stopped_for_safety=reason.is_safety_stop,
        )


def step_to(state: TrialState, decision: np.ndarray, admissible: np.ndarray) -> np.ndarray:
    """Apply E/S/D/DU at the current dose: escalation into an eliminated level or from the top becomes
    stay; de-escalation from level 1 becomes stay (BOIN 2.7.2 `get.oc`, docs/science/dose-escalation.md
    §4.2)."""
    k = state.n_doses
    d = state.dose
    flat_up = state.row_offsets() + np.minimum(d + 1, k - 1)
    can_up = (d + 1 < k) & admissible.ravel()[flat_up]
    up = (decision == Decision.ESCALATE) & can_up
    down = (decision >= Decision.DEESCALATE) & (d > 0)
    return d + up.astype(np.int64) - down.astype(np.int64)


def check_target(target: float, *, field_name: str = "target") -> float:
    """Validate a target DLT probability: `cartrial.protocol.design_options.TARGET` (0.05 to 0.6, the
    registry's ``target``), refused naming `field_name`."""
    TARGET.check(field_name, target)
    return float(target)


def check_n_doses(n_doses: int) -> int:
    """Validate the number of dose levels: `cartrial.protocol.design_options.DOSES` (1 to
    `MAX_DOSE_LEVELS`)."""
    DOSES.check("doses", n_doses)
    return int(n_doses)


__all__ = [
    "Decision",
    "Design",
    "DoseEstimate",
    "Fit",
    "MtdSelection",
    "Proposal",
    "StopReason",
    "TrialState",
    "check_n_doses",
    "check_target",
    "step_to",
]
