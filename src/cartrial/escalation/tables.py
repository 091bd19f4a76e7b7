"""Decision tables (escalate / stay / de-escalate / eliminate by n and DLTs) and dose-transition pathways.

Decision tables are generated from each design's own rule (docs/science/dose-escalation.md §4.4 for BOIN's
`get.boundary` layout; sections 3, 5, 6 for 3+3, mTPI-2, i3+3). Pathways enumerate every outcome of the
next k cohorts from the current state and the design's decision after each (the "dose transition
pathways" of the R package `escalation`, `get_dose_paths`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cartrial.allowed import Allowed
from cartrial.errors import ConfigurationError, InputError, OptionError, Problem
from cartrial.escalation.behaviours import BehavingDesign
from cartrial.escalation.design import Decision, Design, Fit, TrialState
from cartrial.escalation.interval import IntervalDesign
from cartrial.escalation.outcomes import Outcomes
from cartrial.escalation.three_plus_three import ThreePlusThree
from cartrial.protocol.design_options import OPTIONS


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

    @property
    def table(self) -> Any:
        """One row per n: escalate_max, deescalate_min, eliminate_min (NA = never) and the decision codes
        by DLT count (``"E S D DU"``), as a `pandas.DataFrame`."""
        import pandas as pd

        frame = pd.DataFrame(
            {
                "n": [r.n for r in self.rows],
                "escalate_max": [r.escalate_max for r in self.rows],
                "deescalate_min": [r.deescalate_min for r in self.rows],
                "eliminate_min": [r.eliminate_min for r in self.rows],
                "decisions": [" ".join(r.decisions) for r in self.rows],
            }
        )
        for column in ("escalate_max", "deescalate_min", "eliminate_min"):
            frame[column] = frame[column].astype("Int64")
        return frame

    def metadata(self) -> dict[str, Any]:
        return {
            "derivation": "cartrial.escalation.decision_table",
            "design": self.design,
            "options": self.options,
            "legend": self.legend,
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


#: Largest n of a decision table: the table has (n + 1)(n + 2)/2 cells, each a posterior computation
#: (mTPI-2: a Beta distribution function per interval); 200 is far above any phase I cohort at one dose.
MAX_TABLE_N = 200


def check_table_size(max_n: int, cohort_size: int = 1) -> int:
    """Refuse a decision table of `max_n` patients outside `cohort_size`..`MAX_TABLE_N` before anything is
    computed: the one bound of `max_n` (decisions D-19.1114, D-19.1118). The table tabulates n =
    cohort_size, 2 cohort_size, ... <= max_n, so fewer patients than one cohort would give no column; its
    size grows with the square of n.

    >>> check_table_size(30, 3)
    30
    """
    if isinstance(max_n, bool) or not isinstance(max_n, int) or not cohort_size <= max_n <= MAX_TABLE_N:
        raise InputError(
            Problem(
                f"the decision table tabulates n = {cohort_size}, {2 * cohort_size}, ... patients at a dose "
                f"(cohorts of {cohort_size}), up to {MAX_TABLE_N} (its size grows with the square of n)",
                field="max_n",
                value=max_n,
                allowed=f"{cohort_size} to {MAX_TABLE_N}",
            )
        )
    return max_n


def decision_table(design: Design, max_n: int, cohort_size: int | None = None) -> DecisionTable:
    """Decision table for n = cohort_size, 2 cohort_size, ... <= max_n (every n when cohort_size is 1).

    The design kind is checked first (a CRM has no table, whatever `max_n`), then the cohort size, then
    `max_n` (`check_table_size`).

    >>> from cartrial.escalation import Boin
    >>> t = decision_table(Boin(5, 0.3), 9)
    >>> t.table[["n", "escalate_max", "deescalate_min", "eliminate_min"]].values.tolist()
    [[3, 0, 2, 3], [6, 1, 3, 4], [9, 2, 4, 5]]
    """
    inner = design.inner if isinstance(design, BehavingDesign) else design
    if not isinstance(inner, IntervalDesign | ThreePlusThree):
        raise ConfigurationError(
            f"design {inner.name!r} has no (n, DLT) decision table: its decision depends on all doses' data; "
            "use `escalate paths` to see its decisions"
        )
    size = cohort_size if cohort_size is not None else inner.cohort_size
    if (wrong_size := OPTIONS["cohort_size"].problem(size)) is not None:
        raise OptionError(wrong_size)
    if isinstance(inner, ThreePlusThree):
        size = 3
    check_table_size(max_n, size)
    if isinstance(inner, IntervalDesign):
        table = inner.table_array(max_n)
        rows = tuple(
            DecisionRow(n, tuple(Decision(int(table[n, y])).code for y in range(n + 1)))
            for n in range(size, max_n + 1, size)
        )
        return DecisionTable(inner.name, inner.options(), rows, _LEGEND)
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

    @property
    def table(self) -> Any:
        """One row per pathway step: path (1-based), cohort, dose_level, outcome, next_dose, continue."""
        import pandas as pd

        rows = [
            {
                "path": i + 1,
                "outcomes": " ".join(f"{s.dose_level}{s.outcome}" for s in path),
                **step.as_dict(),
            }
            for i, path in enumerate(self.paths)
            for step in path
        ]
        columns = ["path", "outcomes", "cohort", "dose_level", "outcome", "next_dose", "continue"]
        frame = pd.DataFrame(rows, columns=columns)
        frame["next_dose"] = frame["next_dose"].astype("Int64")
        return frame

    def metadata(self) -> dict[str, Any]:
        data = self.as_dict()
        data.pop("paths")
        return {"derivation": "cartrial.escalation.dose_pathways", **data}

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


#: Most future cohorts a pathway enumeration covers, and most pathways: each pathway is a fitted history,
#: so beyond these the enumeration runs for minutes (the limits of `cartrial escalate paths`, now of the
#: engine too).
MAX_PATH_COHORTS = 6
MAX_PATHS = 50_000
PATH_COHORTS = Allowed(low=1, high=MAX_PATH_COHORTS, integer=True)
"""The number of future cohorts `dose_pathways` enumerates."""


def dose_pathways(
    design: Design, outcomes: Outcomes | str, cohorts: int, cohort_size: int | None = None
) -> DosePathways:
    """All dose-transition pathways for the next `cohorts` cohorts from `outcomes` (DLT order within a
    cohort does not change any implemented design's decision, so each cohort has size + 1 outcomes).
    `cohorts` is `PATH_COHORTS` (1 to 6) and (size + 1)^cohorts at most `MAX_PATHS`, checked first.

    >>> from cartrial.escalation import Boin
    >>> paths = dose_pathways(Boin(5, 0.3), "1NNN 2NTN", 1)
    >>> paths.table[["outcomes", "next_dose"]].values.tolist()
    [['2NNN', 3], ['2NNT', 2], ['2NTT', 1], ['2TTT', 1]]
    """
    size = cohort_size if cohort_size is not None else design.cohort_size
    problems = [
        problem
        for problem in (PATH_COHORTS.problem("cohorts", cohorts), OPTIONS["cohort_size"].problem(size))
        if problem is not None
    ]
    if problems:
        raise OptionError(problems)
    if (size + 1) ** cohorts > MAX_PATHS:
        raise InputError(
            Problem(
                f"too many pathways to enumerate ((cohort size + 1)^cohorts = {(size + 1) ** cohorts})",
                field="cohorts",
                value=cohorts,
                allowed=f"(cohort size + 1)^cohorts ≤ {MAX_PATHS:,}",
            )
        )
    outcomes = design.as_outcomes(outcomes)
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


__all__ = [
    "MAX_PATHS",
    "MAX_PATH_COHORTS",
    "MAX_TABLE_N",
    "PATH_COHORTS",
    "DecisionRow",
    "DecisionTable",
    "DosePathways",
    "PathStep",
    "check_table_size",
    "decision_table",
    "dose_pathways",
]
