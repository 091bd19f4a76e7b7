"""The protocol's ``analysis:`` section: analysis populations and options of the statistical analysis plan.

Every field has a default, and the defaults are the analysis conventions documented in docs/analysis.md
before this section existed (issue 13), so a protocol without the section is analysed as before. The
analysis (`cartrial.analysis`) records every option used, and where it came from (``protocol`` when the
section sets it, ``default`` otherwise), in its methods output.

- ``populations.efficacy_evaluable``: the evaluable-population rule per efficacy endpoint key
  (``default`` for the endpoints not listed): `EfficacyEvaluableRule`.
- ``options``: `AnalysisOptions` (CI methods, PK persistence day, NCA intervals and options, end of the
  relapse follow-up, start of treatment emergence, EDSS baseline visit, CTCAE version).
"""

from __future__ import annotations

from enum import StrEnum
from itertools import pairwise
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cartrial.allowed import Allowed, choice_text
from cartrial.errors import OptionError, Problem
from cartrial.protocol.nca_options import NcaOptions, repeated_intervals
from cartrial.protocol.yaml_source import Issue, option_error, option_issues, semantic_error

CTCAE_VERSIONS: tuple[str, ...] = ("5.0", "6.0")
"""The CTCAE versions the grading engine has criteria of (`cartrial.grading.ctcae.SUPPORTED_VERSIONS`):
v5.0 for every laboratory analyte, v6.0 for neutrophils and platelets only."""

STUDY_CTCAE_VERSION = Allowed(values=("5.0",))
"""The versions a protocol may choose for its laboratory grades: the cut-off analysis grades every analyte
of the study's labs (haemoglobin, lymphocytes and leukocytes too), which only v5.0 covers
(docs/science/decisions.md D-19.23)."""


class EfficacyEvaluableRule(StrEnum):
    """Who is evaluable for an efficacy endpoint.

    - ``baseline_and_post_baseline`` (default): infused subjects with a baseline assessment (last on or
      before day 0), at least one post-baseline assessment, and the definition's own conditions (the neuro
      engine's evaluability); the others are counted and named.
    - ``all_infused``: every infused subject is in the denominator; a subject the engine cannot evaluate
      counts as a non-responder (a conservative, "non-responder imputation" reading).
    """

    BASELINE_AND_POST_BASELINE = "baseline_and_post_baseline"
    ALL_INFUSED = "all_infused"


class ProportionCi(StrEnum):
    """Confidence interval of a proportion: exact Clopper-Pearson (Clopper & Pearson 1934)."""

    CLOPPER_PEARSON = "clopper_pearson"


class RateCi(StrEnum):
    """Confidence interval of an event rate: exact Poisson (Garwood 1936)."""

    EXACT_POISSON = "exact_poisson"


class FollowUpEnd(StrEnum):
    """End of a subject's relapse follow-up after infusion.

    - ``last_contact`` (default): the subject's last contact on or before the cut-off, the latest date of an
      assessment, lab, PK/PD sample or the infusion (`cartrial.analysis.populations.CONTACT_COLUMNS`,
      `cartrial.neuro.end_of_follow_up`), or a later relapse onset (D-19.587);
    - ``cutoff``: the data cut-off, or the death or the end of study when earlier (the last contact when the
      end of study is undated; D-19.83, D-19.92).
    """

    LAST_CONTACT = "last_contact"
    CUTOFF = "cutoff"


class IntervalAucSummary(StrEnum):
    """Which subjects the geometric summary of a partial AUC (``auc_<a>_<b>``, `nca_summary`) is taken over
    (docs/science/decisions.md D-19.95).

    - ``covered`` (default): the subjects whose samples cover the interval (``auc_<a>_<b>_covered``); an
      AUC to a last sample before the interval end is not an observation of the interval's AUC (EMA BE
      Q&A 2010: AUC(0-72h) where the 72-h sample was taken); ``n_not_covered`` counts those left out;
    - ``all``: every subject with a value, the not-covered counted in ``n_not_covered`` (PKNCA's summary of
      ``aucint.last``, which extrapolates 0 after Tlast and excludes nothing unless told to).
    """

    COVERED = "covered"
    ALL = "all"


class TreatmentEmergentStart(StrEnum):
    """From when an adverse event is treatment-emergent (ICH E9 glossary).

    - ``lymphodepletion`` (default): on or after the first lymphodepletion dose (the infusion day when
      none is recorded) — lymphodepletion is study treatment in CAR-T trials;
    - ``infusion``: on or after the infusion day.
    """

    LYMPHODEPLETION = "lymphodepletion"
    INFUSION = "infusion"


class ExpectedCytopenias(StrEnum):
    """The treatment-emergent adverse events that the companion count of grade ≥ 3 events leaves out as the
    expected effect of lymphodepletion (`teae_grade_ge3_unexpected`, D-19.269); the count of every grade ≥ 3
    event is kept beside it.

    - ``lymphopenia`` (default): lymphocyte count decreased (lymphopenia) only, the effect lymphodepletion
      is given for (reference ct103a-nmosd-trial.md §4: the DLT definition excludes "lymphopenia from
      lymphodepletion");
    - ``cytopenias``: every cytopenia term (lymphocyte, neutrophil, white blood cell, platelet count
      decreased, anaemia), which ICAHT (EHA/EBMT 2023) and the CTCAE shift table report apart.
    """

    LYMPHOPENIA = "lymphopenia"
    CYTOPENIAS = "cytopenias"


class Aqp4Baseline(StrEnum):
    """Where the baseline AQP4-IgG titre (the last on or before day 0) of `aqp4_titre_change` comes from
    (D-19.233).

    - ``pd_samples_then_screening`` (default): the last pre-infusion titre of the PD samples, else the
      screening titre (``subjects.aqp4_igg_titre``, the schedule's screening-visit AQP4-IgG): both are values
      before the infusion; a screening titre of another recorded assay is flagged
      (``baseline_assay_differs``; neuro-outcomes.md §6);
    - ``pd_samples``: the PD samples only (one assay series; a subject without a pre-infusion PD titre is not
      evaluable).
    """

    PD_SAMPLES_THEN_SCREENING = "pd_samples_then_screening"
    PD_SAMPLES = "pd_samples"


class EdssBaselineVisit(StrEnum):
    """Which pre-infusion EDSS visit is the baseline of `edss_change` and of a confirmed disability change
    (the neuro engine's ``DisabilityOptions.baseline_visit``; D-19.864, D-19.869).

    - ``outside_relapse`` (default): the last visit on or before day 0 that is not within the relapse
      exclusion window (30 days) after a relapse onset — a score during an attack reflects the attack; a
      subject whose every pre-infusion visit is during an attack has no baseline;
    - ``last``: the last visit on or before day 0 whatever its timing (a protocol whose baseline is "the
      screening value").
    """

    OUTSIDE_RELAPSE = "outside_relapse"
    LAST = "last"


class ResponderBaselineVisit(StrEnum):
    """Which pre-infusion value is the baseline of a responder endpoint (vision, walking, bladder...: the
    neuro engine's ``derive_responders(baseline_visit=...)``; D-19.896, by analogy with D-19.864).

    - ``outside_relapse`` (default): the last value on or before day 0 that is not within 30 days after an
      attack onset — an acuity, walk time or bladder grade during an attack is the attack's, and the recovery
      from it would read as a response; a subject whose every pre-infusion value is during an attack is not
      evaluable ("baseline only during an attack");
    - ``last``: the last value on or before day 0 whatever its timing.
    """

    OUTSIDE_RELAPSE = "outside_relapse"
    LAST = "last"


class CrsMasking(StrEnum):
    """When a CRS assessment's recorded ``fever_masked`` flag waives the ASTCT 2019 fever requirement, for the
    CRS episodes and each assessment's grade alike (`cartrial.grading.RowMasking`; D-19.1308, D-19.1356).

    - ``after_fever`` (default): only at or after a CRS fever recorded after the infusion (the JITC rendering
      of the ASTCT footnote: "In patients who have CRS then receive tocilizumab or steroids, fever is no
      longer required to grade subsequent CRS severity");
    - ``recorded``: as the investigator recorded it (the PMC8021214 rendering: once antipyretic or
      anticytokine therapy is initiated, grading is driven by hypotension and hypoxia only; no prior-CRS
      condition).
    """

    AFTER_FEVER = "after_fever"
    RECORDED = "recorded"


class AnalysisPopulations(BaseModel):
    """Analysis population rules (enrolled, safety and DLT-evaluable are fixed by ICH E9 and the escalation
    section; the efficacy-evaluable rule is chosen per endpoint)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    efficacy_evaluable: dict[str, EfficacyEvaluableRule] = Field(
        default_factory=lambda: {"default": EfficacyEvaluableRule.BASELINE_AND_POST_BASELINE},
        description="Endpoint key (or 'default') → evaluable-population rule.",
    )

    def efficacy_rule(self, endpoint: str) -> EfficacyEvaluableRule:
        """The rule for `endpoint` (its own entry, else ``default``, else baseline_and_post_baseline)."""
        return self.efficacy_evaluable.get(
            endpoint, self.efficacy_evaluable.get("default", EfficacyEvaluableRule.BASELINE_AND_POST_BASELINE)
        )


class AnalysisOptions(BaseModel):
    """Options of the analysis (defaults: docs/analysis.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    proportion_ci: ProportionCi = ProportionCi.CLOPPER_PEARSON
    rate_ci: RateCi = RateCi.EXACT_POISSON
    persistence_day: float = Field(
        default=180.0,
        gt=0,
        le=3650,
        description="CAR-T persistence: last quantifiable sample strictly after this study day (day 180 = "
        "'beyond 6 months').",
    )
    nca_intervals_days: list[tuple[float, float]] = Field(
        default_factory=lambda: [(0.0, 28.0)],
        min_length=1,
        description="Partial-AUC intervals (start, end) in days after infusion.",
    )
    nca_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Further `cartrial.kinetics.NcaOptions` fields (e.g. auc_method, blq_middle); checked "
        "when the protocol is loaded by the engine's own rule (`NcaOptions.from_parameters`).",
    )
    nca_interval_summary: IntervalAucSummary = Field(
        default=IntervalAucSummary.COVERED,
        description="Partial-AUC geometric summaries over the subjects whose samples cover the interval "
        "(covered) or over every subject (all); the not-covered are counted either way (D-19.95).",
    )
    relapse_follow_up_end: FollowUpEnd = FollowUpEnd.LAST_CONTACT
    treatment_emergent_start: TreatmentEmergentStart = TreatmentEmergentStart.LYMPHODEPLETION
    aqp4_igg_baseline: Aqp4Baseline = Aqp4Baseline.PD_SAMPLES_THEN_SCREENING
    teae_expected_cytopenias: ExpectedCytopenias = ExpectedCytopenias.LYMPHOPENIA
    edss_baseline_visit: EdssBaselineVisit = EdssBaselineVisit.OUTSIDE_RELAPSE
    responder_baseline_visit: ResponderBaselineVisit = ResponderBaselineVisit.OUTSIDE_RELAPSE
    ctcae_version: str = "5.0"
    lab_min_recovery_days: int = Field(
        default=3,
        ge=1,
        le=100,
        strict=True,
        description="DLT laboratory events: a run of results at CTCAE grade >= 3 ends only at a recovery of "
        "this many site calendar days below grade 3, the last value carried forward (EHA/EBMT 2023 ICAHT "
        "option H2: a shorter recovery merges; 1: every result below ends the run; D-19.1309, D-19.1311, "
        "D-19.1312).",
    )
    infection_periods: list[int] = Field(
        default_factory=lambda: [28, 90],
        min_length=1,
        description="Last day of each closed onset period of the infections_by_period table (days after the "
        "infusion, strictly increasing, >= 0; default days 0-28, 29-90, > 90: Hill 2018; D-19.1313).",
    )
    crs_masking: CrsMasking = Field(
        default=CrsMasking.AFTER_FEVER,
        description="CRS fever masking (episodes and assessment grades): a recorded fever_masked flag counts "
        "only after a CRS fever recorded after the infusion (after_fever), or as recorded (recorded); "
        "D-19.1308, D-19.1356.",
    )
    therapies_collected: bool = Field(
        default=True,
        description="The study collects the therapies form (tocilizumab, corticosteroids): a CRS/ICANS "
        "episode without a recorded dose is 'not given', so no therapies row at all is 0 of N. false: CRS "
        "treatment is 'not recorded' (missing, never 0), as in a virtual study, which does not simulate CRS "
        "management (decisions D-19.476, D-19.434).",
    )

    @field_validator("ctcae_version", mode="before")
    @classmethod
    def _ctcae_version(cls, value: Any) -> Any:
        """`STUDY_CTCAE_VERSION`; an unquoted YAML ``5.0`` (a number) is the version "5.0"."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = f"{float(value):.1f}"
        if value == "6.0":
            raise option_error(
                Problem(
                    "CTCAE v6.0 criteria are implemented for neutrophils and platelets only, and the cut-off "
                    "analysis grades every laboratory analyte of the study (haemoglobin, lymphocytes and "
                    "leukocytes too)",
                    field="ctcae_version",
                    value=value,
                    allowed=STUDY_CTCAE_VERSION.text(),
                )
            )
        problem = STUDY_CTCAE_VERSION.problem("ctcae_version", value)
        if problem is not None:
            raise option_error(problem)
        return value

    @field_validator("infection_periods", mode="before")
    @classmethod
    def _infection_periods(cls, value: Any) -> Any:
        """Whole days >= 0, strictly increasing (a fraction, a repeat or a decrease is refused)."""
        if isinstance(value, list | tuple) and (
            any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in value)
            or any(b <= a for a, b in pairwise(value))
        ):
            raise option_error(
                Problem(
                    "infection periods must be strictly increasing whole days >= 0",
                    field="infection_periods",
                    value=value,
                    allowed="a list of whole days, e.g. [28, 90]",
                )
            )
        return value

    @model_validator(mode="after")
    def _nca_choices(self) -> AnalysisOptions:
        issues = [
            Issue(
                ("nca_intervals_days", index),
                "an NCA interval must start at day 0 or later and end after it starts",
                [start, end],
                "[start, end] with 0 <= start < end",
            )
            for index, (start, end) in enumerate(self.nca_intervals_days)
            if not 0 <= start < end
        ]
        intervals = self.nca_intervals_days
        for index in repeated_intervals(intervals):
            first = next(i for i, interval in enumerate(intervals) if interval == intervals[index])
            issues.append(
                Issue(
                    ("nca_intervals_days", index),
                    f"this NCA interval repeats nca_intervals_days[{first}] ({{ref0}}); each partial AUC "
                    "is one result",
                    "[{:g}, {:g}]".format(*intervals[index]),
                    "each [start, end] once",
                    refs=(("nca_intervals_days", first),),
                )
            )
        if "intervals" in self.nca_options:
            issues.append(
                Issue(
                    ("nca_options", "intervals"),
                    "give the NCA intervals as nca_intervals_days",
                    self.nca_options["intervals"],
                    "nca_intervals_days",
                )
            )
        # the kinetics engine's own rule for every other key (the intervals are checked above)
        others = {name: value for name, value in self.nca_options.items() if name != "intervals"}
        try:
            NcaOptions.from_parameters(others)
        except OptionError as error:
            issues += option_issues(error, lambda name: ("nca_options", name))
        if issues:
            raise semantic_error(issues)
        return self

    def nca(self) -> NcaOptions:
        """The NCA options these analysis options set: `NcaOptions.from_parameters` on `nca_options` with the
        `nca_intervals_days` (the one rule, applied when the protocol is loaded; an `OptionError` naming each
        engine field for options built without validation)."""
        return NcaOptions.from_parameters(self.nca_options, self.nca_intervals_days)


class AnalysisSpec(BaseModel):
    """The ``analysis:`` section (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    populations: AnalysisPopulations = Field(default_factory=AnalysisPopulations)
    options: AnalysisOptions = Field(default_factory=AnalysisOptions)


def analysis_issues(
    analysis: AnalysisSpec | None, endpoint_keys: set[str], responder_keys: set[str]
) -> list[Issue]:
    """Cross-section rule: every endpoint named in ``analysis.populations.efficacy_evaluable`` (other than
    ``default``) is a responder endpoint of the protocol (`responder_keys`: those whose ``definition`` is a
    responder definition), the only endpoints an evaluable-population rule applies to; another endpoint's
    entry would be silently without effect (paths relative to the protocol root)."""
    if analysis is None:
        return []
    allowed = choice_text(["default", *sorted(responder_keys)])
    return [
        Issue(
            ("analysis", "populations", "efficacy_evaluable", key),
            "not a responder endpoint (the evaluable-population rule applies to responder endpoints only)"
            if key in endpoint_keys
            else "no such endpoint",
            key,
            allowed,
        )
        for key in analysis.populations.efficacy_evaluable
        if key != "default" and key not in responder_keys
    ]


__all__ = [
    "CTCAE_VERSIONS",
    "STUDY_CTCAE_VERSION",
    "AnalysisOptions",
    "AnalysisPopulations",
    "AnalysisSpec",
    "Aqp4Baseline",
    "EdssBaselineVisit",
    "EfficacyEvaluableRule",
    "ExpectedCytopenias",
    "FollowUpEnd",
    "IntervalAucSummary",
    "ProportionCi",
    "RateCi",
    "ResponderBaselineVisit",
    "TreatmentEmergentStart",
    "analysis_issues",
]
