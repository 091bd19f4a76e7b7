"""Screening candidate data: what the eligibility rules are evaluated against.

A candidate file (YAML or JSON) holds what a screening investigator records: date of birth or age,
diagnosis, AQP4-IgG results with the assay used, prior treatments with dates (refractoriness and washout),
the dated relapse list (relapse-activity rule: counted from dates, never pre-counted), EDSS, laboratory
results and answers to the criteria the investigator confirms by hand. A missing section means "not
recorded" (criteria that need it cannot be assessed); an empty list means "none".
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from cartrial.errors import Problem
from cartrial.protocol.birth import before_birth, earliest_birth
from cartrial.protocol.edss_steps import EDSS_STEP_MESSAGE, edss_step_problem
from cartrial.protocol.yaml_source import (
    Issue,
    TrueFalse,
    read_json,
    read_text_file,
    read_yaml,
    semantic_error,
    validate_data,
)


def _calendar_date(value: Any) -> Any:
    # pydantic would read a number as a Unix timestamp (0 → 1970-01-01): refuse it, dates are written
    # YYYY-MM-DD
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("a date is written YYYY-MM-DD (as text or a YAML date), not as a number")
    return value


#: A calendar date written YYYY-MM-DD (YAML date or ISO text); numbers are refused.
CalendarDate = Annotated[dt.date, BeforeValidator(_calendar_date)]

EARLIEST_BIRTH = dt.date(1900, 1, 1)
"""The earliest date of birth a subject or candidate may have: the study forms' `birth_year` minimum
(`cartrial.store.fields`, declared from this) — one plausibility rule for screening and import (D-19.503)."""

SCREENING_DATES = (EARLIEST_BIRTH, dt.date(9999, 12, 31))
"""The screening dates a candidate may be screened on: from 1900 (the earliest birth year of the study forms)
to the end of the calendar. Every eligibility look-back (at most `cartrial.protocol.eligibility.
MAX_LOOKBACK_MONTHS`) then stays in the calendar (a screening date in year 1 ended in a traceback;
docs/science/decisions.md D-19.24)."""


def screening_date_problem(day: dt.date, field: str = "screening_date") -> Problem | None:
    """None when `day` is in `SCREENING_DATES`, else the problem naming `field`."""
    low, high = SCREENING_DATES
    if low <= day <= high:
        return None
    return Problem(
        "the screening date is out of range", field=field, value=day.isoformat(), allowed=f"{low} to {high}"
    )


class Sex(StrEnum):
    """Sex as recorded at screening: the CDISC SDTM SEX codelist (C66731: F, M, U, UNDIFFERENTIATED) in
    words; the one-letter codes are accepted and read as these words."""

    FEMALE = "female"
    MALE = "male"
    UNDIFFERENTIATED = "undifferentiated"
    UNKNOWN = "unknown"


_SEX_CODES = {"f": "female", "m": "male", "u": "unknown"}


def _sex_word(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().lower()
        return _SEX_CODES.get(text, text)
    return value


class Aqp4Assay(StrEnum):
    """AQP4-IgG assay types (docs/science/neuro-outcomes.md §6)."""

    CELL_BASED = "cell_based"  # cell-based assay, format not recorded
    FIXED_CELL_BASED = "fixed_cell_based"
    LIVE_CELL_BASED = "live_cell_based"
    FLOW_CYTOMETRY = "flow_cytometry"  # FACS-based, a live cell-based assay
    ELISA = "elisa"
    OTHER = "other"


class SerologyResult(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"


class TherapyClass(StrEnum):
    """Classes a prior treatment can belong to (a drug may have several, e.g. rituximab: anti_cd20,
    b_cell_depleting, immunosuppressant)."""

    IMMUNOSUPPRESSANT = "immunosuppressant"
    CORTICOSTEROID = "corticosteroid"
    ANTI_CD20 = "anti_cd20"
    ANTI_CD19 = "anti_cd19"
    B_CELL_DEPLETING = "b_cell_depleting"
    IL6_INHIBITOR = "il6_inhibitor"
    COMPLEMENT_INHIBITOR = "complement_inhibitor"
    FCRN_INHIBITOR = "fcrn_inhibitor"
    IVIG = "ivig"
    PLASMA_EXCHANGE = "plasma_exchange"
    CELL_THERAPY = "cell_therapy"
    INVESTIGATIONAL = "investigational"
    OTHER = "other"


class Aqp4Test(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    result: SerologyResult
    assay: Aqp4Assay
    date: CalendarDate | None = None
    titre: str | None = None


class DiagnosisRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    condition: str = Field(min_length=1, description="e.g. nmosd")
    criteria: str = Field(min_length=1, description="e.g. ipnd_2015")
    date: CalendarDate | None = None


class TreatmentRecord(BaseModel):
    """One prior or current treatment. `last_dose_date` is the most recent dose (for washout); `ongoing`
    means still taken at screening. `poor_control` is the investigator's judgement that the disease was
    poorly controlled on it (refractoriness).

    `agent` is the generic (INN) name, the same for every course of one agent: courses are matched ignoring
    case, spacing and hyphens (``mycophenolate-mofetil`` is ``Mycophenolate Mofetil``), but a brand name
    (CellCept) is another agent to the refractoriness count (D-19.812, D-19.723)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    agent: str = Field(min_length=1)
    therapy_classes: list[TherapyClass] = Field(min_length=1)
    start_date: CalendarDate | None = None
    last_dose_date: CalendarDate | None = None
    ongoing: TrueFalse = False
    poor_control: TrueFalse | None = None

    @model_validator(mode="after")
    def _ordered(self) -> TreatmentRecord:
        if self.start_date and self.last_dose_date and self.last_dose_date < self.start_date:
            raise semantic_error(
                [
                    Issue(
                        ("last_dose_date",),
                        "last dose is before the start",
                        self.last_dose_date,
                        "on or after start_date",
                    )
                ]
            )
        return self


class RelapseRecord(BaseModel):
    """One NMOSD attack (onset date; docs/science/neuro-outcomes.md §4.2)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    onset_date: CalendarDate
    phenotypes: list[str] = Field(default_factory=list)
    notes: str | None = None


def _edss_step(value: float) -> float:
    # the one EDSS-step rule (0, 1.0, 1.5, …, 9.5, 10; no 0.5), in the project's wording (D-19.691)
    if edss_step_problem("score", value) is not None:
        raise ValueError(EDSS_STEP_MESSAGE)  # the loader adds "(got …)" (the user's own input)
    return value


class EdssRecord(BaseModel):
    """EDSS at screening: a step of the scale (`cartrial.protocol.edss_steps`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    score: Annotated[float, AfterValidator(_edss_step)]
    date: CalendarDate | None = None


class LabResult(BaseModel):
    """A laboratory value with its unit; `upper_limit_normal` is needed for rules expressed in × ULN.

    Values are counts, concentrations, activities or clearances, none of which can be negative (a negative
    neutrophil count is a typing error and is refused)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    analyte: str = Field(min_length=1)
    value: float = Field(ge=0)
    unit: str = Field(min_length=1)
    date: CalendarDate | None = None
    upper_limit_normal: float | None = Field(default=None, gt=0)


class Candidate(BaseModel):
    """A screening candidate (see the module docstring for what a missing section means)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    id: str = Field(min_length=1)
    screening_date: CalendarDate | None = None
    date_of_birth: CalendarDate | None = None
    age_years: int | None = Field(
        default=None,
        ge=0,
        le=130,
        description=(
            "Age in completed years on the candidate's screening_date (used when date_of_birth is not "
            "recorded); screened as of another date it moves by the completed years between, and cannot be "
            "assessed when an unknown birthday in between decides (D-19.814)"
        ),
    )
    sex: Annotated[Sex, BeforeValidator(_sex_word)] | None = None
    diagnosis: DiagnosisRecord | None = None
    aqp4_igg: list[Aqp4Test] | None = None
    treatments: list[TreatmentRecord] | None = None
    relapses: list[RelapseRecord] | None = None
    edss: EdssRecord | None = None
    labs: list[LabResult] | None = None
    answers: dict[str, TrueFalse | None] = Field(default_factory=dict)
    notes: str | None = None

    @model_validator(mode="after")
    def _dates_consistent(self) -> Candidate:
        """Nothing recorded at screening can be dated after the candidate's screening date, nor before the
        date of birth (a typing error; D-19.1204). A screening run for another date (`screen(...,
        screening_date)`, ``--screening-date``) screens as of that date: records after it are not used, as
        the rules say. One relapse per onset date (`_repeated_relapses`)."""
        issues = self._repeated_relapses()
        if self.date_of_birth is not None and self.date_of_birth < EARLIEST_BIRTH:  # implausible (D-19.503)
            issues.append(
                Issue(
                    ("date_of_birth",),
                    "the date of birth is before the earliest birth year of the study forms",
                    self.date_of_birth,
                    f"on or after {EARLIEST_BIRTH.isoformat()}",
                )
            )
        day = self.screening_date
        out_of_range = None if day is None else screening_date_problem(day)
        if out_of_range is not None:
            issues.append(
                Issue(("screening_date",), out_of_range.message, out_of_range.value, out_of_range.allowed)
            )
        elif day is not None:
            issues += [
                Issue(
                    path,
                    f"{what} is after screening_date",  # names the field, never its value (D-12.2)
                    value,
                    "on or before screening_date",
                )
                for path, what, value in self._dated_records()
                if value > day
            ]
        # as the store's RELAPSE-BEFORE-BIRTH and the relapse engine: one rule, `protocol.birth` (D-19.1204,
        # D-19.1206); a date of birth refused above (implausible, or after the screening date) is the one
        # error, not every record before it. Only an age: the earliest birth it allows on the screening date
        # (D-19.1207), when that date is itself accepted
        born, against, allowed = None, "", ""
        if self.date_of_birth is not None:
            if self.date_of_birth >= EARLIEST_BIRTH and (day is None or self.date_of_birth <= day):
                born = earliest_birth(birth_date=self.date_of_birth)
                against, allowed = "date_of_birth", "on or after date_of_birth"
        elif day is not None and out_of_range is None:
            born = earliest_birth(age_years=self.age_years, age_on=day)
            against = "the earliest date of birth age_years allows"
            allowed = "on or after screening_date − (age_years + 1) years + 1 day"
        issues += [
            Issue(path, f"{what} is before {against}", value, allowed)
            for path, what, value in self._dated_records()
            if path != ("date_of_birth",) and before_birth(value, born)
        ]
        if issues:
            raise semantic_error(issues)
        return self

    def _repeated_relapses(self) -> list[Issue]:
        """A relapse with the onset date of an earlier one, at its line, naming the earlier one and saying
        whether it is an identical copy or which fields differ: the relapse-activity rule counts attacks by
        date, so a repeat would count one attack twice. The same rule as the relapses form (one row per
        subject and onset date; docs/science/decisions.md D-19.18)."""
        issues: list[Issue] = []
        first: dict[dt.date, int] = {}
        relapses = self.relapses or []
        for i, relapse in enumerate(relapses):
            j = first.setdefault(relapse.onset_date, i)
            if j == i:
                continue
            earlier = relapses[j]
            differing = [
                name for name in ("phenotypes", "notes") if getattr(relapse, name) != getattr(earlier, name)
            ]
            detail = f"differs in {', '.join(differing)}" if differing else "identical values"
            issues.append(
                Issue(
                    ("relapses", i, "onset_date"),
                    f"duplicate of relapses[{j}] at {{ref0}} (same onset_date; {detail})",
                    relapse.onset_date.isoformat(),
                    "one relapse per onset date",
                    refs=(("relapses", j, "onset_date"),),
                )
            )
        return issues

    def _dated_records(self) -> list[tuple[tuple[str | int, ...], str, dt.date]]:
        """(path, what, date) of every dated entry of the candidate."""
        records: list[tuple[tuple[str | int, ...], str, dt.date | None]] = [
            (("date_of_birth",), "date of birth", self.date_of_birth)
        ]
        if self.diagnosis is not None:
            records.append((("diagnosis", "date"), "the diagnosis", self.diagnosis.date))
        for i, test in enumerate(self.aqp4_igg or ()):
            records.append((("aqp4_igg", i, "date"), "the AQP4-IgG test", test.date))
        for i, treatment in enumerate(self.treatments or ()):
            records.append((("treatments", i, "start_date"), "the treatment start", treatment.start_date))
            records.append((("treatments", i, "last_dose_date"), "the last dose", treatment.last_dose_date))
        for i, relapse in enumerate(self.relapses or ()):
            records.append((("relapses", i, "onset_date"), "the relapse onset", relapse.onset_date))
        if self.edss is not None:
            records.append((("edss", "date"), "the EDSS assessment", self.edss.date))
        for i, lab in enumerate(self.labs or ()):
            records.append((("labs", i, "date"), "the lab result", lab.date))
        return [(path, what, value) for path, what, value in records if value is not None]


def parse_candidate(text: str, source: str = "<string>", fmt: str = "yaml") -> Candidate:
    """Validate candidate `text` (``fmt`` "yaml" or "json"); every problem is reported with its line.

    >>> parse_candidate("id: SCR-9\\nsex: F\\nscreening_date: 2024-03-15").sex
    <Sex.FEMALE: 'female'>
    """
    reader = read_json if fmt == "json" else read_yaml
    data, positions, problems = reader(text, source)
    return validate_data(Candidate, data, positions, source, problems, what="candidate")


def load_candidate(path: str | Path) -> Candidate:
    """Read a candidate from a ``.yaml``/``.yml`` or ``.json`` file (line-numbered errors, `InputError`).

    A synthetic candidate shipped with the reference protocol (path relative to the repository root):

    >>> candidate = load_candidate("examples/ct103a-nmosd/candidates/cand-01-eligible.yaml")
    >>> candidate.id, candidate.screening_date, len(candidate.relapses or [])
    ('SCR-001', datetime.date(2024, 3, 15), 3)
    """
    text = read_text_file(path)
    fmt = "json" if str(path).lower().endswith(".json") else "yaml"
    return parse_candidate(text, str(path), fmt)


__all__ = [
    "EARLIEST_BIRTH",
    "Aqp4Assay",
    "Aqp4Test",
    "Candidate",
    "DiagnosisRecord",
    "EdssRecord",
    "LabResult",
    "RelapseRecord",
    "SerologyResult",
    "Sex",
    "TherapyClass",
    "TreatmentRecord",
    "load_candidate",
    "parse_candidate",
]
