"""Composable behaviours applied to any design, in the spirit of decorators (docs/science/dose-escalation.md
§10).

`with_behaviours(design, *behaviours)` returns a design that asks the inner design for its decision and
then lets each behaviour modify it. Dose restrictions (`DontSkipDoses`) are applied first, then every
stopping behaviour; a stop only ever adds a stop flag, so stopping behaviours compose in any order with the
same result. A trial stopped for toxicity recommends no dose. `ExpansionCohort` adds an expansion (or
backfill) cohort at a chosen dose once escalation has ended.

Behaviour names follow the R package `escalation` 0.2.3 (`stop_at_n`, `stop_when_n_at_dose`,
`stop_when_too_toxic`, `dont_skip_doses`) [V for the names; P for this structure].
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from cartrial.allowed import METADATA_KEY, TRUE_FALSE, Allowed, check_fields
from cartrial.errors import InputError, Problem
from cartrial.escalation.design import Design, DoseEstimate, Fit, Proposal, StopReason, TrialState
from cartrial.escalation.interval import prob_above
from cartrial.escalation.outcomes import Outcomes, format_outcomes
from cartrial.protocol.design_options import (
    MAX_DOSE_LEVELS,
    OPTIONS,
    PATIENTS,
    PROBABILITY,
    SAFETY_STOP_MIN_N,
    dose_levels,
)


def _declared(rule: Allowed) -> dict[str, Allowed]:
    """Field metadata: the argument allows what `rule` allows (`cartrial.allowed.check_fields` checks it and
    names the argument as the caller typed it)."""
    return {METADATA_KEY: rule}


_LEVEL = Allowed(low=1, high=MAX_DOSE_LEVELS, integer=True)
"""A 1-based dose level (at most the design's number of levels, checked when the behaviour is applied to a
design: `BehavingDesign`)."""
_PATIENTS = PATIENTS
"""A number of patients (the protocol's expansion cohort is checked by the same rule)."""


class Behaviour(ABC):
    """A modifier of a design's decision; `restricts_dose` behaviours run before stopping behaviours."""

    restricts_dose: bool = False

    @abstractmethod
    def apply(self, design: Design, state: TrialState, proposal: Proposal) -> None:
        """Modify `proposal` in place for every trial of the batch."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Name and parameters, recorded in every output."""


@dataclass(frozen=True)
class StopAtN(Behaviour):
    """Stop when the total number of patients reaches `n` (all patients, including a truncated last
    cohort). The simulator truncates the last cohort so that the total is exactly `n` (BOIN `get.oc`).

    >>> from cartrial.escalation import Boin, with_behaviours
    >>> with_behaviours(Boin(3, 0.3), StopAtN(6)).fit("1NNN 2NNN").continue_
    False
    """

    n: int = dataclasses.field(metadata=_declared(OPTIONS["max_n"].rule))

    def __post_init__(self) -> None:
        check_fields(self)

    def apply(self, design: Design, state: TrialState, proposal: Proposal) -> None:
        proposal.stop_where(state.n.sum(axis=1) >= self.n, StopReason.MAX_N_REACHED)

    def describe(self) -> dict[str, Any]:
        return {"behaviour": "stop_at_n", "n": self.n}


@dataclass(frozen=True)
class StopWhenNAtDose(Behaviour):
    """Stop when `n` patients have been treated at `dose`: ``"recommended"`` (the next dose), ``"any"``, or a
    1-based level. `requires_stay=True` reproduces BOIN 2.7.2 `get.oc` ``n.earlystop``: stop only when the
    next dose equals the current one (stay, de-escalation at level 1, escalation blocked) — the default for
    BOIN in `design_from_spec`; the `escalation` package's rule is `requires_stay=False` (default here)."""

    n: int = dataclasses.field(metadata=_declared(OPTIONS["stop_n_at_dose"].rule))
    dose: Literal["recommended", "any"] | int = dataclasses.field(
        default="recommended",
        metadata=_declared(Allowed(values=("recommended", "any"), low=1, high=MAX_DOSE_LEVELS, integer=True)),
    )
    requires_stay: bool = dataclasses.field(default=False, metadata=_declared(TRUE_FALSE))

    def __post_init__(self) -> None:
        check_fields(self)

    def apply(self, design: Design, state: TrialState, proposal: Proposal) -> None:
        rows = np.arange(state.trials)
        if self.dose == "any":
            reached = (state.n >= self.n).any(axis=1)
        elif self.dose == "recommended":
            reached = state.n[rows, np.maximum(proposal.next_dose, 0)] >= self.n
            reached &= proposal.next_dose >= 0
        else:
            reached = state.n[:, int(self.dose) - 1] >= self.n
        if self.requires_stay:
            reached &= proposal.next_dose == state.dose
        proposal.stop_where(np.asarray(reached, dtype=bool), StopReason.N_AT_DOSE_REACHED)

    def describe(self) -> dict[str, Any]:
        return {
            "behaviour": "stop_when_n_at_dose",
            "n": self.n,
            "dose": self.dose,
            "requires_stay": self.requires_stay,
        }


@dataclass(frozen=True)
class StopWhenTooToxic(Behaviour):
    """Stop with no recommended dose when P(p_dose > threshold) > confidence: under the model posterior for
    CRM designs (Zohar & Chevret 2001), otherwise under Beta(1, 1) with the data at that dose; either only
    once `min_n` patients were treated at that dose (a CRM posterior after one patient is mostly its prior,
    decisions D-19.479). `threshold` None = the design's target.

    >>> from cartrial.escalation import Boin, with_behaviours
    >>> with_behaviours(Boin(3, 0.3), StopWhenTooToxic()).fit("1TTT").continue_
    False
    """

    dose: int = dataclasses.field(default=1, metadata=_declared(_LEVEL))
    threshold: float | None = dataclasses.field(
        default=None, metadata=_declared(dataclasses.replace(PROBABILITY, optional=True))
    )
    confidence: float = dataclasses.field(default=0.95, metadata=_declared(PROBABILITY))
    # at least 1: with no patient at the dose, Beta(1, 1) alone gives P(p > threshold) = 1 - threshold
    min_n: int = dataclasses.field(default=SAFETY_STOP_MIN_N, metadata=_declared(_PATIENTS))

    def __post_init__(self) -> None:
        check_fields(self)

    def apply(self, design: Design, state: TrialState, proposal: Proposal) -> None:
        threshold = self.threshold if self.threshold is not None else design.target
        if threshold is None:
            raise InputError(
                Problem(
                    "stop_when_too_toxic needs a threshold for a design without a target",
                    field="threshold",
                    allowed=PROBABILITY.text(),
                )
            )
        index = self.dose - 1
        inner = design
        while isinstance(inner, BehavingDesign):
            inner = inner.inner
        prob_method = getattr(inner, "prob_toxicity_above", None)
        if prob_method is not None:
            prob = prob_method(state, index, threshold)
        else:
            prob = prob_above(threshold, state.n[:, index], state.y[:, index])
        # not before `min_n` patients at the dose: a CRM posterior after one DLT is the prior's (D-19.479)
        too_toxic = np.asarray((prob > self.confidence) & (state.n[:, index] >= self.min_n))
        proposal.stop_where(too_toxic, StopReason.LOWEST_DOSE_TOO_TOXIC)

    def describe(self) -> dict[str, Any]:
        return {
            "behaviour": "stop_when_too_toxic",
            "dose": self.dose,
            "threshold": self.threshold,
            "confidence": self.confidence,
            "min_n": self.min_n,
        }


@dataclass(frozen=True)
class DontSkipDoses(Behaviour):
    """Never escalate more than one level above a reference level (`when_escalating`), and optionally never
    more than one level below the current dose (`when_deescalating`).

    `relative_to` (the reference of the escalation cap):
    - ``"current"`` (default): the dose of the latest cohort + 1 — R `escalation` 0.2.3
      `dont_skip_doses(when_escalating = TRUE)` (caps at the last dose given + 1) and R `dfcrm` 0.2-2.1
      `crmsim(restrict = TRUE)` rule (1). After ``1NNN 2NNN 3NNN 4TTT 2NNN`` the cap is level 3.
    - ``"highest_tried"``: the highest level tried so far + 1 (the rule of cartrial 0.1.0); after the history
      above the cap is level 5, so a model may return to level 4 directly.

    `restrict_mtd` (default True): the final MTD is not a level this rule makes inadmissible either (a
    model-based estimator may otherwise name an untried level two or more above the highest tried);
    docs/science/dose-escalation.md §10 invariant "an eliminated or otherwise inadmissible level is never
    recommended, as next dose or as MTD". False: the MTD is selected over every non-eliminated level, as
    R `dfcrm` (`crm()$mtd`) and R `escalation` do.

    >>> from cartrial.escalation import Crm, with_behaviours
    >>> crm = Crm([0.05, 0.1, 0.2, 0.3, 0.4], 0.3, cohort_size=3)
    >>> with_behaviours(crm, DontSkipDoses()).fit("1NNN 2NNN 3NNN 4TTT 2NNN").next_dose
    3
    """

    when_escalating: bool = dataclasses.field(default=True, metadata=_declared(TRUE_FALSE))
    when_deescalating: bool = dataclasses.field(default=False, metadata=_declared(TRUE_FALSE))
    restrict_mtd: bool = dataclasses.field(default=True, metadata=_declared(TRUE_FALSE))
    relative_to: Literal["current", "highest_tried"] = dataclasses.field(
        default="current", metadata=_declared(OPTIONS["skip_rule"].rule)
    )
    restricts_dose = True

    def __post_init__(self) -> None:
        check_fields(self)

    def ceiling(self, design: Design, state: TrialState) -> np.ndarray:
        """Per trial, the highest admissible level (0-based) under the escalation rule (before the first
        cohort: the start dose)."""
        reference = state.dose if self.relative_to == "current" else state.highest_tried()
        return np.maximum(reference + 1, design.start_dose - 1)

    def apply(self, design: Design, state: TrialState, proposal: Proposal) -> None:
        live = proposal.next_dose >= 0
        nxt = proposal.next_dose
        if self.when_escalating:
            nxt = np.where(live, np.minimum(nxt, self.ceiling(design, state)), nxt)
        if self.when_deescalating:
            floor = np.maximum(state.dose - 1, 0)
            nxt = np.where(live & (state.dose >= 0), np.maximum(nxt, floor), nxt)
        proposal.next_dose = nxt

    def describe(self) -> dict[str, Any]:
        return {
            "behaviour": "dont_skip_doses",
            "when_escalating": self.when_escalating,
            "when_deescalating": self.when_deescalating,
            "restrict_mtd": self.restrict_mtd,
            "relative_to": self.relative_to,
        }


@dataclass(frozen=True)
class CoherentEscalation(Behaviour):
    """No escalation immediately after a cohort with a DLT (coherence: Cheung 2005, Biometrika 92:863;
    the `restrict = TRUE` rule (2) of `dfcrm::crmsim` 0.2-2.1). Typically combined with `DontSkipDoses`
    for CRM.

    >>> from cartrial.escalation import Crm, with_behaviours
    >>> with_behaviours(Crm([0.05, 0.1, 0.2, 0.3, 0.4], 0.3), CoherentEscalation()).fit("1N 1T").next_dose
    1
    """

    restricts_dose = True

    def apply(self, design: Design, state: TrialState, proposal: Proposal) -> None:
        if state.last_cohort_dlts is None:
            return
        had_dlt = (state.last_cohort_dlts > 0) & (state.dose >= 0) & (proposal.next_dose >= 0)
        proposal.next_dose = np.where(had_dlt, np.minimum(proposal.next_dose, state.dose), proposal.next_dose)

    def describe(self) -> dict[str, Any]:
        return {"behaviour": "coherent_escalation"}


@dataclass(frozen=True)
class ExpansionCohort(Behaviour):
    """After escalation ends (other than for toxicity), treat `n_patients` more at `dose` (``"mtd"`` = the
    final MTD of the escalation phase, or a 1-based level). With a fixed level and `cap_at_mtd` (default
    True [P]), the expansion dose is never above the escalation-phase MTD, and there is no expansion when no
    MTD was found. The MTD is selected from the escalation-phase data; expansion patients are reported in
    the per-dose counts.

    >>> from cartrial.escalation import ThreePlusThree, with_behaviours
    >>> fit = with_behaviours(ThreePlusThree(2), ExpansionCohort(3)).fit("1NNN 2NNN")
    >>> fit.decision, fit.next_dose
    ('expansion', 2)
    """

    n_patients: int = dataclasses.field(metadata=_declared(_PATIENTS))
    dose: Literal["mtd"] | int = dataclasses.field(
        default="mtd", metadata=_declared(Allowed(values=("mtd",), low=1, high=MAX_DOSE_LEVELS, integer=True))
    )
    cap_at_mtd: bool = dataclasses.field(default=True, metadata=_declared(TRUE_FALSE))

    def __post_init__(self) -> None:
        check_fields(self)

    def level_for(self, mtd: np.ndarray) -> np.ndarray:
        """0-based expansion dose per trial given the 0-based MTD (-1 = none)."""
        if self.dose == "mtd":
            return mtd
        fixed = np.full(mtd.shape, int(self.dose) - 1)
        if not self.cap_at_mtd:
            return fixed
        return np.where(mtd < 0, -1, np.minimum(fixed, mtd))

    def apply(self, design: Design, state: TrialState, proposal: Proposal) -> None:
        return None  # handled by BehavingDesign.fit and the simulator

    def describe(self) -> dict[str, Any]:
        return {
            "behaviour": "expansion_cohort",
            "n_patients": self.n_patients,
            "dose": self.dose,
            "cap_at_mtd": self.cap_at_mtd,
        }


class BehavingDesign(Design):
    """A design wrapped by behaviours; itself a `Design`, so it can be wrapped again."""

    def __init__(self, inner: Design, behaviours: tuple[Behaviour, ...]) -> None:
        self.inner = inner
        self.behaviours = tuple(b for b in behaviours if not isinstance(b, ExpansionCohort))
        expansions = [b for b in behaviours if isinstance(b, ExpansionCohort)]
        if len(expansions) > 1:
            raise InputError(
                Problem(
                    "at most one expansion cohort",
                    field="behaviours",
                    value=len(expansions),
                    allowed=Allowed(values=(0, 1)).text(),
                )
            )
        self.expansion: ExpansionCohort | None = expansions[0] if expansions else None
        # a level named by a behaviour must be a level of this design (the behaviour alone allows up to
        # MAX_DOSE_LEVELS): refused here rather than as an IndexError when the behaviour is applied
        levels = dose_levels(inner.n_doses)
        named: list[tuple[Any, str, str]] = [
            (b.dose, "dose", "dose outside the design")
            for b in self.behaviours
            if isinstance(b, StopWhenTooToxic | StopWhenNAtDose)
        ]
        if self.expansion is not None:
            named.append((self.expansion.dose, "expansion.dose", "expansion dose outside the design"))
        for dose, field, message in named:
            if isinstance(dose, int) and (problem := levels.problem(field, dose)) is not None:
                raise InputError(dataclasses.replace(problem, message=message))
        self.name = inner.name
        self.n_doses = inner.n_doses
        self.cohort_size = inner.cohort_size
        self.start_dose = inner.start_dose
        self.target = inner.target

    @property
    def max_n(self) -> int | None:
        caps = [b.n for b in self.behaviours if isinstance(b, StopAtN)]
        return min(caps) if caps else None

    def for_simulation(self) -> BehavingDesign:
        convert = getattr(self.inner, "for_simulation", None)
        inner = convert() if convert is not None else self.inner
        extra: tuple[Behaviour, ...] = (self.expansion,) if self.expansion else ()
        return BehavingDesign(inner, self.behaviours + extra)

    def options(self) -> dict[str, Any]:
        described = [b.describe() for b in self.behaviours]
        if self.expansion is not None:
            described.append(self.expansion.describe())
        return {**self.inner.options(), "behaviours": described}

    def update_eliminated(self, state: TrialState, active: np.ndarray) -> None:
        self.inner.update_eliminated(state, active)

    def admissible_mask(self, state: TrialState) -> np.ndarray:
        mask = self.inner.admissible_mask(state).copy()
        for behaviour in self.behaviours:
            if isinstance(behaviour, DontSkipDoses) and behaviour.when_escalating:
                mask &= np.arange(self.n_doses)[None, :] <= behaviour.ceiling(self, state)[:, None]
        return mask

    def step(self, state: TrialState, active: np.ndarray) -> Proposal:
        return self._modify(state, self.inner.step(state, active))

    def propose(self, state: TrialState) -> Proposal:
        return self._modify(state, self.inner.propose(state))

    def _modify(self, state: TrialState, proposal: Proposal) -> Proposal:
        for behaviour in sorted(self.behaviours, key=_application_order):
            behaviour.apply(self, state, proposal)
        return proposal

    def select_mtd_batch(self, state: TrialState) -> np.ndarray:
        mtd = self.inner.select_mtd_batch(state)
        for behaviour in self.behaviours:
            if isinstance(behaviour, DontSkipDoses) and behaviour.when_escalating and behaviour.restrict_mtd:
                # the estimators' distance to the target is unimodal in the level (toxicity increases with
                # dose), so the best admissible level is the ceiling when the unrestricted choice lies above
                mtd = np.where(mtd >= 0, np.minimum(mtd, behaviour.ceiling(self, state)), mtd)
        return mtd

    def mtd_rule(self) -> str:
        return self.inner.mtd_rule()

    def safety_stop(self) -> str | None:
        """The inner design's safety stop and every `StopWhenTooToxic` of the behaviours (D-19.478)."""
        parts = [self.inner.safety_stop()]
        for b in self.behaviours:
            if isinstance(b, StopWhenTooToxic):
                threshold = "the target" if b.threshold is None else f"{b.threshold:g}"
                parts.append(
                    f"stop_when_too_toxic: P(p_{b.dose} > {threshold}) > {b.confidence:g} with >= {b.min_n} "
                    f"patients at level {b.dose}"
                )
        given = [p for p in parts if p]
        return "; ".join(given) if given else None

    def estimates(self, state: TrialState) -> tuple[DoseEstimate, ...]:
        return self.inner.estimates(state)

    def check_history(self, outcomes: Outcomes) -> None:
        self.inner.check_history(outcomes)

    def fit(self, outcomes: Outcomes | str) -> Fit:
        outcomes = self.as_outcomes(outcomes)
        if self.expansion is None:
            return super().fit(outcomes)
        cohorts = outcomes.cohorts()
        patients = outcomes.patients
        used = 0
        for index in range(len(cohorts) + 1):
            prefix = Outcomes(patients[:used])
            if index > 0 or used > 0:
                fit = super().fit(prefix)
                if not fit.continue_:
                    return self._expansion_fit(fit, prefix, Outcomes(patients[used:]), outcomes)
            if index < len(cohorts):
                used += len(cohorts[index][1])
        return super().fit(outcomes)

    def _expansion_fit(
        self, escalation: Fit, phase: Outcomes, expansion: Outcomes, everything: Outcomes
    ) -> Fit:
        assert self.expansion is not None
        mtd = escalation.select_mtd().dose_level
        chosen = int(self.expansion.level_for(np.array([-1 if mtd is None else mtd - 1]))[0])
        if chosen < 0:
            if expansion.n_patients:
                raise InputError(
                    Problem(
                        "patients were treated after escalation stopped with no dose for expansion",
                        field="outcomes",
                        value=format_outcomes(expansion),
                    )
                )
            return escalation
        level = chosen + 1
        off = [p for p in expansion.patients if p.dose_level != level]
        if off:
            raise InputError(
                Problem(
                    f"expansion patients must be treated at level {level}",
                    field="outcomes",
                    value=format_outcomes(expansion),
                    allowed=f"level {level}",
                )
            )
        done = expansion.n_patients
        remaining = max(self.expansion.n_patients - done, 0)
        n_all, y_all = everything.counts(self.n_doses)
        reasons = [*escalation.reasons, f"escalation ended after {phase.n_patients} patients"]
        if remaining:
            reasons.append(
                f"expansion cohort at level {level}: {done} of {self.expansion.n_patients} treated, "
                f"{remaining} to go"
            )
        else:
            reasons.append(f"expansion cohort at level {level} complete ({done} patients)")
        full_state = self.replay(everything)
        return dataclasses.replace(
            escalation,
            outcomes=format_outcomes(everything),
            current_dose=everything.patients[-1].dose_level if everything.patients else None,
            decision="expansion" if remaining else escalation.decision,
            next_dose=level if remaining else None,
            continue_=bool(remaining),
            admissible=(level,) if remaining else (),
            n_per_dose=tuple(int(v) for v in n_all),
            dlt_per_dose=tuple(int(v) for v in y_all),
            estimates=self.inner.estimates(full_state),
            reasons=tuple(reasons),
        )


def _application_order(behaviour: Behaviour) -> tuple[int, int]:
    """Dose restrictions first, then safety stops, then the others: the result never depends on the order in
    which the user listed the behaviours (section 10 invariant)."""
    rank = {DontSkipDoses: 0, CoherentEscalation: 0, StopWhenTooToxic: 1, StopAtN: 2, StopWhenNAtDose: 3}
    return (0 if behaviour.restricts_dose else 1, rank.get(type(behaviour), 4))


def with_behaviours(design: Design, *behaviours: Behaviour) -> BehavingDesign:
    """Wrap `design` with behaviours (see the module docstring for the order of application).

    >>> from cartrial.escalation import Boin, StopAtN
    >>> fit = with_behaviours(Boin(5, 0.3), StopAtN(6)).fit("1NNN 2NTN")
    >>> fit.continue_, fit.reasons[-1]
    (False, 'the maximum number of patients is reached')
    """
    if isinstance(design, BehavingDesign):
        extra: tuple[Behaviour, ...] = (design.expansion,) if design.expansion else ()
        return BehavingDesign(design.inner, design.behaviours + extra + tuple(behaviours))
    return BehavingDesign(design, tuple(behaviours))


__all__ = [
    "BehavingDesign",
    "Behaviour",
    "CoherentEscalation",
    "DontSkipDoses",
    "ExpansionCohort",
    "StopAtN",
    "StopWhenNAtDose",
    "StopWhenTooToxic",
    "with_behaviours",
]
