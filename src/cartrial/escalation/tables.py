"""Decision tables (escalate / stay / de-escalate / eliminate by n and DLTs) and dose-transition pathways.

Decision tables are generated from each design's own rule (``dose-escalation.md`` 4.4 for BOIN's
`get.boundary` layout; sections 3, 5, 6 for 3+3, mTPI-2, i3+3). Pathways enumerate every outcome of the
next k cohorts from the current state and the design's decision after each (the "dose transition
pathways" of the R package `escalation`, `get_dose_paths`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cartrial.errors import ConfigurationError, InputError, Problem
from cartrial.escalation.behaviours import BehavingDesign
from cartrial.escalation.design import Decision, Design, Fit, TrialState
from cartrial.escalation.interval import IntervalDesign
from cartrial.escalation.outcomes import Outcomes
from cartrial.escalation.three_plus_three import ThreePlusThree


@dataclass(frozen=True)
class DecisionRow:
    """Decisions for n patients at the current dose, one per DLT count y = 0..n (codes E, S, D, DU)."""

    n: int
    decisions: tuple[str, ...]

    def _first(self, codes: set[str]) -> int | None:
        return next((y for y, c in enumerate(self.decisions) if c in codes), None)

    @property
    def escalate_max(self) -> int | None:
        """Escalate if DLTs <= this (None: never)."""
        hits = [y for y, c in enumerate(self.decisions) if c == "E"]
        return max(hits) if hits else None

    @property
    def deescalate_min(self) -> int | None:
        """De-escalate (with or without elimination) if DLTs >= this (None: never)."""
        return self._first({"D", "DU"})

    @property
    def eliminate_min(self) -> int | None:
        """Eliminate the dose and all higher ones if DLTs >= this (None: never)."""
        return self._first({"DU"})

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "decisions": list(self.decisions),
            "escalate_max": self.escalate_max,
            "deescalate_min": self.deescalate_min,
            "eliminate_min": self.eliminate_min,
        }


@dataclass(frozen=True)
class DecisionTable:
    """A design's decision table; `legend` explains the codes for this design."""

    design: str
    options: dict[str, Any]
    rows: tuple[DecisionRow, ...]
    legend: dict[str, str]

    def row(self, n: int) -> DecisionRow:
        for row in self.rows:
            if row.n == n:
                return row
        raise KeyError(n)

    def as_dict(self) -> dict[str, Any]:
        return {
            "design": self.design,
            "options": self.options,
            "legend": self.legend,
            "rows": [r.as_dict() for r in self.rows],
        }


_LEGEND = {
    "E": "escalate",
    "S": "stay",
    "D": "de-escalate",
    "DU": "de-escalate and eliminate this and higher doses",
}
_LEGEND_3PLUS3 = {
    "E": "escalate (dose cleared)",
    "S": "treat 3 more at this dose",
    "DU": "MTD exceeded at this dose (stop or de-escalate by variant)",
}


def decision_table(design: Design, max_n: int, cohort_size: int | None = None) -> DecisionTable:
    """Decision table for n = cohort_size, 2 cohort_size, ... <= max_n (every n when cohort_size is 1)."""
    if max_n < 1:
        raise InputError(Problem("max_n must be ≥ 1", field="max_n", value=max_n, allowed="≥ 1"))
    inner = design.inner if isinstance(design, BehavingDesign) else design
    size = cohort_size if cohort_size is not None else inner.cohort_size
    if size < 1:
        raise InputError(Problem("cohort size must be ≥ 1", field="cohort_size", value=size, allowed="≥ 1"))
    if isinstance(inner, IntervalDesign):
        table = inner.table_array(max_n)
        rows = tuple(
            DecisionRow(n, tuple(Decision(int(table[n, y])).code for y in range(n + 1)))
            for n in range(size, max_n + 1, size)
        )
        return DecisionTable(inner.name, inner.options(), rows, _LEGEND)
    if isinstance(inner, ThreePlusThree):
        rows_3: list[DecisionRow] = []
        probe = ThreePlusThree(max(inner.n_doses, 2), variant=inner.variant)
        for n in (3, 6):
            if n > max_n:
                break
            codes = []
            for y in range(n + 1):
                state = TrialState.empty(1, probe.n_doses)
                state.n[0, 0], state.y[0, 0], state.dose[0] = n, min(y, n), 0
                codes.append(Decision(int(probe.propose(state).decision[0])).code)
            rows_3.append(DecisionRow(n, tuple(codes)))
        return DecisionTable(inner.name, inner.options(), tuple(rows_3), _LEGEND_3PLUS3)
    raise ConfigurationError(
        f"design {inner.name!r} has no (n, DLT) decision table: its decision depends on all doses' data; "
        "use `escalate paths` to see its decisions"
    )


@dataclass(frozen=True)
class PathStep:
    """One cohort on a pathway: its dose, outcome letters, and the design's decision after it."""

    cohort: int
    dose_level: int
    outcome: str
    next_dose: int | None
    continue_: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "cohort": self.cohort,
            "dose_level": self.dose_level,
            "outcome": self.outcome,
            "next_dose": self.next_dose,
            "continue": self.continue_,
        }


@dataclass(frozen=True)
class DosePathways:
    """The current decision and every pathway of the next `cohorts` cohorts."""

    current: Fit
    cohorts: int
    cohort_size: int
    paths: tuple[tuple[PathStep, ...], ...]

    def as_dict(self) -> dict[str, Any]:
        fit = self.current.as_dict()
        return {
            "design": fit["design"],
            "options": fit["options"],
            "outcomes": fit["outcomes"],
            "next_dose": fit["next_dose"],
            "continue": fit["continue"],
            "admissible": fit["admissible"],
            "mtd": fit["mtd"],
            "cohorts": self.cohorts,
            "cohort_size": self.cohort_size,
            "paths": [
                {
                    "outcomes": " ".join(f"{s.dose_level}{s.outcome}" for s in path),
                    "steps": [s.as_dict() for s in path],
                }
                for path in self.paths
            ],
        }


def dose_pathways(
    design: Design, outcomes: Outcomes, cohorts: int, cohort_size: int | None = None
) -> DosePathways:
    """All dose-transition pathways for the next `cohorts` cohorts from `outcomes` (DLT order within a
    cohort does not change any implemented design's decision, so each cohort has size + 1 outcomes)."""
    if cohorts < 1:
        raise InputError(
            Problem("the number of cohorts must be ≥ 1", field="cohorts", value=cohorts, allowed="≥ 1")
        )
    size = cohort_size if cohort_size is not None else design.cohort_size
    if size < 1:
        raise InputError(Problem("cohort size must be ≥ 1", field="cohort_size", value=size, allowed="≥ 1"))
    root = design.fit(outcomes)
    paths: list[tuple[PathStep, ...]] = []

    def grow(history: Outcomes, fit: Fit, prefix: tuple[PathStep, ...], depth: int) -> None:
        if depth == cohorts or not fit.continue_ or fit.next_dose is None:
            if prefix:
                paths.append(prefix)
            return
        level = fit.next_dose
        number = (history.patients[-1].cohort + 1) if history.patients else 1
        for dlts in range(size + 1):
            letters = "N" * (size - dlts) + "T" * dlts
            extended = history.with_cohort(level, [c == "T" for c in letters])
            after = design.fit(extended)
            step = PathStep(number, level, letters, after.next_dose, after.continue_)
            grow(extended, after, (*prefix, step), depth + 1)

    grow(outcomes, root, (), 0)
    return DosePathways(root, cohorts, size, tuple(paths))


__all__ = ["DecisionRow", "DecisionTable", "DosePathways", "PathStep", "decision_table", "dose_pathways"]
