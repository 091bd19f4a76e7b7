"""Trial histories in the standard outcome-string notation (``"1NNN 2NTN"``) and as structured data.

Grammar (docs/science/dose-escalation.md §1, after the R package `escalation` 0.2.3): space-separated cohort
blocks, each the 1-based dose level followed by one letter per patient in order of treatment, ``N`` = no
DLT, ``T`` = DLT; the empty string means no patient treated yet. Dose levels are 1-based everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from cartrial.errors import InputError, Problem
from cartrial.protocol.design_options import dose_levels

_BLOCK = re.compile(r"^([0-9]+)([A-Za-z]+)\Z", re.ASCII)
_ALLOWED = "space-separated blocks of a 1-based dose level followed by N (no DLT) or T (DLT) per patient"


@dataclass(frozen=True)
class PatientOutcome:
    """One treated patient: cohort number (1-based), dose level (1-based), whether a DLT occurred, and
    (TITE-CRM only) the follow-up so far in days (None = fully followed)."""

    cohort: int
    dose_level: int
    dlt: bool
    followup_days: float | None = None


@dataclass(frozen=True)
class Outcomes:
    """A (possibly partly completed) trial history: patients in treatment order."""

    patients: tuple[PatientOutcome, ...] = ()

    @property
    def n_patients(self) -> int:
        return len(self.patients)

    def cohorts(self) -> list[tuple[int, list[PatientOutcome]]]:
        """Cohorts in order as (1-based dose level, patients)."""
        result: list[tuple[int, list[PatientOutcome]]] = []
        current: int | None = None
        for patient in self.patients:
            if current != patient.cohort:
                result.append((patient.dose_level, []))
                current = patient.cohort
            result[-1][1].append(patient)
        return result

    def counts(self, n_doses: int) -> tuple[np.ndarray, np.ndarray]:
        """Patients and DLTs per dose level (arrays of length `n_doses`, index 0 = level 1)."""
        n = np.zeros(n_doses, dtype=np.int64)
        y = np.zeros(n_doses, dtype=np.int64)
        for patient in self.patients:
            if not 1 <= patient.dose_level <= n_doses:
                raise InputError(
                    Problem(
                        "dose level outside the design",
                        field="outcomes",
                        value=patient.dose_level,
                        allowed=dose_levels(n_doses).text(),
                    )
                )
            n[patient.dose_level - 1] += 1
            y[patient.dose_level - 1] += int(patient.dlt)
        return n, y

    def with_cohort(self, dose_level: int, dlts: Sequence[bool]) -> Outcomes:
        """A new history with one more cohort appended."""
        cohort = (self.patients[-1].cohort + 1) if self.patients else 1
        extra = tuple(PatientOutcome(cohort, dose_level, bool(d)) for d in dlts)
        return Outcomes(self.patients + extra)

    def with_followup(self, followup_days: Sequence[float | None]) -> Outcomes:
        """The same history with per-patient follow-up (days, TITE-CRM), one value per patient."""
        if len(followup_days) != len(self.patients):
            raise InputError(
                Problem(
                    "one follow-up time per patient is needed",
                    field="followup",
                    value=len(followup_days),
                    allowed=f"{len(self.patients)} values (one per patient in the outcomes)",
                )
            )
        problems = [
            Problem("follow-up must be ≥ 0 days", field="followup", value=f, allowed="≥ 0")
            for f in followup_days
            if f is not None and not (f >= 0)
        ]
        if problems:
            raise InputError(problems)
        return Outcomes(
            tuple(
                PatientOutcome(p.cohort, p.dose_level, p.dlt, None if f is None else float(f))
                for p, f in zip(self.patients, followup_days, strict=True)
            )
        )

    def __str__(self) -> str:
        return format_outcomes(self)


def parse_outcomes(text: str, n_doses: int | None = None, *, field: str = "outcomes") -> Outcomes:
    """Parse ``"1NNN 2NTN"`` into `Outcomes` (docs/science/dose-escalation.md §1).

    Raises `InputError` naming `field`, the bad block and what is allowed: unknown symbol, missing letters,
    dose level 0, a level written with a leading zero or non-ASCII digits (grammar: ``[1-9][0-9]*``), or a
    level above `n_doses` (when given).

    >>> history = parse_outcomes("1NNN 2NTN", 5)
    >>> history.n_patients, [n.tolist() for n in history.counts(5)]
    (6, [[3, 3, 0, 0, 0], [0, 1, 0, 0, 0]])
    """
    problems: list[Problem] = []
    patients: list[PatientOutcome] = []
    blocks = text.split()
    for cohort, block in enumerate(blocks, start=1):
        match = _BLOCK.match(block)
        if match is None:
            bad = next((ch for ch in block if not (ch in "0123456789" or ch in "NTnt")), None)
            why = "unknown symbol" if bad is not None else "a block needs a dose level and letters"
            problems.append(Problem(f"cohort {cohort}: {why}", field=field, value=block, allowed=_ALLOWED))
            continue
        level, letters = int(match.group(1)), match.group(2)
        if match.group(1).startswith("0") and level > 0:
            problems.append(
                Problem(
                    f"cohort {cohort}: dose level with a leading zero",
                    field=field,
                    value=block,
                    allowed="a dose level written without leading zeros ([1-9][0-9]*), e.g. 1, 2, 12",
                )
            )
            continue
        unknown = sorted({ch for ch in letters if ch not in "NT"})
        if unknown:
            problems.append(
                Problem(
                    f"cohort {cohort}: unknown symbol(s) among the letters",
                    field=field,
                    value=block,
                    allowed="N (no DLT) or T (DLT), upper case",
                )
            )
            continue
        if level < 1 or (n_doses is not None and level > n_doses):
            allowed = dose_levels(n_doses).text() if n_doses is not None else "≥ 1"
            problems.append(
                Problem(
                    f"cohort {cohort}: the dose level does not exist",
                    field=field,
                    value=block,
                    allowed=allowed,
                )
            )
            continue
        patients.extend(PatientOutcome(cohort, level, ch == "T") for ch in letters)
    if problems:
        raise InputError(problems)
    return Outcomes(tuple(patients))


def format_outcomes(outcomes: Outcomes | Iterable[PatientOutcome]) -> str:
    """Format patients back into the standard notation (inverse of `parse_outcomes`).

    >>> format_outcomes(parse_outcomes("1NNN  2NTN"))
    '1NNN 2NTN'
    """
    patients = outcomes.patients if isinstance(outcomes, Outcomes) else tuple(outcomes)
    blocks: list[str] = []
    current: int | None = None
    for patient in patients:
        if patient.cohort != current:
            blocks.append(str(patient.dose_level))
            current = patient.cohort
        blocks[-1] += "T" if patient.dlt else "N"
    return " ".join(blocks)


__all__ = ["Outcomes", "PatientOutcome", "format_outcomes", "parse_outcomes"]
