"""Schedule of assessments: visits on study days (day 0 = CAR-T infusion) with windows and assessments.

The reference study's schedule was not retrieved; docs/science/ct103a-nmosd-trial.md §5 gives a typical
schedule [U], which the shipped protocol encodes. Rule enforced here: the windows
[study_day − window_minus_days, study_day + window_plus_days] of two scheduled visits must not share a
day (a visit on a shared day could not be assigned to one nominal visit).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cartrial.protocol.yaml_source import Issue, semantic_error

MAX_SCHEDULE_DAYS = 36525
"""Largest study day (before or after the infusion) and window of a visit: 100 years, beyond any follow-up
(15-year long-term follow-up of gene therapies included). Unbounded, a visit on day -10^9 passed the check and
the import of any study failed with a traceback (the edit checks' earliest assessment date left the calendar;
docs/science/decisions.md D-19.34)."""


class Assessment(StrEnum):
    """Assessments a visit can schedule (enumerated so that later modules can rely on the names)."""

    INFORMED_CONSENT = "informed_consent"
    ELIGIBILITY = "eligibility"
    MEDICAL_HISTORY = "medical_history"
    PHYSICAL_EXAM = "physical_exam"
    NEUROLOGICAL_EXAM = "neurological_exam"
    VITALS = "vitals"
    CRS_MONITORING = "crs_monitoring"
    ICE = "ice"
    LABS = "labs"
    HEMATOLOGY = "hematology"
    CHEMISTRY = "chemistry"
    COAGULATION = "coagulation"
    CYTOKINES = "cytokines"
    IMMUNOGLOBULINS = "immunoglobulins"
    INFECTION_SCREEN = "infection_screen"
    PREGNANCY_TEST = "pregnancy_test"
    ECG = "ecg"
    ECHOCARDIOGRAM = "echocardiogram"
    MRI = "mri"
    PK = "pk"
    PD = "pd"
    AQP4_IGG = "aqp4_igg"
    B_CELLS = "b_cells"
    ANTI_DRUG_ANTIBODIES = "anti_drug_antibodies"
    EDSS = "edss"
    VISUAL_ACUITY = "visual_acuity"
    OSIS = "osis"
    TIMED_25_FOOT_WALK = "timed_25_foot_walk"
    QUALITY_OF_LIFE = "quality_of_life"
    RELAPSE_REVIEW = "relapse_review"
    ADVERSE_EVENTS = "adverse_events"
    CONCOMITANT_MEDICATIONS = "concomitant_medications"
    LEUKAPHERESIS = "leukapheresis"
    LYMPHODEPLETION = "lymphodepletion"
    INFUSION = "infusion"


class Visit(BaseModel):
    """A scheduled visit on `study_day` (relative to infusion, day 0) with its −/+ window in days."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(min_length=1)
    study_day: int = Field(ge=-MAX_SCHEDULE_DAYS, le=MAX_SCHEDULE_DAYS)
    window_minus_days: int = Field(default=0, ge=0, le=MAX_SCHEDULE_DAYS)
    window_plus_days: int = Field(default=0, ge=0, le=MAX_SCHEDULE_DAYS)
    assessments: list[Assessment] = Field(min_length=1)
    notes: str | None = None

    @property
    def earliest_day(self) -> int:
        return self.study_day - self.window_minus_days

    @property
    def latest_day(self) -> int:
        return self.study_day + self.window_plus_days

    def covers(self, study_day: int) -> bool:
        """Whether `study_day` falls in the visit's window (`earliest_day` to `latest_day`, inclusive)."""
        return self.earliest_day <= study_day <= self.latest_day


class UnscheduledVisit(BaseModel):
    """An event-driven visit (e.g. at every suspected relapse): a trigger instead of a study day."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(min_length=1)
    trigger: str = Field(min_length=1)
    assessments: list[Assessment] = Field(min_length=1)


class Schedule(BaseModel):
    """Visits in chronological order, plus event-driven visits."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    visits: list[Visit] = Field(min_length=1)
    unscheduled: list[UnscheduledVisit] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Schedule:
        issues: list[Issue] = []
        names: dict[str, int] = {}
        for index, visit in enumerate(self.visits):
            if visit.name in names:
                issues.append(
                    Issue(("visits", index, "name"), f"visit name {visit.name!r} is used twice", visit.name)
                )
            names.setdefault(visit.name, index)
            if index and visit.study_day <= self.visits[index - 1].study_day:
                issues.append(
                    Issue(
                        ("visits", index, "study_day"),
                        f"visits must be in chronological order (after {self.visits[index - 1].name!r}, "
                        f"day {self.visits[index - 1].study_day})",
                        visit.study_day,
                        f"> {self.visits[index - 1].study_day}",
                    )
                )
        for j, later in enumerate(self.visits):
            for i in range(j):
                earlier = self.visits[i]
                if earlier.earliest_day <= later.latest_day and later.earliest_day <= earlier.latest_day:
                    issues.append(
                        Issue(
                            ("visits", j),
                            f"the window of visit {later.name!r} (days {later.earliest_day} to "
                            f"{later.latest_day}) overlaps the window of visit {earlier.name!r} "
                            f"(days {earlier.earliest_day} to {earlier.latest_day}, visits[{i}] at {{ref0}})",
                            None,
                            "visit windows that share no day",
                            refs=(("visits", i),),
                        )
                    )
        if issues:
            raise semantic_error(issues)
        return self

    @property
    def collected(self) -> frozenset[str]:
        """Every assessment the schedule collects (scheduled and event-driven visits), by value."""
        lists = [v.assessments for v in self.visits] + [u.assessments for u in self.unscheduled]
        return frozenset(str(getattr(a, "value", a)) for assessments in lists for a in assessments)

    @property
    def last_study_day(self) -> int:
        """Study day of the last scheduled visit (end of scheduled follow-up)."""
        return max(visit.study_day for visit in self.visits)

    def visit_for_day(self, study_day: int) -> Visit | None:
        """The visit whose window contains `study_day`, if any."""
        for visit in self.visits:
            if visit.covers(study_day):
                return visit
        return None


__all__ = ["MAX_SCHEDULE_DAYS", "Assessment", "Schedule", "UnscheduledVisit", "Visit"]
